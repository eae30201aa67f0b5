import { describe, expect, it } from 'vitest';
import { parseAvcDecoderConfig, splitLengthPrefixed } from './h264-avcc';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const asHex = (nals: Uint8Array[] | undefined) => nals?.map((nal) => Buffer.from(nal).toString('hex'));

const sps = '6764001facb40a0cfcf80880000003008000001e478c1950';
const pps = '68ef0fcb';
/** avcC as WebCodecs' VideoEncoder writes it for this SPS/PPS: version 1, 4-byte lengths, one SPS, one PPS. */
const avcC = `01 64001f ff e1 0018 ${sps} 01 0004 ${pps}`;

describe('parseAvcDecoderConfig', () => {
  it('reads the SPS, the PPS and the length size', () => {
    const config = parseAvcDecoderConfig(hex(avcC))!;
    expect(config.lengthSize).toBe(4);
    expect(asHex(config.sps)).toEqual([sps]);
    expect(asHex(config.pps)).toEqual([pps]);
  });

  it.each([
    ['2-byte lengths', avcC.replace('ff e1', 'fd e1'), 2],
    ['1-byte lengths', avcC.replace('ff e1', 'fc e1'), 1],
  ])('reads %s', (_name, record, lengthSize) => {
    expect(parseAvcDecoderConfig(hex(record))?.lengthSize).toBe(lengthSize);
  });

  it.each([
    ['version 0', avcC.replace(/^01/, '00')],
    ['3-byte lengths (not allowed)', avcC.replace('ff e1', 'fe e1')],
    ['a truncated SPS', avcC.slice(0, 30)],
    ['no PPS count', `01 64001f ff e1 0018 ${sps}`],
    ['a PPS longer than the record', avcC.replace('01 0004', '01 0009')],
    ['a zero-length SPS', '01 64001f ff e1 0000 01 0004 68ef0fcb'],
    ['7 bytes of nothing', '00000000000000'],
  ])('refuses %s', (_name, record) => {
    expect(parseAvcDecoderConfig(hex(record))).toBeUndefined();
  });

  it('never throws on 10 000 corrupted records', () => {
    for (let i = 0; i < 10_000; i += 1) {
      const record = hex(avcC);
      record[Math.floor(Math.random() * record.length)] = Math.floor(Math.random() * 256);
      const config = parseAvcDecoderConfig(record.subarray(0, i % 3 ? record.length : Math.floor(Math.random() * record.length)));
      for (const set of [...(config?.sps ?? []), ...(config?.pps ?? [])]) expect(set.byteOffset + set.length).toBeLessThanOrEqual(record.byteOffset + record.length);
    }
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine
});

describe('splitLengthPrefixed', () => {
  it.each([
    ['4-byte lengths', '00000002 6742 00000001 68', 4, ['6742', '68']],
    ['2-byte lengths', '0002 6742 0001 68', 2, ['6742', '68']],
    ['1-byte lengths', '02 6742', 1, ['6742']],
    ['nothing', '', 4, []],
  ])('%s', (_name, data, lengthSize, expected) => {
    expect(asHex(splitLengthPrefixed(hex(data), lengthSize))).toEqual(expected);
  });

  it.each([
    ['a length past the end', '00000009 6742', 4],
    ['a zero length', '00000000 6742', 4],
    ['a cut length field', '6742 0000', 4],
  ])('refuses %s', (_name, data, lengthSize) => {
    expect(splitLengthPrefixed(hex(data), lengthSize)).toBeUndefined();
  });

  it('round-trips and never throws on 10 000 random inputs', () => {
    for (let i = 0; i < 10_000; i += 1) {
      const lengthSize = [1, 2, 4][i % 3]!;
      const nals = Array.from({ length: 1 + (i % 4) }, () => Uint8Array.from({ length: 1 + Math.floor(Math.random() * 200) }, () => Math.floor(Math.random() * 256)));
      const parts: number[] = [];
      for (const nal of nals) {
        const length = Array.from({ length: lengthSize }, (_, k) => (nal.length >> (8 * (lengthSize - 1 - k))) & 0xff);
        parts.push(...length, ...nal);
      }
      const data = Uint8Array.from(parts);
      expect(asHex(splitLengthPrefixed(data, lengthSize))).toEqual(asHex(nals));
      data[Math.floor(Math.random() * data.length)] = Math.floor(Math.random() * 256);
      splitLengthPrefixed(data, lengthSize);
    }
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine
});
