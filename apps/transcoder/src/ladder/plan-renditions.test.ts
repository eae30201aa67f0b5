import { describe, expect, it } from 'vitest';
import { planRenditions, type SourceInfo } from './plan-renditions';
import { DEFAULT_PROFILE, PASSTHROUGH_PROFILE } from './profile';

const src = (width: number, height: number, fps = 30): SourceInfo => ({ hasVideo: true, hasAudio: true, width, height, fps });
const sizes = (source: SourceInfo) => planRenditions(DEFAULT_PROFILE, source).map((r) => `${r.id}:${r.width}x${r.height}@${r.videoKbps}`);

describe('planRenditions (default ladder, never upscale)', () => {
  it.each([
    ['1080p source keeps the whole ladder', src(1920, 1080), ['720p:1280x720@2800', '480p:854x480@1400', '360p:640x360@800']],
    ['720p source keeps the whole ladder, top rung at source size', src(1280, 720), ['720p:1280x720@2800', '480p:854x480@1400', '360p:640x360@800']],
    ['540p source: the 720p rung is capped at the source size, bitrate scaled by pixels', src(960, 540), ['720p:960x540@1575', '480p:854x480@1400', '360p:640x360@800']],
    ['480p source drops 720p', src(854, 480), ['480p:854x480@1400', '360p:640x360@800']],
    ['500p source (within 10 % of 480p) drops 720p', src(888, 500), ['480p:852x480@1397', '360p:640x360@800']],
    ['360p source keeps 360p and gets a 180p below it', src(640, 360), ['360p:640x360@800', '180p:320x180@200']],
    ['240p source: the 360p rung capped at the source, and a 120p below it', src(426, 240), ['360p:426x240@355', '120p:214x120@100']],
    ['portrait 360x640 source gets a portrait 180p below it', src(360, 640), ['360p:360x640@800', '180p:180x320@200']],
    ['just under 240p: one rung', src(424, 238), ['360p:424x238@350']],
    ['4:3 720p source keeps its aspect, bitrate scaled to the pixels', src(960, 720), ['720p:960x720@2100', '480p:640x480@1049', '360p:480x360@600']],
    ['portrait 720x1280 source gets portrait rungs', src(720, 1280), ['720p:720x1280@2800', '480p:480x854@1400', '360p:360x640@800']],
  ])('%s', (_name, source, expected) => {
    expect(sizes(source)).toEqual(expected);
  });

  it('caps the frame rate only when the source is faster than the rung', () => {
    expect(planRenditions(DEFAULT_PROFILE, src(1280, 720, 60)).map((r) => r.fpsCap)).toEqual([30, 30, 30]);
    expect(planRenditions(DEFAULT_PROFILE, src(1280, 720, 25)).map((r) => [r.fpsCap, r.frameRate])).toEqual([[undefined, 25], [undefined, 25], [undefined, 25]]);
  });

  it('keeps every rung as a box when the source size is unknown', () => {
    const plan = planRenditions(DEFAULT_PROFILE, { hasVideo: true, hasAudio: true });
    expect(plan.map((r) => [r.id, r.width, r.box])).toEqual([
      ['720p', undefined, { width: 1280, height: 720 }],
      ['480p', undefined, { width: 854, height: 480 }],
      ['360p', undefined, { width: 640, height: 360 }],
    ]);
  });

  it('announces video + audio bandwidth, and no audio bitrate for a source without audio', () => {
    expect(planRenditions(DEFAULT_PROFILE, src(1280, 720))[0]!.bandwidth).toBe((2800 + 128) * 1000);
    expect(planRenditions(DEFAULT_PROFILE, { ...src(1280, 720), hasAudio: false })[0]!.bandwidth).toBe(2800 * 1000);
  });

  it('passthrough yields one copied rendition at the source size', () => {
    expect(planRenditions(PASSTHROUGH_PROFILE, src(1280, 720))).toEqual([expect.objectContaining({ id: 'source', video: 'copy', width: 1280, height: 720 })]);
  });
});

// The ingest reports a source size read from the stream (an SPS anyone can write): 10×28 planned a
// 10×28 ladder and ffmpeg restarted three times. An implausible size is planned as unknown.
describe('planRenditions with an implausible source size', () => {
  it.each([
    ['10x28', src(10, 28)],
    ['8x8', src(8, 8)],
    ['9000x720', src(9000, 720)],
    ['8192x8192', src(8192, 8192)],
  ])('%s → the boxes of an unknown size', (_name, source) => {
    expect(planRenditions(DEFAULT_PROFILE, source).map((r) => [r.id, r.width, r.box?.height])).toEqual([
      ['720p', undefined, 720],
      ['480p', undefined, 480],
      ['360p', undefined, 360],
    ]);
  });
  it('a small but real source (160x90) is still planned at its size', () => {
    expect(sizes(src(160, 90))).toEqual(['360p:160x90@100']);
  });
});
