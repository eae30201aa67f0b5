import { describe, expect, it } from 'vitest';
import { REPORT_SMOOTHING, SendClock, SNAP_MS } from './send-clock';

const WRAP = 0x1_0000_0000;

describe('SendClock', () => {
  it('dates a frame by the latest frame and the clock rate, backwards and forwards, across the wrap', () => {
    const clock = new SendClock(90_000);
    expect(clock.timeOf(0)).toBeUndefined();
    expect(clock.timestampAt(0)).toBeUndefined();
    clock.observe(WRAP - 4_500, 10_000);
    // A later packet of the same frame (a keyframe burst) does not re-date it.
    clock.observe(WRAP - 4_500, 10_030);
    expect(clock.timeOf(WRAP - 4_500)).toBe(10_000);
    expect(clock.timeOf(4_500)).toBe(10_100);
    expect(clock.timeOf(WRAP - 13_500)).toBe(9_900);
    expect(clock.timestampAt(10_100)).toBe(4_500);
    expect(clock.timestampAt(9_900)).toBe(WRAP - 13_500);
  });

  it('smoothed: frames that leave ±20 ms around their time (a transcoder\'s bursts) move it by under 5 ms', () => {
    const clock = new SendClock(90_000, REPORT_SMOOTHING);
    const jitter = [0, 18, -3, 20, 2, -1, 19, 0, 15, -2, 20, 1];
    const errors: number[] = [];
    for (let n = 0; n < 300; n++) {
      const onTime = 5_000 + (n * 100) / 3;
      clock.observe(n * 3_000, onTime + jitter[n % jitter.length]!);
      // What a report written now would say of this frame, against its mean lateness (~7.4 ms).
      if (n > 30) errors.push(clock.timeOf(n * 3_000)! - onTime - 7.4);
    }
    expect(Math.max(...errors.map(Math.abs))).toBeLessThan(5);
  });

  it('smoothed: follows a lasting change within a second; a jump past SNAP_MS (a new timeline) at once', () => {
    const clock = new SendClock(90_000, REPORT_SMOOTHING);
    let n = 0;
    const frame = (lateMs: number) => {
      clock.observe(n * 3_000, 1_000 + (n * 100) / 3 + lateMs);
      n += 1;
    };
    for (let i = 0; i < 30; i++) frame(0);
    // The path gets 40 ms slower for good: a second (30 frames) later the clock has it.
    for (let i = 0; i < 30; i++) frame(40);
    expect(clock.timeOf((n - 1) * 3_000)! - (1_000 + ((n - 1) * 100) / 3)).toBeGreaterThan(39);
    frame(40 + SNAP_MS + 1);
    expect(clock.timeOf((n - 1) * 3_000)! - (1_000 + ((n - 1) * 100) / 3)).toBe(40 + SNAP_MS + 1);
  });
});
