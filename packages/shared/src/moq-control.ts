/**
 * onair's back channel on a Media-over-QUIC publish session: moq-lite lets a subscriber ask for
 * tracks but not for a keyframe, while a WebRTC ingest asks for one (PLI) whenever a viewer or
 * the transcoder joins. The ingest therefore sends WebTransport datagrams to the publisher; the
 * publisher says in its catalog that it understands them, and nothing is sent to one that does
 * not (a third-party `<moq-publish>` gets none, and viewers wait for its next group instead).
 * No I/O, browser-safe: the ingest encodes, onair's broadcaster page decodes.
 *
 * Catalog (`catalog.json`, a root section hang passes through):
 *   "onair": { "control": 2 }      the messages the publisher understands: 1 = keyframe requests,
 *                                  2 = keyframe requests and session-end notices
 *
 * Datagram format 1 (big-endian), after the magic 0x6f 0x61 ("oa": not a moq-lite or
 * moq-transport datagram) and the format byte 1:
 *   type 0x01 keyframe request (8 bytes): the video track's next frame should be a keyframe.
 *     4..7  request number, u32, 1 for the first request of a session, +1 per request (wraps);
 *           a publisher may ignore a number it has already honoured (datagrams can be duplicated)
 *   type 0x02 session-end notice (5 bytes, control ≥ 2): the ingest is done with this session
 *           and the publisher should stop and close it itself.
 *     4     reason: 0x01 = replaced (another publisher took the stream over)
 *
 * Datagrams can be lost: the ingest repeats a keyframe request while a viewer still waits
 * (rate-limited), and closes the session itself when a notified publisher has not within a grace
 * period, so a publisher needs no acknowledgement. Unknown formats and types are ignored by the
 * reader, so later messages do not break earlier publishers.
 */

/** Root section of the catalog where a publisher advertises the back channel. */
export const ONAIR_CATALOG_SECTION = 'onair';
/** What onair's broadcaster understands (the catalog's `control`). */
export const CONTROL_VERSION = 2;
/** The lowest `control` a publisher must advertise for each message. */
export const CONTROL_LEVEL = { keyframeRequest: 1, sessionEnd: 2 } as const;
const MAGIC = [0x6f, 0x61] as const;
const DATAGRAM_FORMAT = 1;
const KEYFRAME_REQUEST = 0x01;
const SESSION_END = 0x02;
const SESSION_END_REASONS = { replaced: 0x01 } as const;
export type SessionEndReason = keyof typeof SESSION_END_REASONS;

export type ControlMessage =
  | { type: 'keyframe-request'; version: number; request: number }
  | { type: 'session-end'; version: number; reason: SessionEndReason };

/** A version-1 keyframe request datagram; `request` is taken modulo 2^32. */
export function encodeKeyframeRequest(request: number): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = MAGIC[0];
  out[1] = MAGIC[1];
  out[2] = DATAGRAM_FORMAT;
  out[3] = KEYFRAME_REQUEST;
  new DataView(out.buffer).setUint32(4, request >>> 0);
  return out;
}

/** A session-end notice (control ≥ 2). */
export function encodeSessionEnd(reason: SessionEndReason): Uint8Array {
  return Uint8Array.of(MAGIC[0], MAGIC[1], DATAGRAM_FORMAT, SESSION_END, SESSION_END_REASONS[reason]);
}

/** Reads a control datagram; undefined for anything that is not a format-1 message this code knows. */
export function decodeControlDatagram(datagram: Uint8Array): ControlMessage | undefined {
  if (datagram.length < 4 || datagram[0] !== MAGIC[0] || datagram[1] !== MAGIC[1] || datagram[2] !== DATAGRAM_FORMAT) return undefined;
  if (datagram[3] === KEYFRAME_REQUEST && datagram.length === 8) {
    return { type: 'keyframe-request', version: DATAGRAM_FORMAT, request: new DataView(datagram.buffer, datagram.byteOffset, 8).getUint32(4) };
  }
  if (datagram[3] === SESSION_END && datagram.length === 5) {
    const reason = (Object.keys(SESSION_END_REASONS) as SessionEndReason[]).find((name) => SESSION_END_REASONS[name] === datagram[4]);
    return reason ? { type: 'session-end', version: DATAGRAM_FORMAT, reason } : undefined;
  }
  return undefined;
}
