import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { escapeRbsp } from '../../../../test/support/moq/h264-stream';
import { nalType, splitAnnexB } from './h264-annexb';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const asHex = (nals: Uint8Array[] | undefined) => nals?.map((nal) => Buffer.from(nal).toString('hex'));

describe('splitAnnexB', () => {
  it.each([
    ['4-byte start codes', '00000001 6742 00000001 68ce', ['6742', '68ce']],
    ['3-byte start codes', '000001 6742 000001 68ce', ['6742', '68ce']],
    ['mixed, as x264 writes them', '00000001 6764 00000001 68ef 000001 06ff 00000001 6588 000001 4180', ['6764', '68ef', '06ff', '6588', '4180']],
    ['leading zero bytes', '0000000000000001 6742', ['6742']],
    ['trailing zero bytes', '00000001 6742 0000 00000001 68ce 000000', ['6742', '68ce']],
    ['two start codes in a row (empty NAL unit)', '00000001 00000001 6742', ['6742']],
    ['emulation prevention left in place', '00000001 65 000003 01 000003 00 ff', ['6500000301000003 00ff'.replace(/\s/g, '')]],
    ['a start code alone', '00000001', []],
  ])('%s', (_name, data, expected) => {
    expect(asHex(splitAnnexB(hex(data)))).toEqual(expected);
  });

  it.each([
    ['length-prefixed (AVCC) data', '00000002 6742'],
    ['garbage before the first start code', '01 00000001 6742'],
    ['no start code at all', '6742c01e'],
    ['empty', ''],
  ])('says %s is not Annex B', (_name, data) => {
    expect(splitAnnexB(hex(data))).toBeUndefined();
  });

  it('returns views into the input, not copies', () => {
    const data = hex('00000001 6742 000001 68ce');
    const [sps] = splitAnnexB(data)!;
    expect(sps!.buffer).toBe(data.buffer);
    expect(sps!.byteOffset).toBe(4);
  });

  it('splits the x264 fixture into its 29 NAL units (2 slices a frame, SPS/PPS before each IDR)', () => {
    const nals = splitAnnexB(readFileSync(new URL('./fixtures/x264-high-320x180.h264', import.meta.url)))!;
    expect(nals.map(nalType)).toEqual([7, 8, 6, 5, 5, ...Array(10).fill(1), 7, 8, 5, 5, ...Array(10).fill(1)]);
    expect(nals.reduce((sum, nal) => sum + nal.length, 0)).toBeGreaterThan(24_000);
  });

  it('round-trips 2000 random access units written with random start codes', () => {
    for (let i = 0; i < 2000; i += 1) {
      const nals = Array.from({ length: 1 + (i % 7) }, () => {
        const rbsp = Uint8Array.from({ length: 1 + Math.floor(Math.random() * 200) }, () => (Math.random() < 0.3 ? 0 : Math.floor(Math.random() * 256)));
        rbsp[0] = 0x01 + Math.floor(Math.random() * 23); // a NAL header with a type in 1..23
        return escapeRbsp(rbsp);
      });
      const parts: number[] = [];
      for (const nal of nals) parts.push(...(Math.random() < 0.5 ? [0, 0, 1] : [0, 0, 0, 1]), ...nal, ...(Math.random() < 0.1 ? [0, 0] : []));
      expect(asHex(splitAnnexB(Uint8Array.from(parts)))).toEqual(asHex(nals));
    }
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine

  it('never throws on 20 000 random byte strings, and every NAL unit it returns is well-formed', () => {
    for (let i = 0; i < 20_000; i += 1) {
      const data = Uint8Array.from({ length: Math.floor(Math.random() * 64) }, () => (Math.random() < 0.5 ? 0 : Math.random() < 0.5 ? 1 : Math.floor(Math.random() * 256)));
      const nals = splitAnnexB(data);
      for (const nal of nals ?? []) {
        expect(nal.length).toBeGreaterThan(0);
        expect(nal[nal.length - 1]).not.toBe(0);
        expect(Buffer.from(nal).indexOf(Buffer.from([0, 0, 1]))).toBe(-1);
      }
    }
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine
});
