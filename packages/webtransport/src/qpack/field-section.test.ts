import { describe, expect, it } from 'vitest';
import { H3 } from '../error-codes';
import { corruptions, hex, outcomeOf, seededRandom, toHex } from '../test-support/fuzz';
import { decodeFieldSection, encodeFieldSection, fieldSectionSize, type Field } from './field-section';
import { STATIC_TABLE, staticIndexOf, staticNameIndexOf } from './static-table';

const connect: Field[] = [
  [':method', 'CONNECT'],
  [':protocol', 'webtransport'],
  [':scheme', 'https'],
  [':authority', '127.0.0.1:8443'],
  [':path', '/moq?key=sk_0123456789'],
  ['origin', 'http://127.0.0.1:3000'],
  ['sec-webtransport-http3-draft02', '1'],
  ['wt-available-protocols', '"moq-lite-04", "moq-lite-03", "moql"'],
  ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0'],
];

describe('QPACK static table (RFC 9204 Appendix A)', () => {
  it('has the 99 entries at their indices', () => {
    expect(STATIC_TABLE).toHaveLength(99);
    expect(STATIC_TABLE[0]).toEqual([':authority', '']);
    expect(STATIC_TABLE[15]).toEqual([':method', 'CONNECT']);
    expect(STATIC_TABLE[25]).toEqual([':status', '200']);
    expect(STATIC_TABLE[27]).toEqual([':status', '404']);
    expect(STATIC_TABLE[63]).toEqual([':status', '100']);
    expect(STATIC_TABLE[71]).toEqual([':status', '500']);
    expect(STATIC_TABLE[90]).toEqual(['origin', '']);
    expect(STATIC_TABLE[98]).toEqual(['x-frame-options', 'sameorigin']);
    expect(staticIndexOf(':scheme', 'https')).toBe(23);
    expect(staticNameIndexOf('user-agent')).toBe(95);
  });
});

describe('QPACK field sections (RFC 9204 §4.5) without a dynamic table', () => {
  it('decodes RFC 9204 Appendix B.1 (literal with static name reference)', () => {
    expect(decodeFieldSection(hex('0000 510b 2f69 6e64 6578 2e68 746d 6c'), 4096)).toEqual([[':path', '/index.html']]);
  });

  it.each([true, false])('round-trips a Chromium-like CONNECT (huffman: %s)', (huffman) => {
    const block = encodeFieldSection(connect, { huffman });
    expect(decodeFieldSection(block, 16384)).toEqual(connect);
  });

  it('uses the static table: an exact match is one byte', () => {
    expect(toHex(encodeFieldSection([[':status', '200']]))).toBe('0000d9');
    expect(toHex(encodeFieldSection([[':status', '404']]))).toBe('0000db');
  });

  it('reads a literal with a literal name and a Huffman value', () => {
    // 001 N=0 H=0 length 7 + continuation 4 = 11 ("wt-protocol"), then H=1 length 1: 0x1f is "a".
    const named = Uint8Array.from([0x00, 0x00, 0x27, 0x04, ...new TextEncoder().encode('wt-protocol'), 0x81, 0x1f]);
    expect(decodeFieldSection(named, 4096)).toEqual([['wt-protocol', 'a']]);
  });

  it.each([
    ['a non-zero Required Insert Count', '0100 d9'],
    ['an indexed field line into the dynamic table', '0000 80'],
    ['a post-base index', '0000 10'],
    ['a literal with a dynamic name reference', '0000 40 00'],
    ['a literal with a post-base name reference', '0000 00 00'],
    ['a static index past the table', '0000 ff 24'],
    ['a string running past the block', '0000 51 0b 2f69'],
    ['a block ending inside the prefix', '00'],
    ['an empty block', ''],
  ])('refuses %s as QPACK_DECOMPRESSION_FAILED (connection)', (_name, encoded) => {
    expect(() => decodeFieldSection(hex(encoded), 4096)).toThrowError(expect.objectContaining({ code: H3.QPACK_DECOMPRESSION_FAILED, scope: 'connection' }));
  });

  it('refuses a section larger than the limit as a stream error (the server answers 431)', () => {
    const fields: Field[] = [[':method', 'CONNECT'], ['x-big', 'v'.repeat(5000)]];
    const block = encodeFieldSection(fields);
    expect(decodeFieldSection(block, fieldSectionSize(fields))).toEqual(fields);
    expect(() => decodeFieldSection(block, fieldSectionSize(fields) - 1)).toThrowError(expect.objectContaining({ code: H3.EXCESSIVE_LOAD, scope: 'stream' }));
    // Many small fields add their 32-byte overhead each.
    const many: Field[] = Array.from({ length: 600 }, (_, i) => [`x-${i}`, ''] as const);
    expect(() => decodeFieldSection(encodeFieldSection(many), 16384)).toThrowError(expect.objectContaining({ code: H3.EXCESSIVE_LOAD }));
  });

  it('round-trips random fields', () => {
    const random = seededRandom(13);
    const pick = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let i = 0; i < 500; i++) {
      const fields: Field[] = Array.from({ length: Math.floor(random() * 8) }, () => [
        random() < 0.3 ? STATIC_TABLE[Math.floor(random() * 99)]![0] : pick('abcdefghijklmnopqrstuvwxyz-0123456789', 1 + Math.floor(random() * 20)),
        pick(' !"#$%&()*+,-./0123456789:;<=>?@ABCXYZ[]^_`abcxyz{|}~\x7f\x80\xff', Math.floor(random() * 40)),
      ]);
      expect(decodeFieldSection(encodeFieldSection(fields, { huffman: random() < 0.5 }), 1 << 20)).toEqual(fields);
    }
  });

  it('fuzz: 20 000 corrupted sections', () => {
    const samples = [encodeFieldSection(connect), encodeFieldSection(connect, { huffman: false }), hex('0000d9')];
    const outcomes = new Set<string>();
    for (const input of corruptions(samples, 20_000, 37)) outcomes.add(outcomeOf(input, (b) => decodeFieldSection(b, 512)));
    expect(outcomes).toEqual(new Set(['value', 'protocol-error']));
  });
});
