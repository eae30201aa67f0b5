import { describe, expect, it } from 'vitest';
import { KeyframeCadence } from './keyframe-cadence';

const rung = { name: '180p' };

describe('KeyframeCadence', () => {
  it('predicts the next keyframe from the median interval, unmoved by one late keyframe', () => {
    const cadence = new KeyframeCadence();
    // Every 500 ms, one arriving 180 ms late (a loaded transcoder), the next one back on the clock.
    for (const [at, ts] of [[0, 0], [500, 45_000], [1000, 90_000], [1680, 135_000], [2000, 180_000]] as const) cadence.keyframe(rung, at, ts);
    expect(cadence.interval(rung)).toBe(500);
    expect(cadence.next(rung, 2100)).toBe(2500);
  });

  it('knows nothing before two intervals, and counts a keyframe\'s packets once (same timestamp, or within 100 ms)', () => {
    const cadence = new KeyframeCadence();
    cadence.keyframe(rung, 0, 0);
    cadence.keyframe(rung, 2, 0);
    cadence.keyframe(rung, 500, 45_000);
    cadence.keyframe(rung, 530, 45_003);
    expect(cadence.next(rung, 600)).toBeUndefined();
    cadence.keyframe(rung, 1000, 90_000);
    expect(cadence.next(rung, 1100)).toBe(1500);
  });

  it('a keyframe overdue says "any moment" (a time in the past); several intervals overdue, no prediction (stalled)', () => {
    const cadence = new KeyframeCadence();
    for (const [at, ts] of [[0, 0], [500, 45_000], [1000, 90_000]] as const) cadence.keyframe(rung, at, ts);
    expect(cadence.next(rung, 1600)).toBe(1500);
    expect(cadence.next(rung, 3100)).toBeUndefined();
    expect(cadence.next({ name: 'other' }, 1600)).toBeUndefined();
  });
});
