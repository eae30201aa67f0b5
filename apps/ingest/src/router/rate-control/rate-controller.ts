/**
 * Chooses one viewer's rendition from its own feedback (pure: `process(observation, now) →
 * decision`, no timers, no I/O; the router calls it on every feedback message and on a tick).
 *
 * Down quickly: when a signal says the path cannot carry what the viewer gets — a REMB that fell
 * by 15 % under its peak, with a queue (an RTT sample of the last second ≥ its floor + 40 ms) or loss beside it, to under 0.8 × the
 * send rate; loss ≥ 10 % over the last second; or, for a receiver that sent no REMB in its first 8 s, queueing delay (RTT ≥ its floor + 120 ms) —
 * for 250 ms (at once when severe: REMB under half the send rate, loss ≥ 25 %, or what is on the
 * path — LinkState.queueMs — at 400 ms with under 65 % of our rate delivered), the viewer goes
 * to the best rung that needs at most 85 % of the available estimate (the lowest when none fits),
 * skipping rungs in one step. Then nothing moves it further down until the switch is done (it
 * waits for the target's keyframe, ≤ 1 s) and 2 s have passed: until then the feedback is about
 * the rendition it left and the queue that one left behind. After a move up, a severe signal
 * moves it back down at once.
 *
 * Up cautiously, one rung at a time: REMB never exceeds 1.5 × what arrives, so no estimate says
 * how much more fits. After a clean spell (no loss, no queue, REMB not short) the viewer tries the
 * next rung up: after 2 s when REMB already covers that rung with headroom, else after the trial
 * hold (4 s). A trial that ends in a move down within 6 s failed: the viewer goes back to the
 * rung it came from and the hold doubles (up to 16 s); one that holds resets it. A failed trial
 * costs the viewer ~1–2 s of a path slightly over capacity (rungs ~2× apart, REMB and the queue
 * tell within a second); the 16 s cap bounds how long a path that got better waits to be tried.
 */
import type { ViewerFeedback } from '../../webrtc/engine';
import { LinkEstimator, type LinkEstimatorOptions, type LinkState } from './link-estimator';

/** A rendition the viewer can be moved to, with what it costs the viewer's path. */
export interface LadderRung {
  name: string;
  /** What the viewer receives on it (video + audio), kbit/s. */
  kbps: number;
}

export interface RateObservation {
  /** A feedback message from the viewer; absent on a periodic tick. */
  feedback?: ViewerFeedback;
  /** Bytes sent to the viewer so far, every kind (its send rate is measured from them). */
  sentBytes: number;
  /** The renditions the viewer can receive, best (most kbit/s) first. */
  ladder: readonly LadderRung[];
  /** The rendition whose packets the viewer receives now. */
  active: string;
  /** The rendition it switches to at that one's next keyframe, if a switch is under way. */
  pending?: string | undefined;
}

export type RateReason = 'steady' | 'remb' | 'loss' | 'delay' | 'probe' | 'headroom' | 'off-ladder';

export interface RateDecision {
  /** The rendition the viewer should be on: `current` means stay. */
  target: string;
  reason: RateReason;
  /** The available bitrate the decision saw, kbit/s (undefined: nothing bounds it). */
  availableKbps: number | undefined;
  link: LinkState;
}

export interface RateControllerOptions extends LinkEstimatorOptions {
  /** REMB under this × the send rate says the path is short. Default 0.8 (Chrome: 0.85 × arrivals on overuse). */
  rembShortRatio: number;
  /** …when it fell under this × its peak of the last 3 s. Default 0.85. */
  rembFallRatio: number;
  /** …under this × the send rate, at once. Default 0.5. */
  rembSevereRatio: number;
  /** Loss from which the path is short. Default 0.1 (GCC's loss controller decreases above 10 %). */
  lossShort: number;
  /** …at once. Default 0.25. */
  lossSevere: number;
  /** Queueing delay (smoothed RTT over its floor) from which the path is short, ms. Default 120. */
  queueShortMs: number;
  /** A short path must stay short this long before a move down, ms. Default 250. */
  confirmDownMs: number;
  /** A move down goes to a rung needing at most this × the available bitrate. Default 0.85. */
  headroom: number;
  /** After a move, no other move (but a severe one) for this long, ms. Default 2000. */
  settleMs: number;
  /** Clean for this long before a move up that the estimate covers, ms. Default 2000. */
  coveredUpMs: number;
  /** Clean for this long before a trial move up, ms; doubles after a failed trial. Default 4000. */
  trialHoldMs: number;
  /** Longest trial hold, ms. Default 16 000. */
  maxTrialHoldMs: number;
  /** A move down this soon after a move up means the trial failed, ms. Default 6000. */
  trialWindowMs: number;
  /** Clean: loss under this. Default 0.02. */
  cleanLoss: number;
  /** Clean: queueing delay under this, ms. Default 40. */
  cleanQueueMs: number;
  /** A backlog counts as a queue only while the path delivers under this share of what we send (a backlog that drains is not short). Default 0.9. */
  cleanDeliveryRatio: number;
  /** A receiver that sent no REMB for this long after its first feedback sends none: then the RTT alone may move it, ms. Default 8000 (Chromium's first REMB comes ~5 s in). */
  rembGraceMs: number;
  /** A backlog (the receiver behind our sending, over its floor) from which the path is short, with the delivery under `deliveryShortRatio`, ms. Default 100. */
  backlogShortMs: number;
  /** …and the path delivering under this share of what we send. Default 0.8. */
  deliveryShortRatio: number;
  /** A backlog from which the path is short whatever the delivery ratio, ms (it lasted across reports 150 ms apart). Default 250. */
  backlogLongMs: number;
  /** …and from which it is short at once (a queue of this much lasted across two reports), ms. Default 300. */
  backlogSevereMs: number;
  /** The backlog and the delivery must say short this long before a move down, ms (a loaded receiver stalls its reports for up to ~300 ms). Default 350. */
  confirmBacklogMs: number;
  /**
   * What is on the path (LinkState.queueMs) from which it is short at once, ms, with the latest
   * backlog ≥ `backlogShortMs`, the path delivering under `overflowDeliveryRatio` of our rate and
   * that report at most `overflowSpanMs` after the one before. Default 400 (the unshaped traces
   * show ≤ 260; a 600 ms router queue fed twice its rate fills ~100 ms after 400).
   */
  overflowQueueMs: number;
  /** Default 0.65. */
  overflowDeliveryRatio: number;
  /** Default 450 (Chrome reports every 200–400 ms on a loaded machine; a receiver stalled 600 ms between reports is not a path). */
  overflowSpanMs: number;
  /** The backlog alone says nothing for this long after the first feedback, ms: a player that just joined lags the join's burst (700 ms behind 2.2 Mbit/s for its first reports on a 3 Mbit/s link). Default 5000. */
  backlogWarmupMs: number;
}

export const DEFAULT_RATE_CONTROLLER_OPTIONS: Omit<RateControllerOptions, keyof LinkEstimatorOptions> = {
  rembShortRatio: 0.8,
  rembFallRatio: 0.85,
  rembSevereRatio: 0.5,
  lossShort: 0.1,
  lossSevere: 0.25,
  queueShortMs: 120,
  confirmDownMs: 250,
  headroom: 0.85,
  settleMs: 2000,
  coveredUpMs: 2000,
  trialHoldMs: 4000,
  maxTrialHoldMs: 16_000,
  trialWindowMs: 6000,
  cleanLoss: 0.02,
  cleanQueueMs: 40,
  cleanDeliveryRatio: 0.9,
  rembGraceMs: 8000,
  backlogShortMs: 100,
  deliveryShortRatio: 0.8,
  backlogLongMs: 250,
  backlogSevereMs: 300,
  confirmBacklogMs: 350,
  overflowQueueMs: 400,
  overflowDeliveryRatio: 0.65,
  overflowSpanMs: 450,
  backlogWarmupMs: 5000,
};

interface Shortage {
  reason: 'remb' | 'loss' | 'delay';
  severe: boolean;
  availableKbps: number | undefined;
  /** Only the backlog says short: it is confirmed over longer (confirmBacklogMs). */
  backlogOnly?: boolean;
}

export class RateController {
  private readonly options: RateControllerOptions;
  private readonly link: LinkEstimator;
  private shortSince: number | undefined;
  private cleanSince: number | undefined;
  private lastMoveAt = -Infinity;
  private lastUpAt = -Infinity;
  /** The rung the last move up left (a failed trial goes back there). */
  private trialFrom: string | undefined;
  private trialHoldMs: number;
  private lastActive: string | undefined;
  private activeSince = 0;
  /** The last move was down: nothing moves the viewer further down until it settled. */
  private lastMoveDown = false;
  private firstFeedbackAt: number | undefined;
  private rembSeen = false;
  /** The backlog said short and no report since has shown the queue gone. */
  private backlogShort = false;
  /** The lowest delivery measured since the backlog said short, kbit/s. */
  private deliveredMinKbps: number | undefined;

  constructor(options: Partial<RateControllerOptions> = {}) {
    this.options = { ...DEFAULT_RATE_CONTROLLER_OPTIONS, ...options } as RateControllerOptions;
    this.link = new LinkEstimator(options);
    this.trialHoldMs = this.options.trialHoldMs;
  }

  /** The current trial hold, ms (grows with failed trials). */
  get holdMs(): number {
    return this.trialHoldMs;
  }

  process(observation: RateObservation, now: number): RateDecision {
    const { feedback, ladder, active } = observation;
    const current = observation.pending ?? active;
    if (feedback) {
      this.link.observe(feedback, now);
      this.firstFeedbackAt ??= now;
      if (feedback.type === 'remb') this.rembSeen = true;
    }
    this.link.observeSent(observation.sentBytes, now);
    if (active !== this.lastActive) {
      // Switched (by us, a pin, a new ladder): the loss measured belongs to the other rendition.
      if (this.lastActive !== undefined) this.link.resetLoss();
      this.lastActive = active;
      this.activeSince = now;
    }
    const link = this.link.state(now);
    const index = ladder.findIndex((rung) => rung.name === current);
    // Not a rung we know (the ladder changed under it): stay; the router moves a viewer whose rendition ended.
    if (index < 0) return { target: current, reason: 'off-ladder', availableKbps: undefined, link };
    const stay = (reason: RateReason, availableKbps: number | undefined): RateDecision => ({ target: current, reason, availableKbps, link });

    if (this.trialSucceeded(now)) this.trialHoldMs = this.options.trialHoldMs;

    const shortage = this.shortage(link, now);
    if (shortage) {
      this.cleanSince = undefined;
      this.shortSince ??= now;
      const confirmed = shortage.severe || now - this.shortSince >= (shortage.backlogOnly ? this.options.confirmBacklogMs : this.options.confirmDownMs);
      // After a move down, what the feedback says is about the rendition left behind (and its queue)
      // until the switch is done and settled; after a move up (a trial), a severe signal ends it at once.
      const settled = this.lastMoveDown
        ? observation.pending === undefined && now - Math.max(this.lastMoveAt, this.activeSince) >= this.options.settleMs
        : shortage.severe || now - this.lastMoveAt >= this.options.settleMs;
      if (!confirmed || !settled || index === ladder.length - 1) return stay('steady', shortage.availableKbps);
      const budget = shortage.availableKbps === undefined ? undefined : shortage.availableKbps * this.options.headroom;
      let target = ladder.length - 1;
      let fits: number | undefined;
      if (budget !== undefined) {
        for (let i = index + 1; i < ladder.length; i += 1) {
          if (ladder[i]!.kbps <= budget) {
            fits = i;
            break;
          }
        }
      }
      // A failed trial goes back where it came from, unless the path's measured delivery says that
      // does not fit either (a limit that came within the trial window).
      const trialFrom = this.failedTrialOrigin(now, ladder, index);
      if (trialFrom !== undefined) target = shortage.reason === 'delay' && link.backlogMs !== undefined ? Math.max(trialFrom, fits ?? trialFrom) : trialFrom;
      else if (budget !== undefined) target = fits ?? ladder.length - 1;
      else target = index + 1;
      this.moved(now, 'down');
      return { target: ladder[target]!.name, reason: shortage.reason, availableKbps: shortage.availableKbps, link };
    }
    this.shortSince = undefined;

    if (!this.isClean(link)) {
      this.cleanSince = undefined;
      return stay('steady', link.rembKbps);
    }
    this.cleanSince ??= now;
    if (index === 0) return stay('steady', link.rembKbps);
    const cleanFor = now - this.cleanSince;
    const sinceMove = now - this.lastMoveAt;
    const next = ladder[index - 1]!;
    // A REMB over 1.5 × what we send is none Chrome's estimator can give (it caps there): a value
    // it repeats from before a drop (801 kbit/s for 4 s behind a 600 kbit/s limit, receiving 200).
    const covered = link.rembKbps !== undefined && link.rembKbps <= link.sendKbps * 1.6 && next.kbps <= link.rembKbps * this.options.headroom;
    if (covered && cleanFor >= this.options.coveredUpMs && sinceMove >= this.options.coveredUpMs) {
      this.moved(now, 'up', current);
      return { target: next.name, reason: 'headroom', availableKbps: link.rembKbps, link };
    }
    if (cleanFor >= this.trialHoldMs && sinceMove >= this.trialHoldMs) {
      this.moved(now, 'up', current);
      return { target: next.name, reason: 'probe', availableKbps: link.rembKbps, link };
    }
    return stay('steady', link.rembKbps);
  }

  private shortage(link: LinkState, now: number): Shortage | undefined {
    const o = this.options;
    const found: Shortage[] = [];
    if (link.loss !== undefined && link.loss >= o.lossShort && link.sendKbps > 0) {
      found.push({ reason: 'loss', severe: link.loss >= o.lossSevere, availableKbps: link.sendKbps * (1 - link.loss) });
    }
    // Only a REMB that fell says short — one that lags a ramping source only climbs — and only with
    // a queue or loss beside it: the recorded Chromium trace dips 552 → 464 kbit/s 8 s after
    // joining on a clean path (sending 814), while at a real limit the RTT rose 40–200 ms with it;
    // after a move up, a REMB climbing behind the new rate wobbled 5–7 % beside a keyframe's 40 ms burst.
    // Where the engine says how far the receiver is behind our sending (every report), that is the
    // queue, and the RTT (refreshed by our one-a-second sender report, and raised by both ends'
    // scheduling on a loaded machine) is not consulted: behind a token bucket the RTT stayed at
    // 1–2 ms for the first 1.1 s of the limit while the backlog grew ~0.5 s a second, and an
    // unshaped viewer under load showed RTT spikes of 50–63 ms beside a REMB that fell (and moved
    // it down) while it received all we sent.
    // With a backlog measured, the path must also deliver less than we send: an unshaped viewer
    // starved of CPU (load 20) lost 5 % in its own socket buffer beside a fallen REMB, while what
    // reached it kept pace with what we sent (2.4 of 2.56 Mbit/s, 67 ms behind).
    const delivering = link.backlogMs !== undefined && (link.deliveryRatio === undefined || link.deliveryRatio >= o.cleanDeliveryRatio);
    const queueMs = link.backlogMs !== undefined
      ? (delivering ? 0 : link.backlogMs)
      : link.rttMs !== undefined && link.rttFloorMs !== undefined ? Math.max(link.rttMs, link.rttRecentMaxMs ?? 0) - link.rttFloorMs : 0;
    const corroborated = queueMs >= o.cleanQueueMs || (!delivering && (link.loss ?? 0) >= o.cleanLoss);
    // And a fall with neither a queue nor loss is the receiver's own noise: Chromium on a loaded
    // machine (load 18 on 2 cores) reported 378–672 kbit/s on an unshaped veth while receiving 1.2–1.6 Mbit/s.
    const rembFell = corroborated && link.rembKbps !== undefined && link.rembPeakKbps !== undefined && link.rembKbps < link.rembPeakKbps * o.rembFallRatio;
    if (rembFell && link.sendKbps > 0 && link.rembKbps! < link.sendKbps * o.rembShortRatio) {
      found.push({ reason: 'remb', severe: link.rembKbps! < link.sendKbps * o.rembSevereRatio, availableKbps: link.rembKbps });
    }
    // The RTT alone only for a receiver that sends no REMB (none in its first 8 s): Chrome's estimator is delay-based and
    // sees the queue per packet, while our RTT also carries both ends' scheduling — on a loaded
    // machine (2 cores, two browsers, ffmpeg) an unshaped viewer's RTT rose by 125–150 ms.
    const rembless = !this.rembSeen && this.firstFeedbackAt !== undefined && now - this.firstFeedbackAt >= o.rembGraceMs;
    if (rembless && link.rttMs !== undefined && link.rttFloorMs !== undefined && link.rttMs - link.rttFloorMs >= o.queueShortMs) {
      // A queue says "too much" but not how much: REMB (when fresh) bounds it, else 70 % of what we send.
      found.push({ reason: 'delay', severe: false, availableKbps: link.rembKbps ?? (link.sendKbps > 0 ? link.sendKbps * 0.7 : undefined) });
    }
    // The receiver falling behind while the path delivers a fraction of what we send: a queue
    // filling at a bottleneck, measured by its own rate (a loaded receiver's stall catches up).
    // Once short, it stays short while any queue is left (over cleanQueueMs): the delivery ratio of
    // a source whose frames come unevenly (a loaded transcoder) jumps to 1.5 for one report.
    const warm = this.firstFeedbackAt !== undefined && now - this.firstFeedbackAt >= o.backlogWarmupMs;
    const backlog = link.backlogMs;
    // Or what is on the path will soon fill a home router's queue (600 ms in the e2e test): the
    // backlog is the wait of the packet that just arrived, and behind a bottleneck fed twice its
    // rate what follows it waits twice as long. Waiting for the backlog itself to reach 300 ms
    // across two reports decided 200–450 ms after the queue had started dropping, and every ms
    // of that is a ms of frozen picture at the switch (the frames after the first loss are lost
    // to the decoder until the target's keyframe). Still a backlog across two reports (the
    // earlier one ≥ cleanQueueMs, below) at most 450 ms apart (Chrome on a loaded machine reports
    // every 200–400 ms): an unshaped receiver that stalled (reports 330 ms apart, the earlier 0 ms
    // behind) showed 280 ms behind and 0.7 s on its way in the first report after.
    const overflowing = warm && link.queueMs !== undefined && link.queueMs >= o.overflowQueueMs && (link.latestBacklogMs ?? 0) >= o.backlogShortMs
      && link.deliveryRatio !== undefined && link.deliveryRatio < o.overflowDeliveryRatio && link.backlogSpanMs !== undefined && link.backlogSpanMs <= o.overflowSpanMs;
    if (!warm || backlog === undefined || backlog < o.cleanQueueMs) {
      this.backlogShort = false;
      this.deliveredMinKbps = undefined;
    } else if ((backlog >= o.backlogShortMs && link.deliveryRatio !== undefined && link.deliveryRatio < o.deliveryShortRatio) || backlog >= o.backlogLongMs || overflowing) this.backlogShort = true;
    if (this.backlogShort && link.sendKbps > 0) {
      // What the path delivers: the video that reached the receiver with ~10 % for audio and
      // headers (or our rate × the share delivered), the lowest since the queue showed: one
      // report's window can catch a burst the queue let through at once (677 kbit/s of video
      // measured behind a 600 kbit/s limit, which put the viewer on a rung that did not fit).
      const ratio = link.deliveryRatio ?? 1;
      // The window's rate, or the rate between the two reports the backlog lasted across when
      // lower: a move decided early in a limit (the path's queue, below) saw 792 kbit/s over the
      // window behind a 600 kbit/s limit, chose 360p, and froze 633 ms until the next move down.
      const delivered = link.deliveredKbps === undefined ? undefined : Math.min(link.deliveredKbps, link.recentDeliveredKbps ?? Infinity);
      const measured = delivered !== undefined ? delivered * 1.1 : link.sendKbps * Math.min(1, ratio);
      this.deliveredMinKbps = Math.min(this.deliveredMinKbps ?? Infinity, measured);
      // At once: a queue that deep across two reports, or one a little shallower while the path
      // delivers under 60 % of our rate (a queue filling at a bottleneck, not a receiver's stall).
      const severe = (backlog ?? 0) >= o.backlogSevereMs || ((backlog ?? 0) >= o.backlogLongMs && ratio < 0.6) || overflowing;
      found.push({ reason: 'delay', severe, availableKbps: this.deliveredMinKbps, backlogOnly: true });
    }
    if (found.length === 0) return undefined;
    // The tightest bound decides where to go; any severe signal makes it urgent.
    const bounded = found.filter((s) => s.availableKbps !== undefined).sort((a, b) => a.availableKbps! - b.availableKbps!);
    const first = bounded[0] ?? found[0]!;
    // REMB and the backlog agree (two measures, one at each end): no need to wait for more.
    const agreed = found.some((s) => s.reason === 'remb') && found.some((s) => s.backlogOnly);
    return { ...first, severe: agreed || found.some((s) => s.severe), backlogOnly: found.every((s) => s.backlogOnly) };
  }

  private isClean(link: LinkState): boolean {
    const o = this.options;
    if (link.loss !== undefined && link.loss >= o.cleanLoss) return false;
    if (link.backlogMs !== undefined) {
      if (link.backlogMs >= o.cleanQueueMs && (link.deliveryRatio === undefined || link.deliveryRatio < o.cleanDeliveryRatio)) return false;
    } else if (link.rttMs !== undefined && link.rttFloorMs !== undefined && link.rttMs - link.rttFloorMs >= o.cleanQueueMs) return false;
    // A REMB under the rate says "not clean" only where no backlog is measured: with one, a REMB
    // that no queue or loss corroborates is the receiver's own noise (Chromium on a loaded
    // machine crawled at 400–640 kbit/s for 35 s while receiving 600 with no backlog, and held
    // the viewer a rung down the whole time).
    if (link.backlogMs === undefined && link.rembKbps !== undefined && link.sendKbps > 0 && link.rembKbps < link.sendKbps * 0.9) return false;
    return true;
  }

  private moved(now: number, direction: 'up' | 'down', from?: string): void {
    this.trialFrom = direction === 'up' ? from : undefined;
    if (direction === 'down' && now - this.lastUpAt < this.options.trialWindowMs) {
      this.trialHoldMs = Math.min(this.options.maxTrialHoldMs, this.trialHoldMs * 2);
      this.lastUpAt = -Infinity;
    }
    if (direction === 'up') this.lastUpAt = now;
    this.lastMoveDown = direction === 'down';
    this.lastMoveAt = now;
    this.shortSince = undefined;
    this.cleanSince = undefined;
  }

  /** The rung a trial started from, when a move down now ends that trial: it carried the viewer before. */
  private failedTrialOrigin(now: number, ladder: readonly LadderRung[], index: number): number | undefined {
    if (this.trialFrom === undefined || now - this.lastUpAt >= this.options.trialWindowMs) return undefined;
    const origin = ladder.findIndex((rung) => rung.name === this.trialFrom);
    return origin > index ? origin : undefined;
  }

  /** A move up that no move down followed within the trial window. */
  private trialSucceeded(now: number): boolean {
    if (this.lastUpAt === -Infinity || now - this.lastUpAt < this.options.trialWindowMs) return false;
    this.lastUpAt = -Infinity;
    return true;
  }
}
