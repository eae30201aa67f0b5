import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE, parseProfile, PASSTHROUGH_PROFILE } from './profile';

const rung = { name: '720p', width: 1280, height: 720, videoKbps: 2800 };

describe('parseProfile', () => {
  it.each([
    ['an empty ladder', { name: 'p', rungs: [] }, 'rungs: the ladder is empty'],
    ['duplicate rung names', { name: 'p', rungs: [rung, { ...rung, width: 640, height: 360 }] }, 'rungs.1.name: duplicate rung name "720p"'],
    ['a rung named like the audio rendition', { name: 'p', rungs: [{ ...rung, name: 'audio' }] }, 'rungs.0.name: "audio" is the name of the stream\'s audio rendition'],
    ['an odd width', { name: 'p', rungs: [{ ...rung, width: 1279 }] }, 'rungs.0.width: width must be even'],
    ['an odd height', { name: 'p', rungs: [{ ...rung, height: 721 }] }, 'rungs.0.height: height must be even'],
    ['a tiny size', { name: 'p', rungs: [{ ...rung, width: 8 }] }, 'rungs.0.width: width must be at least 16'],
    ['a bitrate too low', { name: 'p', rungs: [{ ...rung, videoKbps: 50 }] }, 'rungs.0.videoKbps: videoKbps must be at least 100'],
    ['a bitrate too high', { name: 'p', rungs: [{ ...rung, videoKbps: 90_000 }] }, 'rungs.0.videoKbps: videoKbps must be at most 50000'],
    ['an audio bitrate out of range', { name: 'p', audioKbps: 8, rungs: [rung] }, 'audioKbps: audioKbps must be at least 32'],
    ['an unknown preset', { name: 'p', rungs: [{ ...rung, preset: 'warp' }] }, 'rungs.0.preset: preset must be one of ultrafast'],
    ['a name with spaces', { name: 'my ladder', rungs: [rung] }, 'name: may contain only lower-case letters'],
    ['an unknown field', { name: 'p', rungs: [rung], crf: 23 }, 'profile: Unrecognized key'],
    ['a passthrough with two rungs', { name: 'p', mode: 'passthrough', rungs: [rung, { ...rung, name: 'b' }] }, 'rungs: a passthrough profile has at most one rung'],
    ['a GOP too long', { name: 'p', gopSeconds: 30, rungs: [rung] }, 'gopSeconds: gopSeconds must be at most 10'],
  ])('rejects %s', (_name, value, message) => {
    let error: unknown;
    try {
      parseProfile(value);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'invalid_profile', status: 400 });
    expect((error as Error).message).toContain(message);
  });

  it('lists every problem, not just the first', () => {
    expect(() => parseProfile({ name: 'p', rungs: [{ ...rung, width: 1279, height: 721 }] })).toThrow(/width must be even.*height must be even/);
  });

  it('fills defaults', () => {
    expect(parseProfile({ name: 'p', rungs: [rung] })).toEqual({ name: 'p', mode: 'transcode', audioKbps: 128, gopSeconds: 1, rungs: [{ ...rung, maxFps: 30, preset: 'veryfast' }] });
  });

  it('has the built-in ladders the design asks for', () => {
    expect(DEFAULT_PROFILE.rungs.map((r) => `${r.width}x${r.height}`)).toEqual(['1280x720', '854x480', '640x360']);
    expect(DEFAULT_PROFILE.gopSeconds).toBe(1);
    expect(PASSTHROUGH_PROFILE.mode).toBe('passthrough');
  });
});
