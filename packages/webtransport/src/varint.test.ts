import { describe, expect, it } from 'vitest';
import { H3 } from './error-codes';
import { INCOMPLETE, ProtocolError } from './protocol-error';
import { corruptions, hex, outcomeOf, seededRandom, toHex } from './test-support/fuzz';
import { decodeVarint, decodeVarintBigInt, decodeVarintType, encodeVarint, LARGE_TYPE, MAX_VARINT, varintLength } from './varint';

describe('QUIC varint (RFC 9000 §16)', () => {
  // RFC 9000 §A.1 sample encodings, plus every length boundary.
  const table: Array<[number, string]> = [
    [0, '00'],
    [37, '25'],
    [63, '3f'],
    [64, '4040'],
    [15293, '7bbd'],
    [16383, '7fff'],
    [16384, '80004000'],
    [494878333, '9d7f3e7d'],
    [2 ** 30 - 1, 'bfffffff'],
    [2 ** 30, 'c000000040000000'],
    [2 ** 32, 'c000000100000000'],
    [Number.MAX_SAFE_INTEGER, 'c01fffffffffffff'],
  ];

  it.each(table)('%d encodes as %s and decodes back', (value, encoded) => {
    expect(toHex(encodeVarint(value))).toBe(encoded);
    expect(varintLength(value)).toBe(encoded.length / 2);
    expect(decodeVarint(hex(encoded))).toEqual({ value, length: encoded.length / 2 });
    expect(decodeVarintBigInt(hex(encoded))).toEqual({ value: BigInt(value), length: encoded.length / 2 });
  });

  it('decodes a non-minimal encoding (RFC 9000 §A.1: 0x4025 is 37)', () => {
    expect(decodeVarint(hex('4025'))).toEqual({ value: 37, length: 2 });
  });

  it('decodes at an offset', () => {
    expect(decodeVarint(hex('ff 7bbd'), 1)).toEqual({ value: 15293, length: 2 });
  });

  it('refuses values above 2^53 - 1 as a number, with the caller’s error code', () => {
    const big = hex('c2197c5eff14e88c'); // RFC 9000 §A.1: 151288809941952652
    expect(() => decodeVarint(big, 0, H3.ID_ERROR)).toThrowError(expect.objectContaining({ name: 'ProtocolError', code: H3.ID_ERROR }));
    expect(decodeVarintBigInt(big)).toEqual({ value: 151288809941952652n, length: 8 });
    expect(() => decodeVarint(hex('c020000000000000'))).toThrowError(ProtocolError); // 2^53 itself
  });

  it('gives greased type values above 2^53 - 1 as LARGE_TYPE', () => {
    expect(decodeVarintType(hex('c2197c5eff14e88c'))).toEqual({ value: LARGE_TYPE, length: 8 });
    expect(decodeVarintType(hex('4041'))).toEqual({ value: 0x41, length: 2 });
  });

  it('encodes bigints up to 2^62 - 1 and refuses beyond', () => {
    expect(toHex(encodeVarint(151288809941952652n))).toBe('c2197c5eff14e88c');
    expect(toHex(encodeVarint(MAX_VARINT))).toBe('ffffffffffffffff');
    expect(toHex(encodeVarint(5n))).toBe('05');
    expect(() => encodeVarint(MAX_VARINT + 1n)).toThrowError(RangeError);
    expect(() => encodeVarint(-1)).toThrowError(RangeError);
    expect(() => encodeVarint(2 ** 53)).toThrowError(RangeError);
    expect(() => encodeVarint(1.5)).toThrowError(RangeError);
  });

  it('says INCOMPLETE when the bytes end inside the varint', () => {
    for (const encoded of ['', '40', '8000', '800000', 'c0000000000000']) {
      expect(decodeVarint(hex(encoded))).toBe(INCOMPLETE);
      expect(decodeVarintBigInt(hex(encoded))).toBe(INCOMPLETE);
      expect(decodeVarintType(hex(encoded))).toBe(INCOMPLETE);
    }
  });

  it('round-trips random values of every length', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 5000; i++) {
      const value = Math.floor(random() * 2 ** Math.floor(random() * 54));
      expect(decodeVarint(encodeVarint(value))).toEqual({ value, length: varintLength(value) });
    }
  });

  it('fuzz: 20 000 corrupted inputs give a value, INCOMPLETE or a ProtocolError', () => {
    const samples = table.map(([, encoded]) => hex(encoded));
    const outcomes = new Set<string>();
    for (const input of corruptions(samples, 20_000, 11)) {
      outcomes.add(outcomeOf(input, (bytes) => decodeVarint(bytes), INCOMPLETE));
      outcomeOf(input, (bytes) => decodeVarintType(bytes), INCOMPLETE);
      outcomeOf(input, (bytes) => decodeVarintBigInt(bytes), INCOMPLETE);
    }
    expect(outcomes).toEqual(new Set(['value', 'incomplete', 'protocol-error']));
  });
});
