import { describe, expect, it } from 'vitest';
import { parseH264Sps, probeH264, probeVp8 } from './codec-probe';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// SPS NAL units written by x264 (ffmpeg testsrc) and by Chrome's OpenH264.
const spsBaseline640x360 = hex('67 42 c0 1e d9 00 a0 2f f9 70 11 00 00 03 00 01 00 00 03 00 3c 0f 16 2e 48');
const spsHigh1280x720 = hex('67 64 00 1f ac d9 40 50 05 bb 01 10 00 00 03 00 10 00 00 03 03 c0 f1 83 19 60');
const spsBaseline1920x1080 = hex('67 42 c0 28 da 01 e0 08 9f 96 10 00 00 03 00 10 00 00 03 03 c8 f1 83 2a');

describe('parseH264Sps', () => {
  it.each([
    ['x264 baseline 640x360', spsBaseline640x360, { width: 640, height: 360 }],
    ['x264 high 1280x720', spsHigh1280x720, { width: 1280, height: 720 }],
    ['baseline 1920x1080 (cropped from 1088)', spsBaseline1920x1080, { width: 1920, height: 1080 }],
    ['truncated', spsBaseline640x360.subarray(0, 4), undefined],
    ['empty', new Uint8Array([0x67]), undefined],
  ])('%s', (_name, nal, expected) => {
    expect(parseH264Sps(nal)).toEqual(expected);
  });
});

describe('probeH264', () => {
  const stapA = (...nals: Buffer[]) => Buffer.concat([Buffer.from([0x18]), ...nals.map((n) => Buffer.concat([Buffer.from([n.length >> 8, n.length & 0xff]), n]))]);
  it.each([
    ['single SPS', spsBaseline640x360, { keyframeStart: true, width: 640, height: 360 }],
    ['STAP-A with SPS+PPS', stapA(spsBaseline640x360, hex('68 ce 3c 80')), { keyframeStart: true, width: 640, height: 360 }],
    ['single PPS', hex('68 ce 3c 80'), { keyframeStart: false }],
    ['IDR FU-A start without SPS', hex('7c 85 88 84'), { keyframeStart: false }],
    ['P-slice', hex('41 9a 02'), { keyframeStart: false }],
    ['STAP-A with a bad length', Buffer.from([0x18, 0xff, 0xff, 0x67]), { keyframeStart: false }],
    ['empty', Buffer.alloc(0), { keyframeStart: false }],
  ])('%s', (_name, payload, expected) => {
    expect(probeH264(payload)).toEqual(expected);
  });
});

describe('probeVp8', () => {
  const keyframe = hex('10 50 02 00 9d 01 2a 80 02 68 01');
  it.each([
    ['key frame, no extension', keyframe, { keyframeStart: true, width: 640, height: 360 }],
    ['key frame with 15-bit picture id', Buffer.concat([hex('90 80 81 23'), keyframe.subarray(1)]), { keyframeStart: true, width: 640, height: 360 }],
    ['interframe', hex('10 51 02 00'), { keyframeStart: false }],
    ['continuation packet', hex('00 50 02 00 9d 01 2a'), { keyframeStart: false }],
    ['second partition', hex('11 50 02 00'), { keyframeStart: false }],
    ['truncated header', hex('90'), { keyframeStart: false }],
  ])('%s', (_name, payload, expected) => {
    expect(probeVp8(payload)).toEqual(expected);
  });
});

/** Writes an H.264 SPS (baseline, 4:2:0, frame_mbs_only) claiming a size in macroblocks and crop offsets. */
function craftSps(widthMbs: number, heightMbs: number, crop: [number, number, number, number] | undefined): Buffer {
  const bits: number[] = [];
  const put = (value: number, n: number) => {
    for (let i = n - 1; i >= 0; i -= 1) bits.push((value >> i) & 1);
  };
  const ue = (value: number) => {
    const v = value + 1;
    const len = Math.floor(Math.log2(v));
    put(0, len);
    put(v, len + 1);
  };
  put(66, 8); // profile_idc baseline
  put(0xc0, 8); // constraint flags
  put(30, 8); // level_idc
  ue(0); // sps id
  ue(0); // log2_max_frame_num_minus4
  ue(2); // pic_order_cnt_type 2
  ue(1); // max_num_ref_frames
  put(0, 1); // gaps
  ue(widthMbs - 1);
  ue(heightMbs - 1);
  put(1, 1); // frame_mbs_only
  put(1, 1); // direct_8x8
  put(crop ? 1 : 0, 1);
  if (crop) crop.forEach((c) => ue(c));
  put(0, 1); // vui
  put(1, 1); // rbsp stop bit
  while (bits.length % 8) bits.push(0);
  const bytes = [0x67];
  for (let i = 0; i < bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8).join(''), 2));
  return Buffer.from(bytes);
}

// A fake SPS once claimed 10×28: the transcoder planned a 10×28 ladder and ffmpeg restarted three
// times. A size no encoder writes is not a size (H.264 level 6.2 tops out at 8192×4320, 139 264
// macroblocks): the probe reports none.
describe('picture sizes an SPS or a VP8 key frame may claim', () => {
  it.each([
    ['640x360 as written by hand', craftSps(40, 23, [0, 0, 0, 4]), { width: 640, height: 360 }],
    ['a 16x16 thumbnail', craftSps(1, 1, undefined), { width: 16, height: 16 }],
    ['10x28 (cropped from 16x32)', craftSps(1, 2, [0, 3, 0, 2]), undefined],
    ['16x8 (cropped from 16x16)', craftSps(1, 1, [0, 0, 0, 4]), undefined],
    ['8208 wide', craftSps(513, 2, undefined), undefined],
    ['8192x8192 (beyond level 6.2\'s frame size)', craftSps(512, 512, undefined), undefined],
  ])('H.264 SPS: %s', (_name, nal, expected) => {
    expect(parseH264Sps(nal)).toEqual(expected);
    expect(probeH264(nal)).toEqual({ keyframeStart: true, ...(expected ?? {}) });
  });

  const vp8Key = (width: number, height: number) => Buffer.from([0x10, 0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a, width & 0xff, width >> 8, height & 0xff, height >> 8]);
  it.each([
    ['640x360', vp8Key(640, 360), { keyframeStart: true, width: 640, height: 360 }],
    ['10x28', vp8Key(10, 28), { keyframeStart: true }],
    ['0x0', vp8Key(0, 0), { keyframeStart: true }],
    ['16383x16383', vp8Key(16383, 16383), { keyframeStart: true }],
  ])('VP8 key frame: %s', (_name, payload, expected) => {
    expect(probeVp8(payload)).toEqual(expected);
  });
});
