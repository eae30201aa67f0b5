import { describe, expect, it } from 'vitest';
import { CanaryLatencyTracker, canaryBaseline, mergeWindows, summarizeCanaryStep, type CanaryFrame } from './fanout-canary-latency';

/** `count` frames at 30 fps from display time `t0`, media clock from `rtp0`, `latency` ms added to display. */
function frames(count: number, { t0 = 1_000_000, rtp0 = 1000, latency = 0, presented0 = 1 } = {}): CanaryFrame[] {
  return Array.from({ length: count }, (_, i) => ({
    display: t0 + i * (1000 / 30) + latency,
    rtp: (rtp0 + i * 3000) >>> 0,
    presented: presented0 + i,
    receive: t0 + i * (1000 / 30) + latency - 20,
  }));
}

describe('CanaryLatencyTracker', () => {
  it('reads steady frames as no latency change, and a later 40 ms delay as a 40 ms rise', () => {
    const tracker = new CanaryLatencyTracker();
    const base = tracker.window(frames(90), 1_003_000);
    expect(base.latencies.every((l) => Math.abs(l) < 1e-6)).toBe(true);
    const later = tracker.window(frames(90, { t0: 1_003_000, rtp0: 1000 + 90 * 3000, latency: 40, presented0: 91 }), 1_006_100);
    const step = summarizeCanaryStep(later, canaryBaseline(base));
    expect(step.riseP50).toBeCloseTo(40, 5);
    expect(step.arrivalRiseP50).toBeCloseTo(40, 5);
    expect(step.freezes).toBe(0);
    expect(step.missedCallbacks).toBe(0);
  });

  it('follows the 32-bit RTP timestamp across its wrap without a jump', () => {
    const tracker = new CanaryLatencyTracker();
    const w = tracker.window(frames(60, { rtp0: 0xffffffff - 30 * 3000 }), 1_002_100);
    expect(Math.max(...w.latencies.map(Math.abs))).toBeLessThan(1e-6);
    expect(w.discontinuities).toBe(0);
  });

  it('rebases a media-time jump while frames keep their pace (clip loop, takeover) instead of reading it as latency', () => {
    const tracker = new CanaryLatencyTracker();
    const first = frames(30);
    const jumped = frames(30, { t0: 1_001_000, rtp0: 1000 + 30 * 3000 + 90_000 * 10, presented0: 31 });
    const w = tracker.window([...first, ...jumped], 1_002_100);
    expect(w.discontinuities).toBe(1);
    expect(Math.max(...w.latencies.map(Math.abs))).toBeLessThan(40);
  });

  it('counts a gap over the threshold as a freeze once, also when it is still open at the end of a window', () => {
    const tracker = new CanaryLatencyTracker(500);
    const before = frames(30);
    const w1 = tracker.window(before, before.at(-1)!.display + 700); // stalled 700 ms at the window's end
    expect(w1.freezes).toHaveLength(1);
    expect(w1.maxGapMs).toBeGreaterThanOrEqual(700);
    const after = frames(30, { t0: before.at(-1)!.display + 900, rtp0: 1000 + 57 * 3000, presented0: 31 });
    const w2 = tracker.window(after, after.at(-1)!.display + 10);
    expect(w2.freezes).toHaveLength(0); // the same stall, already counted
    expect(mergeWindows([w1, w2]).freezes).toHaveLength(1);
  });

  it('counts frames the compositor got without a callback', () => {
    const tracker = new CanaryLatencyTracker();
    const list = frames(10);
    list[5] = { ...list[5]!, presented: list[5]!.presented + 3 };
    for (let i = 6; i < list.length; i += 1) list[i] = { ...list[i]!, presented: list[i]!.presented + 3 };
    expect(tracker.window(list, list.at(-1)!.display + 10).missedCallbacks).toBe(3);
  });
});
