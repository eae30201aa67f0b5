import { describe, expect, it } from 'vitest';
import { latin1ToBytes } from '../bytes';
import { H3 } from '../error-codes';
import { corruptions, hex, outcomeOf, randomBytes, seededRandom, toHex } from '../test-support/fuzz';
import { huffmanDecode, huffmanEncode, huffmanEncodedLength } from './huffman';

describe('Huffman code (RFC 7541 Appendix B)', () => {
  // RFC 7541 Appendix C.4 and C.6: request and response examples with Huffman coding.
  const table: Array<[string, string]> = [
    ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
    ['no-cache', 'a8eb 1064 9cbf'],
    ['custom-key', '25a8 49e9 5ba9 7d7f'],
    ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
    ['302', '6402'],
    ['private', 'aec3 771a 4b'],
    ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'],
    ['https://www.example.com', '9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3'],
    ['gzip', '9bd9 ab'],
    ['foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1', '94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07'],
    ['', ''],
  ];

  it.each(table)('%j encodes as the RFC example and decodes back', (text, encoded) => {
    const raw = latin1ToBytes(text);
    expect(toHex(huffmanEncode(raw))).toBe(encoded.replaceAll(' ', ''));
    expect(huffmanEncodedLength(raw)).toBe(encoded.replaceAll(' ', '').length / 2);
    expect(toHex(huffmanDecode(hex(encoded)))).toBe(toHex(raw));
  });

  it('round-trips every byte value and random strings', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(huffmanDecode(huffmanEncode(all))).toEqual(all);
    const random = seededRandom(9);
    for (let i = 0; i < 2000; i++) {
      const raw = randomBytes(random, Math.floor(random() * 40));
      expect(huffmanDecode(huffmanEncode(raw))).toEqual(raw);
    }
  });

  it.each([
    ['EOS inside the string (30 ones)', 'ffff fffc'],
    ['padding longer than 7 bits', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff ff'],
    ['padding of zeros ("a" is 00011, then 000)', '18'],
  ])('refuses %s as QPACK_DECOMPRESSION_FAILED', (_name, encoded) => {
    expect(() => huffmanDecode(hex(encoded))).toThrowError(expect.objectContaining({ code: H3.QPACK_DECOMPRESSION_FAILED, scope: 'connection' }));
  });

  it('stops at the output limit with a stream-scoped H3_EXCESSIVE_LOAD', () => {
    const encoded = huffmanEncode(latin1ToBytes('a'.repeat(100)));
    expect(huffmanDecode(encoded, 100)).toHaveLength(100);
    expect(() => huffmanDecode(encoded, 99)).toThrowError(expect.objectContaining({ code: H3.EXCESSIVE_LOAD, scope: 'stream' }));
  });

  it('fuzz: 20 000 corrupted strings', () => {
    const samples = table.map(([, encoded]) => hex(encoded));
    const outcomes = new Set<string>();
    for (const input of corruptions(samples, 20_000, 29)) outcomes.add(outcomeOf(input, (b) => huffmanDecode(b, 64)));
    expect(outcomes).toEqual(new Set(['value', 'protocol-error']));
  });
});
