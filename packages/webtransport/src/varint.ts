/**
 * QUIC variable-length integers (RFC 9000 §16): the two top bits of the first byte give the
 * length (1, 2, 4 or 8 bytes), the rest is the value, big-endian, up to 2^62 − 1.
 *
 * 62-bit values and JavaScript numbers: `decodeVarint` returns a number and refuses (with a
 * ProtocolError) any value above 2^53 − 1, where a number would no longer be exact — every
 * length, stream id, session id or error code onair acts on is far below that.
 * Type fields (frame, stream, setting and capsule types) are different: peers grease them with
 * reserved values anywhere in the 62-bit space (RFC 9114 §7.2.8, §6.2.3, §7.2.4.1), and those
 * must be skipped, not refused; `decodeVarintType` returns them as `LARGE_TYPE` (−1), which no
 * registered type equals. `decodeVarintBigInt` gives any value exactly.
 */
import { H3 } from './error-codes';
import { INCOMPLETE, ProtocolError, type Incomplete } from './protocol-error';

export const MAX_VARINT = 2n ** 62n - 1n;
/** Stands for a type value above 2^53 − 1: always an unknown (reserved or greased) type. */
export const LARGE_TYPE = -1;

export interface Decoded<T> {
  value: T;
  /** Bytes the element took. */
  length: number;
}

/** Bytes `encodeVarint(value)` takes. */
export function varintLength(value: number): 1 | 2 | 4 | 8 {
  if (value < 0x40) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x40000000) return 4;
  return 8;
}

/** Writes `value` at `offset` (the caller made room: `varintLength`) and returns the offset after it. */
export function writeVarint(target: Uint8Array, offset: number, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
  if (value < 0x40) {
    target[offset] = value;
    return offset + 1;
  }
  if (value < 0x4000) {
    target[offset] = 0x40 | (value >>> 8);
    target[offset + 1] = value & 0xff;
    return offset + 2;
  }
  if (value < 0x40000000) {
    target[offset] = 0x80 | (value >>> 24);
    target[offset + 1] = (value >>> 16) & 0xff;
    target[offset + 2] = (value >>> 8) & 0xff;
    target[offset + 3] = value & 0xff;
    return offset + 4;
  }
  const high = Math.floor(value / 2 ** 32);
  const low = value >>> 0;
  target[offset] = 0xc0 | (high >>> 24);
  target[offset + 1] = (high >>> 16) & 0xff;
  target[offset + 2] = (high >>> 8) & 0xff;
  target[offset + 3] = high & 0xff;
  target[offset + 4] = low >>> 24;
  target[offset + 5] = (low >>> 16) & 0xff;
  target[offset + 6] = (low >>> 8) & 0xff;
  target[offset + 7] = low & 0xff;
  return offset + 8;
}

/** A number up to 2^53 − 1, or a bigint up to 2^62 − 1. */
export function encodeVarint(value: number | bigint): Uint8Array {
  if (typeof value === 'bigint') {
    if (value < 0n || value > MAX_VARINT) throw new RangeError(`varint out of range: ${value}`);
    if (value <= BigInt(Number.MAX_SAFE_INTEGER)) return encodeVarint(Number(value));
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, value | (3n << 62n));
    return out;
  }
  const out = new Uint8Array(varintLength(value));
  writeVarint(out, 0, value);
  return out;
}

function lengthAt(bytes: Uint8Array, offset: number): number {
  return 1 << (bytes[offset]! >>> 6);
}

/**
 * A varint whose value must be exact as a number. Throws ProtocolError(`errorCode`) above
 * 2^53 − 1 (see the file comment); INCOMPLETE when the bytes end first.
 */
export function decodeVarint(bytes: Uint8Array, offset = 0, errorCode: number = H3.FRAME_ERROR): Decoded<number> | Incomplete {
  if (offset >= bytes.length) return INCOMPLETE;
  const length = lengthAt(bytes, offset);
  if (offset + length > bytes.length) return INCOMPLETE;
  const first = bytes[offset]! & 0x3f;
  if (length === 1) return { value: first, length };
  if (length === 2) return { value: (first << 8) | bytes[offset + 1]!, length };
  if (length === 4) {
    return { value: first * 0x1000000 + ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!), length };
  }
  // 8 bytes: the high 30 bits must stay below 2^21 for the value to fit in 53 bits.
  const high = first * 0x1000000 + ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!);
  if (high >= 2 ** 21) throw new ProtocolError(errorCode, 'varint above 2^53 - 1');
  const low = ((bytes[offset + 4]! << 24) >>> 0) + ((bytes[offset + 5]! << 16) | (bytes[offset + 6]! << 8) | bytes[offset + 7]!);
  return { value: high * 2 ** 32 + low, length };
}

/** Any varint, exactly. */
export function decodeVarintBigInt(bytes: Uint8Array, offset = 0): Decoded<bigint> | Incomplete {
  if (offset >= bytes.length) return INCOMPLETE;
  const length = lengthAt(bytes, offset);
  if (offset + length > bytes.length) return INCOMPLETE;
  let value = BigInt(bytes[offset]! & 0x3f);
  for (let i = 1; i < length; i++) value = (value << 8n) | BigInt(bytes[offset + i]!);
  return { value, length };
}

/** A type field: values above 2^53 − 1 come back as LARGE_TYPE instead of an error. */
export function decodeVarintType(bytes: Uint8Array, offset = 0): Decoded<number> | Incomplete {
  if (offset >= bytes.length) return INCOMPLETE;
  const length = lengthAt(bytes, offset);
  if (offset + length > bytes.length) return INCOMPLETE;
  if (length === 8 && (bytes[offset]! & 0x3f) * 0x1000000 + ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >= 2 ** 21) {
    return { value: LARGE_TYPE, length };
  }
  return decodeVarint(bytes, offset);
}
