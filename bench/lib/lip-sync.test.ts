import { describe, expect, it } from 'vitest';
import { lipSyncOffset, meanHold } from './lip-sync';

const whep = (glassToGlassP50: number | null, audioJitterBufferMs: number | null | undefined) => ({
  glassToGlass: { p50: glassToGlassP50 },
  viewer: { audio: audioJitterBufferMs === undefined ? null : { jitterBufferMs: audioJitterBufferMs } },
});

describe('lipSyncOffset', () => {
  it('is the video\'s extra delay on the rendition less the audio\'s (the player holding sound back)', () => {
    // The bench before the sender reports were corrected: video 137 ms later, the audio not held back.
    expect(lipSyncOffset(whep(52.4, 47.5), whep(188.9, 56.2))).toEqual({ videoMs: 136.5, audioMs: 8.7, audioHoldMs: 0, offsetMs: 127.8 });
    // A player that holds the sound back as long as the video is late: in sync.
    expect(lipSyncOffset(whep(50, 40), whep(170, 160))).toEqual({ videoMs: 120, audioMs: 120, audioHoldMs: 0, offsetMs: 0 });
  });

  it('counts the ingest holding the rendition viewer\'s audio back by the transcode', () => {
    expect(lipSyncOffset(whep(50, 40), whep(170, 45), 110)).toEqual({ videoMs: 120, audioMs: 115, audioHoldMs: 110, offsetMs: 5 });
    // The hold as the viewer's layer resource gave it at both ends of the window.
    expect(lipSyncOffset(whep(50, 40), whep(170, 45), meanHold({ start: 100, end: 120 }))?.offsetMs).toBe(5);
    expect(meanHold(undefined)).toBe(0);
  });

  it('has no figure without audio or without frames read', () => {
    expect(lipSyncOffset(whep(50, 40), whep(170, undefined))).toBeNull();
    expect(lipSyncOffset(whep(null, 40), whep(170, 160))).toBeNull();
    expect(lipSyncOffset(whep(50, null), whep(170, 160))).toBeNull();
  });
});
