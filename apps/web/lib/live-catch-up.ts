/**
 * Holding an LL-HLS player at its target latency (pure; the HLS mode applies it to the video's
 * playbackRate every tick).
 *
 * A player starts at `liveEdge − target`, but the edge moves on while the first parts load and
 * decode, and every stall adds its length to the distance: without catching up, the viewer stays
 * that much further behind for the rest of the session. hls.js's own catch-up only plays faster
 * while more than one second is buffered ahead (latency-controller.ts, `forwardBufferLength > 1`),
 * which a player held under a second behind the edge never has: measured here, the site player
 * sat 0.3 s above its 0.9 s target for whole sessions (bench/results/summary.md, "HLS breakdown").
 *
 * So this one speeds up as long as a few parts are buffered, by at most a quarter (speech stays
 * intelligible; the browser keeps the pitch), proportionally to the distance, and stops just
 * above the target so the rate does not flap around it.
 */

export interface CatchUpInput {
  /** How far behind the live edge playback is (hls.js `latency`), s. */
  latencySec: number;
  /** Where it should be (hls.js `targetLatency`: the configured distance plus stall allowance), s. */
  targetSec: number;
  /** Media buffered ahead of the playhead, s. */
  bufferAheadSec: number;
  /** The playback rate now. */
  rate: number;
}

/** Start catching up this far above the target, s (half a 200 ms part: less is jitter). */
export const CATCH_UP_START_SEC = 0.1;
/** Stop this close to the target, s. */
export const CATCH_UP_STOP_SEC = 0.03;
/** Never run the buffer below this while catching up, s: a stall costs more than the latency it saves. */
export const CATCH_UP_MIN_BUFFER_SEC = 0.3;
/** Slower than this, the last tenth of a second takes seconds to make up. */
export const CATCH_UP_MIN_RATE = 1.1;
export const CATCH_UP_MAX_RATE = 1.25;
/** Extra speed per second of distance: 0.3 s behind → 1.15×, caught up in about 2 s. */
const GAIN = 0.5;

/** The playback rate for this moment: 1, or a little faster while behind the target with media to spare. */
export function catchUpRate({ latencySec, targetSec, bufferAheadSec, rate }: CatchUpInput): number {
  if (![latencySec, targetSec, bufferAheadSec].every(Number.isFinite)) return 1;
  const distance = latencySec - targetSec;
  const catchingUp = rate > 1;
  if (bufferAheadSec < CATCH_UP_MIN_BUFFER_SEC) return 1;
  if (distance <= (catchingUp ? CATCH_UP_STOP_SEC : CATCH_UP_START_SEC)) return 1;
  // Steps of 0.05: fewer rate changes (each one costs the browser an audio resampler reset).
  const proportional = Math.round((1 + GAIN * distance) * 20) / 20;
  return Math.min(CATCH_UP_MAX_RATE, Math.max(CATCH_UP_MIN_RATE, proportional));
}
