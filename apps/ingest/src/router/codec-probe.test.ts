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
