/**
 * What a person watching would notice, read from a page: the picture size, frames advancing,
 * and sound coming out.
 */
import type { Page } from 'playwright-core';
import { pollUntil } from './poll';

/** Frames decoded so far by the first <video> on the page (0 when none). */
export function decodedFrames(page: Page, selector = 'video'): Promise<number> {
  return page.$eval(selector, (video) => (video as HTMLVideoElement).getVideoPlaybackQuality().totalVideoFrames).catch(() => 0);
}

export interface Playback {
  width: number;
  height: number;
  framesAdvanced: number;
  /** Time from the call until frames were seen advancing, ms. */
  waitedMs: number;
}

/**
 * Waits until the video shows a picture (videoWidth > 0) and at least `minFrames` new frames
 * have been decoded while we watched.
 */
export async function waitForAdvancingVideo(page: Page, { selector = 'video', minFrames = 15, timeoutMs = 20_000 } = {}): Promise<Playback> {
  const started = Date.now();
  const first = await pollUntil('a video picture', async () => {
    const size = await page.$eval(selector, (v) => [(v as HTMLVideoElement).videoWidth, (v as HTMLVideoElement).videoHeight] as const).catch(() => [0, 0] as const);
    return size[0] > 0 ? { size, frames: await decodedFrames(page, selector) } : undefined;
  }, { timeoutMs });
  const advanced = await pollUntil(`${minFrames} frames to advance`, async () => {
    const now = await decodedFrames(page, selector);
    return now - first.frames >= minFrames ? now - first.frames : undefined;
  }, { timeoutMs: Math.max(5_000, timeoutMs - (Date.now() - started)) });
  return { width: first.size[0], height: first.size[1], framesAdvanced: advanced, waitedMs: Date.now() - started };
}

/**
 * RMS level (0…1) of the audio in the video element's MediaStream, measured through Web Audio
 * over ~300 ms. Silence is ~0; the test tones publishers send are > 0.05.
 */
export function audioLevel(page: Page, selector = 'video'): Promise<number> {
  return page.$eval(selector, async (element) => {
    const stream = (element as HTMLVideoElement).srcObject as MediaStream | null;
    if (!stream || stream.getAudioTracks().length === 0) return 0;
    const context = new AudioContext();
    await context.resume();
    const source = context.createMediaStreamSource(new MediaStream(stream.getAudioTracks()));
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let peak = 0;
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 50));
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      peak = Math.max(peak, Math.sqrt(sum / samples.length));
    }
    await context.close();
    return peak;
  });
}
