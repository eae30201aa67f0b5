/**
 * QUIC variable-length integers (RFC 9000 §16): the two top bits of the first byte give the
 * length (1, 2, 4 or 8 bytes), the rest is the value, big-endian. moq-lite and hang's "legacy"
 * frame container use them. Values are JavaScript numbers, so at most 2^53 − 1 is accepted.
 */

export const MAX_QUIC_VARINT = Number.MAX_SAFE_INTEGER;

export interface DecodedVarint {
  value: number;
  /** Bytes the varint took (1, 2, 4 or 8). */
  length: number;
}

/** Undefined when `bytes` ends inside the varint or it holds more than 2^53 − 1. */
export function decodeQuicVarint(bytes: Uint8Array, offset = 0): DecodedVarint | undefined {
  const first = bytes[offset];
  if (first === undefined) return undefined;
  const length = 1 << (first >> 6);
  if (offset + length > bytes.length) return undefined;
  let value = first & 0x3f;
  for (let i = 1; i < length; i += 1) value = value * 256 + bytes[offset + i]!;
  // 8-byte varints reach 2^62: past 2^53 the multiplication above has already lost bits.
  if (value > MAX_QUIC_VARINT) return undefined;
  return { value, length };
}

/** Shortest encoding of `value` (an integer in 0 … 2^53 − 1; throws RangeError otherwise). */
export function encodeQuicVarint(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > MAX_QUIC_VARINT) throw new RangeError(`not a QUIC varint value: ${value}`);
  const length = value < 0x40 ? 1 : value < 0x4000 ? 2 : value < 0x4000_0000 ? 4 : 8;
  const out = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0; i -= 1) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  out[0]! |= [0x00, 0x40, 0, 0x80, 0, 0, 0, 0xc0][length - 1]!;
  return out;
}
