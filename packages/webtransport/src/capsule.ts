/**
 * Capsules (RFC 9297 §3.2): type (varint), length (varint), value — the data stream of an
 * extended CONNECT, carried in HTTP/3 DATA frames. WebTransport defines two of them on the
 * CONNECT stream (draft-ietf-webtrans-http3 §5, §6).
 */
import { H3 } from './error-codes';
import { INCOMPLETE, ProtocolError } from './protocol-error';
import { decodeVarint, decodeVarintType, varintLength, writeVarint } from './varint';

export const CapsuleType = {
  /** RFC 9297 §3.5. */
  DATAGRAM: 0x00,
  /** draft-ietf-webtrans-http3 §6: application error code (32 bits) + UTF-8 reason. */
  CLOSE_WEBTRANSPORT_SESSION: 0x2843,
  /** draft-ietf-webtrans-http3 §4.7: the peer asks for a graceful end. */
  DRAIN_WEBTRANSPORT_SESSION: 0x78ae,
} as const;

/** draft-ietf-webtrans-http3 §6: the reason is at most 1024 bytes. */
export const MAX_CLOSE_REASON_BYTES = 1024;

export interface Capsule {
  type: number;
  value: Uint8Array;
}

export interface CloseSessionInfo {
  /** Application error code, 32 bits. */
  code: number;
  reason: string;
}

export function encodeCapsule(type: number, value: Uint8Array): Uint8Array {
  const headerLength = varintLength(type) + varintLength(value.length);
  const out = new Uint8Array(headerLength + value.length);
  writeVarint(out, writeVarint(out, 0, type), value.length);
  out.set(value, headerLength);
  return out;
}

export function decodeCapsuleHeader(bytes: Uint8Array, offset = 0): { type: number; length: number; headerLength: number } | typeof INCOMPLETE {
  const type = decodeVarintType(bytes, offset);
  if (type === INCOMPLETE) return INCOMPLETE;
  const length = decodeVarint(bytes, offset + type.length, H3.MESSAGE_ERROR);
  if (length === INCOMPLETE) return INCOMPLETE;
  return { type: type.value, length: length.value, headerLength: type.length + length.length };
}

/** The longest prefix of `text` whose UTF-8 fits in `maxBytes`, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return bytes;
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back off continuation bytes
  return bytes.subarray(0, end);
}

export function encodeCloseSession(info: CloseSessionInfo): Uint8Array {
  if (!Number.isInteger(info.code) || info.code < 0 || info.code > 0xffffffff) throw new RangeError(`close code must be 32 bits, got ${info.code}`);
  const reason = truncateUtf8(info.reason, MAX_CLOSE_REASON_BYTES);
  const value = new Uint8Array(4 + reason.length);
  new DataView(value.buffer).setUint32(0, info.code);
  value.set(reason, 4);
  return encodeCapsule(CapsuleType.CLOSE_WEBTRANSPORT_SESSION, value);
}

/** A malformed CLOSE capsule is H3_MESSAGE_ERROR on the CONNECT stream (the session only). */
export function decodeCloseSession(value: Uint8Array): CloseSessionInfo {
  if (value.length < 4) throw new ProtocolError(H3.MESSAGE_ERROR, 'CLOSE_WEBTRANSPORT_SESSION shorter than its error code', 'stream');
  if (value.length > 4 + MAX_CLOSE_REASON_BYTES) throw new ProtocolError(H3.MESSAGE_ERROR, 'CLOSE_WEBTRANSPORT_SESSION reason over 1024 bytes', 'stream');
  const code = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(0);
  return { code, reason: new TextDecoder('utf-8', { fatal: false }).decode(value.subarray(4)) };
}

export function encodeDrainSession(): Uint8Array {
  return encodeCapsule(CapsuleType.DRAIN_WEBTRANSPORT_SESSION, new Uint8Array(0));
}
