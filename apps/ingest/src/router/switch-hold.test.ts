import { describe, expect, it } from 'vitest';
import { HOLD_FROM_BACKLOG_MS, holdStartAt, KEYFRAME_MARGIN_MS, KEYFRAME_ROOM_MS, switchNotBefore } from './switch-hold';

const base = { now: 1000, latestBacklogMs: 150, sendKbps: 1300, deliveredKbps: 550 };

describe('holdStartAt: the origin a viewer leaves is held once what is on its path lasts until the target\'s keyframe', () => {
  it.each([
    // [what, queue on the path, the target's keyframe in, hold starts in]
    ['a path holding more than the wait: at once', 650, 300, 0],
    ['a keyframe already late: at once once the margin is on the path', 200, -50, 0],
    // 1000 + 480 + 100 − (1000 + 200) = 380 short; the queue grows 1300 / (550 × 1.1) − 1 = 1.149 ms a ms.
    ['a shallow queue and the keyframe 480 ms away: later, when the queue has grown to last', 200, 480, 380 / 2.149],
  ] as const)('%s', (_what, queueMs, keyframeInMs, startInMs) => {
    const startAt = holdStartAt({ ...base, queueMs, nextKeyframeAt: base.now + keyframeInMs });
    expect(startAt! - base.now).toBeCloseTo(startInMs, 0);
    // Sending until then, the path holds exactly up to the keyframe and its margin.
    const growth = base.sendKbps / (base.deliveredKbps * 1.1) - 1;
    if (startInMs > 0) expect(startAt! + queueMs + (startAt! - base.now) * growth).toBeCloseTo(base.now + keyframeInMs + KEYFRAME_MARGIN_MS, 0);
  });

  it('without a prediction (a simulcast layer, a stalled rung): from a backlog of HOLD_FROM_BACKLOG_MS, as before', () => {
    expect(holdStartAt({ ...base, queueMs: 900, nextKeyframeAt: undefined })).toBeUndefined();
    expect(holdStartAt({ ...base, latestBacklogMs: HOLD_FROM_BACKLOG_MS, queueMs: 900, nextKeyframeAt: undefined })).toBe(base.now);
  });

  it('with the delivery unknown, the queue is taken to grow as fast as time passes', () => {
    expect(holdStartAt({ ...base, deliveredKbps: undefined, queueMs: 100, nextKeyframeAt: base.now + 400 })! - base.now).toBeCloseTo(200, 0);
  });
});

describe('switchNotBefore: the target\'s keyframe joins a queue that has room', () => {
  it('a hold on a deep queue passes over keyframes for KEYFRAME_ROOM_MS; on a shallow one it switches at the first', () => {
    expect(switchNotBefore(1000, 650)).toBe(1000 + KEYFRAME_ROOM_MS);
    expect(switchNotBefore(1000, 250)).toBeUndefined();
    expect(switchNotBefore(undefined, 650)).toBeUndefined();
  });
});
