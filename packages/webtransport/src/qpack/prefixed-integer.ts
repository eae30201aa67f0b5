/**
 * Prefixed integers (RFC 7541 §5.1, used by RFC 9204 §4.1.1): an N-bit prefix inside the first
 * byte, then 7-bit continuation bytes, least significant group first.
 */
import { H3 } from '../error-codes';
import { INCOMPLETE, ProtocolError, type Incomplete } from '../protocol-error';
import type { Decoded } from '../varint';

/** Values larger than this are refused: no QPACK length or index onair accepts comes near it. */
export const MAX_PREFIXED_INTEGER = 2 ** 32 - 1;

/** The integer as bytes; `flags` fills the bits of the first byte above the prefix. */
export function encodePrefixedInteger(value: number, prefixBits: number, flags = 0): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`prefixed integer out of range: ${value}`);
  const max = (1 << prefixBits) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

export function decodePrefixedInteger(bytes: Uint8Array, offset: number, prefixBits: number): Decoded<number> | Incomplete {
  if (offset >= bytes.length) return INCOMPLETE;
  const max = (1 << prefixBits) - 1;
  let value = bytes[offset]! & max;
  if (value < max) return { value, length: 1 };
  let shift = 0;
  let position = offset + 1;
  for (;;) {
    if (position >= bytes.length) return INCOMPLETE;
    // Zero-valued continuation bytes add nothing: cap their count as well as the value.
    if (shift > 28) throw new ProtocolError(H3.QPACK_DECOMPRESSION_FAILED, 'QPACK integer too long');
    const byte = bytes[position++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (value > MAX_PREFIXED_INTEGER) throw new ProtocolError(H3.QPACK_DECOMPRESSION_FAILED, 'QPACK integer too large');
    if ((byte & 0x80) === 0) return { value, length: position - offset };
  }
}
