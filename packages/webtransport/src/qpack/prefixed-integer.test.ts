import { describe, expect, it } from 'vitest';
import { INCOMPLETE } from '../protocol-error';
import { corruptions, outcomeOf, seededRandom } from '../test-support/fuzz';
import { decodePrefixedInteger, encodePrefixedInteger, MAX_PREFIXED_INTEGER } from './prefixed-integer';

describe('prefixed integers (RFC 7541 §5.1)', () => {
  // RFC 7541 Appendix C.1.
  it.each([
    [10, 5, [0x0a]],
    [1337, 5, [0x1f, 0x9a, 0x0a]],
    [42, 8, [0x2a]],
    [31, 5, [0x1f, 0x00]],
    [MAX_PREFIXED_INTEGER, 3, [0x07, 0xf8, 0xff, 0xff, 0xff, 0x0f]],
  ])('%d with a %d-bit prefix', (value, prefix, encoded) => {
    expect(encodePrefixedInteger(value, prefix)).toEqual(encoded);
    expect(decodePrefixedInteger(Uint8Array.from(encoded), 0, prefix)).toEqual({ value, length: encoded.length });
  });

  it('keeps the flag bits above the prefix out of the value', () => {
    expect(encodePrefixedInteger(5, 6, 0xc0)).toEqual([0xc5]);
    expect(decodePrefixedInteger(Uint8Array.of(0xc5), 0, 6)).toEqual({ value: 5, length: 1 });
  });

  it('round-trips random values and prefixes', () => {
    const random = seededRandom(4);
    for (let i = 0; i < 5000; i++) {
      const prefix = 1 + Math.floor(random() * 8);
      const value = Math.floor(random() * MAX_PREFIXED_INTEGER);
      expect(decodePrefixedInteger(Uint8Array.from(encodePrefixedInteger(value, prefix)), 0, prefix)).toEqual({ value, length: encodePrefixedInteger(value, prefix).length });
    }
  });

  it('INCOMPLETE while continuation bytes are missing; too large or too long is an error', () => {
    expect(decodePrefixedInteger(Uint8Array.of(0x1f, 0x9a), 0, 5)).toBe(INCOMPLETE);
    expect(decodePrefixedInteger(Uint8Array.of(), 0, 5)).toBe(INCOMPLETE);
    expect(() => decodePrefixedInteger(Uint8Array.of(0x1f, 0xff, 0xff, 0xff, 0xff, 0x7f), 0, 5)).toThrowError(/too large/);
    expect(() => decodePrefixedInteger(Uint8Array.of(0x1f, ...new Array(100).fill(0x80), 0), 0, 5)).toThrowError(/too long/);
  });

  it('fuzz: 20 000 corrupted integers', () => {
    const samples = [Uint8Array.of(0x1f, 0x9a, 0x0a), Uint8Array.of(0x07, 0xf8, 0xff, 0xff, 0xff, 0x0f)];
    for (const input of corruptions(samples, 20_000, 31)) outcomeOf(input, (b) => decodePrefixedInteger(b, 0, 5), INCOMPLETE);
  });
});
