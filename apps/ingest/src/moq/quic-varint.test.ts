import { describe, expect, it } from 'vitest';
import { decodeQuicVarint, encodeQuicVarint, MAX_QUIC_VARINT } from './quic-varint';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('QUIC varint', () => {
  // RFC 9000 Appendix A.1, plus the edges of each length.
  it.each([
    ['9d7f3e7d', 494_878_333, 4],
    ['7bbd', 15_293, 2],
    ['25', 37, 1],
    ['4025', 37, 2], // not minimal, still valid (§16)
    ['00', 0, 1],
    ['3f', 63, 1],
    ['4040', 64, 2],
    ['7fff', 16_383, 2],
    ['80004000', 16_384, 4],
    ['bfffffff', 1_073_741_823, 4],
    ['c000000040000000', 1_073_741_824, 8],
    ['c01fffffffffffff', MAX_QUIC_VARINT, 8],
  ])('%s = %d', (bytes, value, length) => {
    expect(decodeQuicVarint(hex(bytes))).toEqual({ value, length });
  });

  it.each([
    ['the RFC example past 2^53', 'c2197c5eff14e88c'],
    ['2^53', 'c020000000000000'],
    ['empty', ''],
    ['2 bytes announced, 1 there', '7b'],
    ['8 bytes announced, 7 there', 'c2197c5eff14e8'],
  ])('refuses %s', (_name, bytes) => {
    expect(decodeQuicVarint(hex(bytes))).toBeUndefined();
  });

  it('reads at an offset', () => {
    expect(decodeQuicVarint(hex('ff 7bbd'), 1)).toEqual({ value: 15_293, length: 2 });
  });

  it('round-trips with the shortest encoding', () => {
    const values = [0, 1, 63, 64, 16_383, 16_384, 2 ** 30 - 1, 2 ** 30, 2 ** 40 + 5, MAX_QUIC_VARINT];
    for (let i = 0; i < 2000; i += 1) values.push(Math.floor(Math.random() * 2 ** (1 + (i % 53))));
    for (const value of values) {
      const bytes = encodeQuicVarint(value);
      expect(bytes.length).toBe(value < 64 ? 1 : value < 16_384 ? 2 : value < 2 ** 30 ? 4 : 8);
      expect(decodeQuicVarint(bytes)).toEqual({ value, length: bytes.length });
    }
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine

  it.each([-1, 0.5, MAX_QUIC_VARINT + 1, Number.NaN])('will not encode %d', (value) => {
    expect(() => encodeQuicVarint(value)).toThrow(RangeError);
  });
});
