/**
 * The HPACK/QPACK Huffman code (RFC 7541 Appendix B, used by RFC 9204 §4.1.2).
 *
 * The code is canonical: codes of one length are consecutive and in symbol order, and each
 * length's first code follows from the previous one. So the table is kept as its 257 code
 * lengths (symbols 0–255 and EOS = 256), and the codes are derived from them; the unit tests
 * check the derived codes against the RFC's examples (Appendix C.4).
 */
import { H3 } from '../error-codes';
import { ProtocolError } from '../protocol-error';

const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,];

const EOS = 256;
const MAX_LENGTH = 30;

/** Symbol → code (right-aligned in `length` bits). */
const codes = new Uint32Array(257);
/** For each length: the first code, how many symbols, and where they start in `sortedSymbols`. */
const firstCode = new Int32Array(MAX_LENGTH + 2);
const countOfLength = new Int32Array(MAX_LENGTH + 2);
const startOfLength = new Int32Array(MAX_LENGTH + 2);
const sortedSymbols = new Uint16Array(257);

{
  const order = CODE_LENGTHS.map((_, symbol) => symbol).sort((a, b) => CODE_LENGTHS[a]! - CODE_LENGTHS[b]! || a - b);
  let code = 0;
  let previousLength = CODE_LENGTHS[order[0]!]!;
  order.forEach((symbol, rank) => {
    const length = CODE_LENGTHS[symbol]!;
    if (rank > 0) code = (code + 1) * 2 ** (length - previousLength);
    previousLength = length;
    codes[symbol] = code;
    sortedSymbols[rank] = symbol;
    if (countOfLength[length] === 0) {
      firstCode[length] = code;
      startOfLength[length] = rank;
    }
    countOfLength[length]! += 1;
  });
}

/** Length in bytes of `bytes` once Huffman-coded. */
export function huffmanEncodedLength(bytes: Uint8Array): number {
  let bits = 0;
  for (const byte of bytes) bits += CODE_LENGTHS[byte]!;
  return Math.ceil(bits / 8);
}

export function huffmanEncode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(bytes));
  let accumulator = 0; // pending bits, right-aligned; never more than 7 + 30 bits
  let pendingBits = 0;
  let offset = 0;
  for (const byte of bytes) {
    const length = CODE_LENGTHS[byte]!;
    accumulator = accumulator * 2 ** length + codes[byte]!;
    pendingBits += length;
    while (pendingBits >= 8) {
      pendingBits -= 8;
      out[offset++] = Math.floor(accumulator / 2 ** pendingBits) & 0xff;
      accumulator %= 2 ** pendingBits;
    }
  }
  // §5.2: pad with the most significant bits of EOS (all ones).
  if (pendingBits > 0) out[offset] = ((accumulator << (8 - pendingBits)) | (0xff >> pendingBits)) & 0xff;
  return out;
}

/**
 * Decodes a Huffman string. RFC 7541 §5.2: EOS inside the string, padding longer than 7 bits,
 * or padding that is not a prefix of EOS are decoding errors (QPACK_DECOMPRESSION_FAILED).
 * Output past `maxLength` bytes stops decoding with a stream-scoped H3_EXCESSIVE_LOAD.
 */
export function huffmanDecode(bytes: Uint8Array, maxLength = Number.MAX_SAFE_INTEGER): Uint8Array {
  // Every symbol takes at least 5 bits, so the output is at most 8/5 of the input.
  const out = new Uint8Array(Math.floor((bytes.length * 8) / 5));
  let size = 0;
  let code = 0;
  let length = 0;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      length += 1;
      const index = code - firstCode[length]!;
      if (countOfLength[length]! > 0 && index >= 0 && index < countOfLength[length]!) {
        const symbol = sortedSymbols[startOfLength[length]! + index]!;
        if (symbol === EOS) throw new ProtocolError(H3.QPACK_DECOMPRESSION_FAILED, 'Huffman string contains EOS');
        if (size >= maxLength) throw new ProtocolError(H3.EXCESSIVE_LOAD, `Huffman string longer than ${maxLength} bytes`, 'stream');
        out[size++] = symbol;
        code = 0;
        length = 0;
      } else if (length >= MAX_LENGTH) {
        throw new ProtocolError(H3.QPACK_DECOMPRESSION_FAILED, 'invalid Huffman code');
      }
    }
  }
  if (length > 7) throw new ProtocolError(H3.QPACK_DECOMPRESSION_FAILED, 'Huffman padding longer than 7 bits');
  if (code !== 2 ** length - 1) throw new ProtocolError(H3.QPACK_DECOMPRESSION_FAILED, 'Huffman padding is not all ones');
  return out.subarray(0, size);
}
