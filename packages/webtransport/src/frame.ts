/**
 * HTTP/3 frames (RFC 9114 §7.1): type (varint), length (varint), payload. The frames onair
 * sends or acts on are DATA, HEADERS, SETTINGS and GOAWAY; every other type is either reserved
 * from HTTP/2 (an error, §7.2.8) or unknown and skipped (§9).
 */
import { concatBytes } from './bytes';
import { H3 } from './error-codes';
import { INCOMPLETE, ProtocolError, type Incomplete } from './protocol-error';
import { decodeVarint, decodeVarintType, encodeVarint, varintLength, writeVarint } from './varint';

export const FrameType = {
  DATA: 0x00,
  HEADERS: 0x01,
  CANCEL_PUSH: 0x03,
  SETTINGS: 0x04,
  PUSH_PROMISE: 0x05,
  GOAWAY: 0x07,
  MAX_PUSH_ID: 0x0d,
} as const;

/** RFC 9114 §7.2.8: HTTP/2 frame types with no HTTP/3 meaning; receiving one is H3_FRAME_UNEXPECTED. */
export const RESERVED_HTTP2_FRAME_TYPES: ReadonlySet<number> = new Set([0x02, 0x06, 0x08, 0x09]);

/** Frame types this package understands; any other is skipped by FrameReader (RFC 9114 §9). */
export const KNOWN_FRAME_TYPES: ReadonlySet<number> = new Set(Object.values(FrameType));

export interface FrameHeader {
  type: number;
  /** Payload length in bytes. */
  length: number;
  /** Bytes of the type and length fields. */
  headerLength: number;
}

export interface Frame {
  type: number;
  payload: Uint8Array;
}

export function encodeFrameHeader(type: number, length: number): Uint8Array {
  const out = new Uint8Array(varintLength(type) + varintLength(length));
  writeVarint(out, writeVarint(out, 0, type), length);
  return out;
}

export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  const headerLength = varintLength(type) + varintLength(payload.length);
  const out = new Uint8Array(headerLength + payload.length);
  writeVarint(out, writeVarint(out, 0, type), payload.length);
  out.set(payload, headerLength);
  return out;
}

/** Type and length; a greased type above 2^53 − 1 comes back as LARGE_TYPE (see varint.ts). */
export function decodeFrameHeader(bytes: Uint8Array, offset = 0): FrameHeader | Incomplete {
  const type = decodeVarintType(bytes, offset);
  if (type === INCOMPLETE) return INCOMPLETE;
  const length = decodeVarint(bytes, offset + type.length, H3.FRAME_ERROR);
  if (length === INCOMPLETE) return INCOMPLETE;
  return { type: type.value, length: length.value, headerLength: type.length + length.length };
}

/**
 * One whole frame at `offset`. A payload longer than `maxPayload` is refused before it is
 * buffered (RFC 9114 §10.5: limits on frame sizes are how an endpoint bounds its memory).
 */
export function decodeFrame(bytes: Uint8Array, offset: number, maxPayload: number): { frame: Frame; length: number } | Incomplete {
  const header = decodeFrameHeader(bytes, offset);
  if (header === INCOMPLETE) return INCOMPLETE;
  if (header.length > maxPayload) throw new ProtocolError(H3.EXCESSIVE_LOAD, `frame 0x${header.type.toString(16)} of ${header.length} bytes exceeds ${maxPayload}`);
  const start = offset + header.headerLength;
  if (start + header.length > bytes.length) return INCOMPLETE;
  return { frame: { type: header.type, payload: bytes.subarray(start, start + header.length) }, length: header.headerLength + header.length };
}

/** RFC 9114 §7.2.6: GOAWAY carries one varint, a stream id (from a server) or push id. */
export function encodeGoaway(id: number): Uint8Array {
  return encodeFrame(FrameType.GOAWAY, encodeVarint(id));
}

export function decodeGoaway(payload: Uint8Array): number {
  const id = decodeVarint(payload, 0, H3.FRAME_ERROR);
  if (id === INCOMPLETE || id.length !== payload.length) throw new ProtocolError(H3.FRAME_ERROR, 'GOAWAY payload is not exactly one varint');
  return id.value;
}

/** HEADERS or DATA frames, ready to write on a request stream. */
export function encodeFrames(frames: readonly Frame[]): Uint8Array {
  return concatBytes(frames.map((frame) => encodeFrame(frame.type, frame.payload)));
}
