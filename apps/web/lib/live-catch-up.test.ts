/**
 * The LL-HLS catch-up rule, table-driven: situations a viewer's player is in, and the playback
 * rate it should run at.
 */
import { describe, expect, it } from 'vitest';
import { CATCH_UP_MAX_RATE, catchUpRate } from './live-catch-up';

describe('catchUpRate', () => {
  const cases: Array<[string, Parameters<typeof catchUpRate>[0], number]> = [
    // The situation the bench measured: 0.3 s above a 0.9 s target, ~1 s buffered (hls.js stays at 1×).
    ['0.3 s behind its target with a second buffered: catches up at 1.15×', { latencySec: 1.2, targetSec: 0.9, bufferAheadSec: 1.03, rate: 1 }, 1.15],
    ['at its target: normal speed', { latencySec: 0.92, targetSec: 0.9, bufferAheadSec: 0.8, rate: 1 }, 1],
    ['0.08 s behind (jitter within a part): does not start', { latencySec: 0.98, targetSec: 0.9, bufferAheadSec: 0.8, rate: 1 }, 1],
    ['already catching up and 0.06 s behind: goes on to the target', { latencySec: 0.96, targetSec: 0.9, bufferAheadSec: 0.8, rate: 1.1 }, 1.1],
    ['catching up and within 0.03 s: stops', { latencySec: 0.92, targetSec: 0.9, bufferAheadSec: 0.8, rate: 1.1 }, 1],
    ['far behind (2 s after a long stall): no faster than the cap', { latencySec: 2.9, targetSec: 0.9, bufferAheadSec: 2.5, rate: 1 }, CATCH_UP_MAX_RATE],
    ['behind but only 0.2 s buffered: plays at 1× rather than stall', { latencySec: 1.5, targetSec: 0.9, bufferAheadSec: 0.2, rate: 1.2 }, 1],
    ['ahead of its target (a seek to the edge): normal speed', { latencySec: 0.5, targetSec: 0.9, bufferAheadSec: 0.4, rate: 1 }, 1],
    ['no latency estimate yet (NaN): normal speed', { latencySec: Number.NaN, targetSec: 0.9, bufferAheadSec: 1, rate: 1 }, 1],
  ];
  it.each(cases)('%s', (_name, input, rate) => {
    expect(catchUpRate(input)).toBe(rate);
  });

  it('converges: a player 0.4 s behind reaches its target within 3 s of playback and then stays at 1×', () => {
    // Simulated at the HLS mode's 250 ms tick: the edge advances in real time, the playhead at the rate.
    let latency = 1.3;
    let rate = 1;
    const target = 0.9;
    let caughtUpAt: number | undefined;
    for (let t = 0; t < 6; t += 0.25) {
      rate = catchUpRate({ latencySec: latency, targetSec: target, bufferAheadSec: latency - 0.2, rate });
      latency -= 0.25 * (rate - 1);
      if (caughtUpAt === undefined && rate === 1) caughtUpAt = t;
    }
    expect(caughtUpAt).toBeLessThanOrEqual(3);
    expect(latency).toBeGreaterThan(target - 0.01);
    expect(latency).toBeLessThan(target + 0.1);
    expect(rate).toBe(1);
  });
});
