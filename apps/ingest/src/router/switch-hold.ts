/**
 * When a viewer moved down off a congested path stops receiving the origin it leaves (pure; the
 * hold itself is ViewerState.hold, applied per packet in fan-out.ts).
 *
 * The picture goes on while frames of the origin are on their way, and starts again when the
 * target's keyframe has come through. Both share the path's queue, so:
 * - holding too early leaves the queue empty before the target's keyframe is even made: the
 *   picture stands still for the rest of the wait (a 400 ms backlog was the threshold before:
 *   freezes of 400 ms p50, 550–583 max in bench/renditions.ts, because the keyframe came on the
 *   rung's clock up to 0.5 s later);
 * - holding too late fills the queue past what the link holds (a home router's: 600 ms in the
 *   e2e test): the origin's frames and then the target's keyframe are dropped, and the picture
 *   waits for the keyframe after.
 * So the hold starts when what is on the way lasts until the target's next keyframe (predicted
 * from its cadence, keyframe-cadence.ts) has come, with a margin for a transcoder that delivers
 * it late: now + queue(now) ≥ keyframe + margin. The queue grows while the origin is still sent,
 * by (sent / delivered − 1) per ms, so the moment is computed, not waited for report by report.
 * Then the keyframe goes out behind what the path already holds, and the freeze is about its
 * own transmission (~100 ms for a 180p rung's keyframe at 600 kbit/s).
 *
 * Without a prediction (a simulcast layer, whose keyframe is asked for; a rung that stalled) the
 * hold starts at a backlog of HOLD_FROM_BACKLOG_MS, as before.
 */

/** The target's keyframe may come this much after its predicted arrival without a freeze, ms (a loaded transcoder: ±50 ms). */
export const KEYFRAME_MARGIN_MS = 100;
/** Without a prediction: the latest report's backlog from which the hold starts, ms (the 600 ms queue overflowed at ~550). */
export const HOLD_FROM_BACKLOG_MS = 400;
/**
 * A hold that starts on a queue this deep (LinkState.queueMs, ms) may be at a router's limit: the
 * target's keyframe is taken only once the hold has drained KEYFRAME_ROOM_MS of it. A keyframe
 * sent into the full queue was dropped there (a 180p keyframe is ~6–8 packets; a full token
 * bucket frees one every ~16 ms at 600 kbit/s) and the picture waited for the next one, 0.5 s
 * later (freeze 383 ms); waiting lets the origin's queued frames play meanwhile.
 */
export const DEEP_QUEUE_MS = 400;
/** A 180p keyframe's transmission at 600 kbit/s (~100 ms) and a little more, ms. */
export const KEYFRAME_ROOM_MS = 150;
/** The queue's growth per ms sent when the path's delivery is not known yet (a path carrying half of what it is sent). */
const UNKNOWN_GROWTH = 1;

export interface HoldTiming {
  now: number;
  /** The path's queue now, ms (LinkState.queueMs); undefined: unknown. */
  queueMs: number | undefined;
  /** The latest report's backlog, ms (LinkState.latestBacklogMs). */
  latestBacklogMs: number | undefined;
  /** What we send the viewer, kbit/s (every kind). */
  sendKbps: number;
  /** What the path delivers of the video, kbit/s (undefined: unknown). */
  deliveredKbps: number | undefined;
  /** When the target's next keyframe should arrive at the ingest (router clock); undefined: no prediction. */
  nextKeyframeAt: number | undefined;
}

/** When the hold should start (router clock; ≤ now: at once), or undefined: not yet (asked again with the next report). */
export function holdStartAt(t: HoldTiming): number | undefined {
  if (t.nextKeyframeAt === undefined || t.queueMs === undefined) {
    return t.latestBacklogMs !== undefined && t.latestBacklogMs >= HOLD_FROM_BACKLOG_MS ? t.now : undefined;
  }
  const wanted = Math.max(t.now, t.nextKeyframeAt) + KEYFRAME_MARGIN_MS;
  const short = wanted - (t.now + t.queueMs);
  if (short <= 0) return t.now;
  // Video is ~90 % of what we send (audio, headers): delivered video × 1.1 against our send rate.
  const growth = t.deliveredKbps !== undefined && t.deliveredKbps > 0 ? Math.max(0, t.sendKbps / (t.deliveredKbps * 1.1) - 1) : UNKNOWN_GROWTH;
  // Each ms of sending moves the moment the path runs dry by 1 + growth ms.
  return t.now + short / (1 + growth);
}

/** When the target's keyframe may be switched to, for a hold starting at `startAt` on a queue of `queueMs` (undefined: at once). */
export function switchNotBefore(startAt: number | undefined, queueMs: number | undefined): number | undefined {
  return startAt !== undefined && queueMs !== undefined && queueMs >= DEEP_QUEUE_MS ? startAt + KEYFRAME_ROOM_MS : undefined;
}
