/**
 * Frames the live transcoder holds back, against real ffmpeg (test/support/ladder-holdback.ts):
 * the recorded source stepped one frame at a time through the service's ffmpeg command, as plain
 * RTP. One frame of lag is ffmpeg's own: its RTP H.264 input runs a parser that ends an access
 * unit only when the next one begins. The ingest's forward ends each one at once instead
 * (test/integration/forward-frame-holdback.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { measureFrameLags, plainUdp } from '../../../../test/support/ladder-holdback';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
});

describe('the live ladder holds no frame back', () => {
  it('each frame leaves every rung as RTP before the next-but-one source frame arrives', async () => {
    const { lags, stepped, frames, exited } = await measureFrameLags({ audio: false, allowedLag: 1, deliver: plainUdp, cleanups });
    expect(exited).toBe(false);
    // Frame-threaded decoding (ffmpeg's default) kept every rung 3 frames behind its input on 2 cores.
    expect(lags, `frames in − out after each input`).toEqual(lags.map(() => 1));
    expect(stepped).toBe(frames);
  }, 90_000);
});
