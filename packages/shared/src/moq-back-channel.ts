/**
 * onair's back channel from the ingest to a WebTransport publisher, beside Media over QUIC.
 * moq-lite has no keyframe request (a subscriber joins at the next group), so a WHEP viewer
 * joining a WebTransport stream would wait up to a whole GOP. The ingest therefore sends a
 * WebTransport datagram on the publisher's session, which onair's broadcaster page honours;
 * other publishers ignore it (moq-lite uses no datagrams) and their viewers wait for the GOP.
 *
 * Wire format: `"onair"` (5 ASCII bytes), a version byte (1), a message type byte; unknown
 * versions and types are ignored so that either side can grow.
 */

const MAGIC = [0x6f, 0x6e, 0x61, 0x69, 0x72]; // "onair"
const VERSION = 1;

export type BackChannelMessage = { type: 'keyframe-request' };

const TYPE_CODES: Record<BackChannelMessage['type'], number> = { 'keyframe-request': 1 };

export function encodeBackChannelMessage(message: BackChannelMessage): Uint8Array {
  return Uint8Array.from([...MAGIC, VERSION, TYPE_CODES[message.type]]);
}

/** The message a datagram carries, or undefined when it is not one this version knows. */
export function decodeBackChannelMessage(datagram: Uint8Array): BackChannelMessage | undefined {
  if (datagram.length < MAGIC.length + 2) return undefined;
  for (let i = 0; i < MAGIC.length; i++) if (datagram[i] !== MAGIC[i]) return undefined;
  if (datagram[MAGIC.length] !== VERSION) return undefined;
  const code = datagram[MAGIC.length + 1];
  const type = (Object.keys(TYPE_CODES) as Array<BackChannelMessage['type']>).find((name) => TYPE_CODES[name] === code);
  return type ? { type } : undefined;
}
