/**
 * onair's back channel on a Media-over-QUIC publish session: moq-lite lets a subscriber ask for
 * tracks but not for a keyframe, while a WebRTC ingest asks for one (PLI) whenever a viewer or
 * the transcoder joins. The ingest therefore sends WebTransport datagrams to the publisher; the
 * publisher says in its catalog that it understands them, and nothing is sent to one that does
 * not (a third-party `<moq-publish>` gets none, and viewers wait for its next group instead).
 * No I/O, browser-safe: the ingest encodes, onair's broadcaster page decodes.
 *
 * Catalog (`catalog.json`, a root section hang passes through):
 *   "onair": { "control": 1 }      highest datagram version the publisher understands
 *
 * Datagram, version 1 (8 bytes, big-endian):
 *   0..1  magic 0x6f 0x61 ("oa"): not a moq-lite or moq-transport datagram
 *   2     version: 1
 *   3     type: 0x01 = keyframe request (the video track's next frame should be a keyframe)
 *   4..7  request number, u32, 1 for the first request of a session, +1 per request (wraps);
 *         a publisher may ignore a number it has already honoured (datagrams can be duplicated)
 *
 * Datagrams can be lost: the ingest repeats a request while a viewer still waits (rate-limited),
 * so a publisher needs no acknowledgement. Unknown versions and types are ignored by the reader,
 * so a later version can add messages without breaking version-1 publishers.
 */

/** Root section of the catalog where a publisher advertises the back channel. */
export const ONAIR_CATALOG_SECTION = 'onair';
export const CONTROL_VERSION = 1;
const MAGIC = [0x6f, 0x61] as const;
const KEYFRAME_REQUEST = 0x01;

export type ControlMessage = { type: 'keyframe-request'; version: number; request: number };

/** A version-1 keyframe request datagram; `request` is taken modulo 2^32. */
export function encodeKeyframeRequest(request: number): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = MAGIC[0];
  out[1] = MAGIC[1];
  out[2] = CONTROL_VERSION;
  out[3] = KEYFRAME_REQUEST;
  new DataView(out.buffer).setUint32(4, request >>> 0);
  return out;
}

/** Reads a control datagram; undefined for anything that is not a version-1 message this code knows. */
export function decodeControlDatagram(datagram: Uint8Array): ControlMessage | undefined {
  if (datagram.length < 4 || datagram[0] !== MAGIC[0] || datagram[1] !== MAGIC[1] || datagram[2] !== CONTROL_VERSION) return undefined;
  if (datagram[3] === KEYFRAME_REQUEST && datagram.length === 8) {
    return { type: 'keyframe-request', version: CONTROL_VERSION, request: new DataView(datagram.buffer, datagram.byteOffset, 8).getUint32(4) };
  }
  return undefined;
}
