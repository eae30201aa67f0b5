/**
 * QPACK encoded field sections (RFC 9204 §4.5) without a dynamic table.
 *
 * onair advertises SETTINGS_QPACK_MAX_TABLE_CAPACITY = 0, so a conforming peer references only
 * the static table and literals. Anything that needs the dynamic table — a non-zero Required
 * Insert Count, a dynamic or post-base index — is QPACK_DECOMPRESSION_FAILED (§2.2.3), a
 * connection error. A section whose decoded size passes `maxSize` (RFC 9114 §4.2.2: Σ name +
 * value + 32) is a stream-scoped H3_EXCESSIVE_LOAD, which a server answers with 431.
 */
import { bytesToLatin1, concatBytes, latin1ToBytes } from '../bytes';
import { H3 } from '../error-codes';
import { INCOMPLETE, ProtocolError } from '../protocol-error';
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from './huffman';
import { decodePrefixedInteger, encodePrefixedInteger } from './prefixed-integer';
import { STATIC_TABLE, staticIndexOf, staticNameIndexOf } from './static-table';

export type Field = readonly [name: string, value: string];

/** RFC 9114 §4.2.2: the size a field adds to a section. */
export const FIELD_OVERHEAD = 32;

export function fieldSectionSize(fields: readonly Field[]): number {
  let size = 0;
  for (const [name, value] of fields) size += name.length + value.length + FIELD_OVERHEAD;
  return size;
}

function fail(message: string): never {
  throw new ProtocolError(H3.QPACK_DECOMPRESSION_FAILED, message);
}

function integerAt(block: Uint8Array, offset: number, prefixBits: number): { value: number; length: number } {
  const decoded = decodePrefixedInteger(block, offset, prefixBits);
  if (decoded === INCOMPLETE) fail('field section ends inside an integer');
  return decoded;
}

function staticEntry(index: number): Field {
  const entry = STATIC_TABLE[index];
  if (!entry) fail(`static table index ${index} out of range`);
  return entry;
}

/** A string literal (§4.1.2): H bit just above an N-bit length prefix, then the octets. */
function stringAt(block: Uint8Array, offset: number, prefixBits: number, budget: number): { value: string; length: number } {
  if (offset >= block.length) fail('field section ends before a string');
  const huffman = (block[offset]! >> prefixBits) & 1;
  const length = integerAt(block, offset, prefixBits);
  const start = offset + length.length;
  const end = start + length.value;
  if (end > block.length) fail('string literal runs past the field section');
  const raw = block.subarray(start, end);
  if (!huffman && raw.length > budget) tooLarge(budget);
  const bytes = huffman ? huffmanDecode(raw, Math.max(0, budget)) : raw;
  return { value: bytesToLatin1(bytes), length: end - offset };
}

function tooLarge(budget: number): never {
  throw new ProtocolError(H3.EXCESSIVE_LOAD, `field section larger than allowed (${budget} bytes left)`, 'stream');
}

export function decodeFieldSection(block: Uint8Array, maxSize: number): Field[] {
  // §4.5.1: Required Insert Count (8-bit prefix), then sign + Delta Base (7-bit prefix).
  const requiredInsertCount = integerAt(block, 0, 8);
  if (requiredInsertCount.value !== 0) fail('dynamic table reference (Required Insert Count > 0) with capacity 0');
  let offset = requiredInsertCount.length + integerAt(block, requiredInsertCount.length, 7).length;
  const fields: Field[] = [];
  let size = 0;
  const budget = () => maxSize - size;
  while (offset < block.length) {
    const first = block[offset]!;
    let field: Field;
    if (first & 0x80) {
      // §4.5.2 indexed field line: 1 T index(6)
      if (!(first & 0x40)) fail('dynamic table index with capacity 0');
      const index = integerAt(block, offset, 6);
      field = staticEntry(index.value);
      offset += index.length;
    } else if (first & 0x40) {
      // §4.5.4 literal with name reference: 01 N T index(4), value(H, 7)
      if (!(first & 0x10)) fail('dynamic table name reference with capacity 0');
      const index = integerAt(block, offset, 4);
      const name = staticEntry(index.value)[0];
      offset += index.length;
      const value = stringAt(block, offset, 7, budget() - name.length - FIELD_OVERHEAD);
      field = [name, value.value];
      offset += value.length;
    } else if (first & 0x20) {
      // §4.5.6 literal with literal name: 001 N H length(3), value(H, 7)
      const name = stringAt(block, offset, 3, budget() - FIELD_OVERHEAD);
      offset += name.length;
      const value = stringAt(block, offset, 7, budget() - name.value.length - FIELD_OVERHEAD);
      field = [name.value, value.value];
      offset += value.length;
    } else {
      // §4.5.3 / §4.5.5: post-base index or name reference, both into the dynamic table.
      fail('post-base (dynamic table) reference with capacity 0');
    }
    size += field[0].length + field[1].length + FIELD_OVERHEAD;
    if (size > maxSize) tooLarge(maxSize);
    fields.push(field);
  }
  return fields;
}

function encodeString(text: string, prefixBits: number, flags: number, huffman: boolean): Uint8Array {
  const raw = latin1ToBytes(text);
  const useHuffman = huffman && huffmanEncodedLength(raw) < raw.length;
  const bytes = useHuffman ? huffmanEncode(raw) : raw;
  const head = encodePrefixedInteger(bytes.length, prefixBits, flags | (useHuffman ? 1 << prefixBits : 0));
  const out = new Uint8Array(head.length + bytes.length);
  out.set(head);
  out.set(bytes, head.length);
  return out;
}

/**
 * Static references where the table has the entry or its name, literals otherwise; Huffman
 * where it is shorter (`huffman: false` forces plain literals, for tests).
 */
export function encodeFieldSection(fields: readonly Field[], options: { huffman?: boolean } = {}): Uint8Array {
  const huffman = options.huffman ?? true;
  const parts: Uint8Array[] = [new Uint8Array([0x00, 0x00])]; // Required Insert Count 0, Delta Base 0
  for (const [name, value] of fields) {
    const exact = staticIndexOf(name, value);
    if (exact !== undefined) {
      parts.push(Uint8Array.from(encodePrefixedInteger(exact, 6, 0xc0)));
      continue;
    }
    const nameIndex = staticNameIndexOf(name);
    if (nameIndex !== undefined) {
      parts.push(Uint8Array.from(encodePrefixedInteger(nameIndex, 4, 0x50)), encodeString(value, 7, 0, huffman));
    } else {
      parts.push(encodeString(name, 3, 0x20, huffman), encodeString(value, 7, 0, huffman));
    }
  }
  return concatBytes(parts);
}
