import { describe, expect, it } from 'vitest';
import { planRenditions } from '../ladder/plan-renditions';
import { DEFAULT_PROFILE, PASSTHROUGH_PROFILE } from '../ladder/profile';
import { announcementFor } from './rendition-output';

const source = { hasVideo: true, hasAudio: true, videoCodec: 'H264', width: 1280, height: 720, fps: 30 };

describe('announcementFor', () => {
  it('announces every encoded rung at its planned size, bitrate and rate, with the audio', () => {
    expect(announcementFor(planRenditions(DEFAULT_PROFILE, source), source)).toEqual({
      renditions: [
        { name: '720p', width: 1280, height: 720, videoKbps: 2800, frameRate: 30 },
        { name: '480p', width: 854, height: 480, videoKbps: 1400, frameRate: 30 },
        { name: '360p', width: 640, height: 360, videoKbps: 800, frameRate: 30 },
      ],
      audio: true,
    });
  });

  it('uses the box while the source size is unknown, and announces nothing for a copied source', () => {
    const blind = { ...source, width: undefined, height: undefined, hasAudio: false };
    expect(announcementFor(planRenditions(DEFAULT_PROFILE, blind), blind)?.renditions[1]).toEqual({ name: '480p', width: 854, height: 480, videoKbps: 1400, frameRate: 30 });
    expect(announcementFor(planRenditions(DEFAULT_PROFILE, blind), blind)?.audio).toBe(false);
    expect(announcementFor(planRenditions(PASSTHROUGH_PROFILE, source), source)).toBeUndefined();
  });
});
