import { describe, expect, it } from 'vitest';
import { h264CodecString, h264ProfileLevelId, readH264Sps } from './h264-sps';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** Writes an SPS the way an encoder does (§7.3.2.1.1), so tests can ask for any field value. */
function buildSps(fields: {
  profileIdc: number;
  constraintFlags?: number;
  levelIdc: number;
  widthMbs: number;
  heightMapUnits: number;
  frameMbsOnly?: boolean;
  crop?: [number, number, number, number];
  chromaFormatIdc?: number;
  pocType?: number;
}): Uint8Array {
  const bits: number[] = [];
  const put = (value: number, n: number) => {
    for (let i = n - 1; i >= 0; i -= 1) bits.push(Math.floor(value / 2 ** i) % 2);
  };
  const ue = (value: number) => {
    const v = value + 1;
    const n = Math.floor(Math.log2(v));
    put(0, n);
    put(v, n + 1);
  };
  put(fields.profileIdc, 8);
  put(fields.constraintFlags ?? 0, 8);
  put(fields.levelIdc, 8);
  ue(0); // seq_parameter_set_id
  if (fields.profileIdc === 100) {
    ue(fields.chromaFormatIdc ?? 1);
    if (fields.chromaFormatIdc === 3) put(0, 1); // separate_colour_plane_flag
    ue(0);
    ue(0);
    put(0, 1);
    put(0, 1); // no scaling matrix
  }
  ue(0); // log2_max_frame_num_minus4
  const pocType = fields.pocType ?? 2;
  ue(pocType);
  if (pocType === 0) ue(2);
  ue(1); // max_num_ref_frames
  put(0, 1);
  ue(fields.widthMbs - 1);
  ue(fields.heightMapUnits - 1);
  put(fields.frameMbsOnly === false ? 0 : 1, 1);
  if (fields.frameMbsOnly === false) put(0, 1);
  put(1, 1); // direct_8x8_inference_flag
  if (fields.crop) {
    put(1, 1);
    for (const c of fields.crop) ue(c);
  } else put(0, 1);
  put(0, 1); // vui_parameters_present_flag
  put(1, 1); // rbsp_stop_one_bit
  while (bits.length % 8) bits.push(0);
  const rbsp: number[] = [];
  for (let i = 0; i < bits.length; i += 8) rbsp.push(parseInt(bits.slice(i, i + 8).join(''), 2));
  // Emulation prevention (§7.4.1): 00 00 0x with x ≤ 3 gets a 03 between.
  const out = [0x67];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

describe('readH264Sps', () => {
  it.each([
    ['x264 High 3.1, 320×180 (fixture)', '6764001facb40a0cfcf80880000003008000001e478c1950', { profileIdc: 100, constraintFlags: 0, levelIdc: 31, width: 320, height: 180 }, '64001f'],
    ['x264 Constrained Baseline 3.0, 320×180 (fixture)', '6742c01eda05067e7c0440000003004000000f23c58ba8', { profileIdc: 66, constraintFlags: 0xc0, levelIdc: 30, width: 320, height: 180 }, '42c01e'],
    ['x264 High 3.1, 1280×720', '67 64 00 1f ac d9 40 50 05 bb 01 10 00 00 03 00 10 00 00 03 03 c0 f1 83 19 60', { profileIdc: 100, constraintFlags: 0, levelIdc: 31, width: 1280, height: 720 }, '64001f'],
    ['Baseline 4.0, 1920×1080 (cropped from 1088)', '67 42 c0 28 da 01 e0 08 9f 96 10 00 00 03 00 10 00 00 03 03 c8 f1 83 2a', { profileIdc: 66, constraintFlags: 0xc0, levelIdc: 40, width: 1920, height: 1080 }, '42c028'],
  ])('%s', (_name, nal, expected, profileLevelId) => {
    const sps = readH264Sps(hex(nal));
    expect(sps).toEqual(expected);
    expect(h264ProfileLevelId(sps!)).toBe(profileLevelId);
    expect(h264CodecString(sps!)).toBe(`avc1.${profileLevelId}`);
  });

  type SpsFields = Parameters<typeof buildSps>[0];
  it.each<[string, SpsFields, number, number]>([
    ['CB 640×360', { profileIdc: 66, constraintFlags: 0xe0, levelIdc: 30, widthMbs: 40, heightMapUnits: 23, crop: [0, 0, 0, 4] }, 640, 360],
    ['High 4:2:0 1920×1080', { profileIdc: 100, levelIdc: 40, widthMbs: 120, heightMapUnits: 68, crop: [0, 0, 0, 4], pocType: 0 }, 1920, 1080],
    ['High 4:4:4 crop units of 1', { profileIdc: 100, levelIdc: 40, widthMbs: 20, heightMapUnits: 10, chromaFormatIdc: 3, crop: [1, 1, 1, 1] }, 318, 158],
    ['interlaced (field pairs)', { profileIdc: 77, levelIdc: 30, widthMbs: 45, heightMapUnits: 18, frameMbsOnly: false }, 720, 576],
    ['level 6.2 at the size bound 8192×4352', { profileIdc: 100, levelIdc: 62, widthMbs: 512, heightMapUnits: 272 }, 8192, 4352],
  ])('round trip: %s', (_name, fields, width, height) => {
    const sps = readH264Sps(buildSps(fields));
    expect(sps).toEqual({ profileIdc: fields.profileIdc, constraintFlags: fields.constraintFlags ?? 0, levelIdc: fields.levelIdc, width, height });
  });

  it.each([
    ['wider than 8192', buildSps({ profileIdc: 66, levelIdc: 62, widthMbs: 513, heightMapUnits: 10 })],
    ['more macroblocks than level 6.2 allows', buildSps({ profileIdc: 66, levelIdc: 62, widthMbs: 512, heightMapUnits: 273 })],
    ['a 2^31-macroblock width', buildSps({ profileIdc: 66, levelIdc: 62, widthMbs: 2 ** 31, heightMapUnits: 1 })],
    ['cropped to nothing', buildSps({ profileIdc: 66, levelIdc: 30, widthMbs: 2, heightMapUnits: 2, crop: [8, 8, 0, 0] })],
    ['chroma_format_idc 7', buildSps({ profileIdc: 100, levelIdc: 30, widthMbs: 2, heightMapUnits: 2, chromaFormatIdc: 7 })],
    ['pic_order_cnt_type 3', buildSps({ profileIdc: 66, levelIdc: 30, widthMbs: 2, heightMapUnits: 2, pocType: 3 })],
    ['a PPS', hex('68ef0fcb')],
    ['truncated', hex('6764001fac')],
    ['header only', hex('67')],
    ['empty', new Uint8Array(0)],
    ['8 KiB', Uint8Array.from({ length: 8192 }, (_, i) => (i === 0 ? 0x67 : 0xff))],
  ])('refuses %s', (_name, nal) => {
    expect(readH264Sps(nal)).toBeUndefined();
  });

  it('honours tighter limits', () => {
    const nal = hex('67 64 00 1f ac d9 40 50 05 bb 01 10 00 00 03 00 10 00 00 03 03 c0 f1 83 19 60');
    expect(readH264Sps(nal, { maxDimension: 1279 })).toBeUndefined();
    expect(readH264Sps(nal, { maxMacroblocks: 3599 })).toBeUndefined();
    expect(readH264Sps(nal, { maxDimension: 1280, maxMacroblocks: 3600 })).toMatchObject({ width: 1280, height: 720 });
  });

  it('never throws and never reports a size past the bounds on 20 000 corrupted SPSs', () => {
    const seeds = [hex('6764001facb40a0cfcf80880000003008000001e478c1950'), hex('6742c01eda05067e7c0440000003004000000f23c58ba8')];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let parsed = 0;
    for (let i = 0; i < 20_000; i += 1) {
      const base = seeds[i % 2]!;
      const nal = i % 10 === 0 ? Uint8Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)) : Uint8Array.from(base);
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips -= 1) nal[1 + Math.floor(random() * (nal.length - 1))] = Math.floor(random() * 256);
      nal[0] = 0x67;
      const sps = readH264Sps(i % 3 === 0 ? nal.subarray(0, Math.floor(random() * nal.length)) : nal);
      if (!sps) continue;
      parsed += 1;
      expect(sps.width).toBeGreaterThan(0);
      expect(sps.width).toBeLessThanOrEqual(8192);
      expect(sps.height).toBeLessThanOrEqual(8192);
      expect(Math.ceil(sps.width / 16) * Math.ceil(sps.height / 16)).toBeLessThanOrEqual(139_264);
    }
    // Many corruptions leave a readable SPS: the fuzz reaches the size checks.
    expect(parsed).toBeGreaterThan(1000);
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine
});
