/**
 * What one viewer's path carries, estimated from its own feedback (pure; the engine hands every
 * RTCP message over as ViewerFeedback, the router the bytes it sent). Three signals, each of
 * which alone can say "too much":
 *
 * - REMB: Chrome's (and Firefox's) receive-side delay-based estimate. It climbs (≤ 8 %/s) up to
 *   1.5 × what arrives while the path keeps up, and falls to 0.85 × what arrives on overuse
 *   (AIMD). Measured behind a 3 Mbps → 600 kbps token bucket: 1130 → 560 kbps within 100 ms of the
 *   limit. It lags a source that ramps up (464 kbps against 814 sent, 8 s after joining, on a
 *   clean path), so only a REMB that *fell* says "short"; and it is never above 1.5 × the current
 *   rate, so it can say "down" and "not congested", never "this much more fits".
 * - Loss over a window, from the reports' cumulative loss and highest sequence number (the
 *   reports' own fraction is per report, and Chrome sends one with each NACK: too noisy alone).
 * - Queueing delay: the round-trip time from the reports' LSR/DLSR against its floor over the
 *   last 30 s (a bufferbloated path queues before it drops; RTT went 3 → 230 ms behind the
 *   200 ms token bucket). It is only as fresh as our last sender report (one a second).
 * - The backlog, from each report's highest sequence number (engines that know when each packet
 *   left): how far that packet's departure is behind our latest, against its floor, is the
 *   queue in front of the receiver, refreshed by every report (Chrome: ~5 a second); and the
 *   octets up to it against the octets we sent, over the same half second, are the share of our
 *   rate the path delivers. Behind a 3 → 0.6 Mbit/s token bucket fed 1.25 Mbit/s the backlog grew
 *   ~0.5 s a second from the limit on, while the RTT stayed at 1–2 ms for 1.1 s (its sender
 *   report predated the queue); a receiver on a loaded machine (2 cores, load 6) stalls a report
 *   for 50–270 ms, then catches up: its delivery over half a second stays near 1.
 *
 * `state(now)` sums them up: the send rate, the loss and delay, and the available bitrate when a
 * signal bounds it (undefined: nothing says the path is short).
 */
import type { ViewerFeedback } from '../../webrtc/engine';

export interface LinkEstimatorOptions {
  /** A REMB older than this is ignored, ms. Chrome sends one every ~200 ms. Default 2000. */
  rembMaxAgeMs: number;
  /** The REMB peak is the highest of this long, ms. Default 3000. */
  rembPeakWindowMs: number;
  /** Loss is measured over at least this much of the latest reports, ms. Default 1000. */
  lossWindowMs: number;
  /** …and at least this many expected packets; fewer say nothing. Default 30. */
  lossMinPackets: number;
  /** The send rate is measured over this window, ms. Default 1000. */
  sendWindowMs: number;
  /** The RTT floor is the lowest sample of this long, ms. Default 30 000. */
  rttFloorWindowMs: number;
  /** Delivery is measured over at least this much of the reports, ms. Default 400. */
  deliveryWindowMs: number;
}

export const DEFAULT_LINK_ESTIMATOR_OPTIONS: LinkEstimatorOptions = {
  rembMaxAgeMs: 2000,
  rembPeakWindowMs: 3000,
  lossWindowMs: 1000,
  lossMinPackets: 30,
  sendWindowMs: 1000,
  rttFloorWindowMs: 30_000,
  deliveryWindowMs: 400,
};

export interface LinkState {
  /** What we sent the viewer over the last window, kbit/s (0 before a window has passed). */
  sendKbps: number;
  /** The latest fresh REMB, kbit/s. */
  rembKbps: number | undefined;
  /** The highest REMB of the last `rembPeakWindowMs`: a REMB well under it fell (overuse). */
  rembPeakKbps: number | undefined;
  /** Fraction of video packets lost over the loss window, 0…1; undefined: too few packets yet. */
  loss: number | undefined;
  /** Smoothed round-trip time, ms. */
  rttMs: number | undefined;
  /** The highest round-trip sample of the last second, ms (a fall of REMB is checked against it: a queue shows there first). */
  rttRecentMaxMs: number | undefined;
  /** Lowest round-trip time seen over the floor window, ms. */
  rttFloorMs: number | undefined;
  /**
   * The queue in front of the receiver, ms: the lowest "behind our sending by" of the reports
   * over the last 80 ms and the one before them, over its floor (a report late by the
   * receiver's scheduling is not a queue).
   * Undefined when the engine does not say when packets left.
   */
  backlogMs: number | undefined;
  /** How far apart the reports `backlogMs` lasted across are, ms (the latest and the one before the last 80 ms). */
  backlogSpanMs: number | undefined;
  /** The latest report's backlog alone, ms (unfiltered: for what a decided move does, not for deciding it). */
  latestBacklogMs: number | undefined;
  /** What the path delivered of what we sent over the delivery window, 0…1 (and above while a queue drains); undefined: unknown. */
  deliveryRatio: number | undefined;
  /** Video payload the receiver got over the delivery window, kbit/s. */
  deliveredKbps: number | undefined;
  /**
   * …between the reports `backlogMs` lasted across (≥ 80 ms apart), kbit/s: while a queue
   * stands, what a saturated path carries now — the window's rate still counts what came before
   * a limit (792 kbit/s measured 0.5 s into a 600 kbit/s limit). Undefined: no such pair.
   */
  recentDeliveredKbps: number | undefined;
  /**
   * How long the path needs to deliver what is on its way, ms: the video octets sent and not yet
   * received (as of the latest report) at the rate the path delivers, at least the latest
   * backlog. The backlog is the wait of the packet that just arrived, sent that long ago: behind
   * a 0.6 Mbit/s bottleneck fed 1.3 the queue in front of the next one is about twice as deep
   * (recorded traces: 335 ms behind with ~650 ms on the way, the 600 ms queue overflowing).
   * Undefined when the engine does not say when packets left.
   */
  queueMs: number | undefined;
}

interface DeliverySample {
  at: number;
  behindMs: number;
  delivered: number;
  sent: number;
}

interface LossSample {
  at: number;
  highestSequence: number;
  cumulativeLost: number;
}

export class LinkEstimator {
  private readonly options: LinkEstimatorOptions;
  private rembs: Array<{ kbps: number; at: number }> = [];
  private rttRecent: Array<{ at: number; ms: number }> = [];
  private lossSamples: LossSample[] = [];
  private sent: Array<{ at: number; bytes: number }> = [];
  private rttSmoothed: number | undefined;
  /** Lowest RTT per 5 s bucket over the floor window. */
  private rttBuckets: Array<{ start: number; min: number }> = [];
  private deliveries: DeliverySample[] = [];
  /** Lowest "behind our sending by" per 5 s bucket over the floor window. */
  private backlogBuckets: Array<{ start: number; min: number }> = [];

  constructor(options: Partial<LinkEstimatorOptions> = {}) {
    this.options = { ...DEFAULT_LINK_ESTIMATOR_OPTIONS, ...options };
  }

  observe(feedback: ViewerFeedback, now: number): void {
    if (feedback.type === 'remb') {
      this.rembs.push({ kbps: feedback.bitrate / 1000, at: now });
      while (this.rembs.length > 1 && this.rembs[0]!.at < now - this.options.rembPeakWindowMs) this.rembs.shift();
      return;
    }
    if (feedback.kind !== 'video') return;
    this.lossSamples.push({ at: now, highestSequence: feedback.highestSequence, cumulativeLost: feedback.cumulativeLost });
    // Keep one sample older than the window (the window's start) and the ones inside it.
    const from = now - this.options.lossWindowMs * 3;
    while (this.lossSamples.length > 2 && this.lossSamples[1]!.at < from) this.lossSamples.shift();
    if (feedback.rttMs !== null) this.observeRtt(feedback.rttMs, now);
    if (typeof feedback.behindMs === 'number' && typeof feedback.deliveredOctets === 'number' && feedback.sentOctets !== undefined) {
      this.observeDelivery({ at: now, behindMs: feedback.behindMs, delivered: feedback.deliveredOctets, sent: feedback.sentOctets });
    }
  }

  /** Total bytes sent to the viewer so far (any kind): the send rate is measured from it. */
  observeSent(totalBytes: number, now: number): void {
    this.sent.push({ at: now, bytes: totalBytes });
    const from = now - this.options.sendWindowMs * 2;
    while (this.sent.length > 2 && this.sent[1]!.at < from) this.sent.shift();
  }

  state(now: number): LinkState {
    const remb = this.rembs.at(-1);
    return {
      sendKbps: this.sendKbps(now),
      rembKbps: remb && now - remb.at <= this.options.rembMaxAgeMs ? remb.kbps : undefined,
      rembPeakKbps: remb && now - remb.at <= this.options.rembMaxAgeMs ? Math.max(...this.rembs.filter((r) => r.at >= now - this.options.rembPeakWindowMs).map((r) => r.kbps), remb.kbps) : undefined,
      loss: this.loss(now),
      rttMs: this.rttSmoothed,
      rttRecentMaxMs: this.rttRecent.some((r) => r.at >= now - 1000) ? Math.max(...this.rttRecent.filter((r) => r.at >= now - 1000).map((r) => r.ms)) : undefined,
      rttFloorMs: this.rttBuckets.length > 0 ? Math.min(...this.rttBuckets.map((b) => b.min)) : undefined,
      ...this.delivery(now),
    };
  }

  /** Forget loss and rate history (the viewer moved to another rendition: its packets differ). */
  resetLoss(): void {
    this.lossSamples = this.lossSamples.slice(-1);
  }

  private sendKbps(now: number): number {
    const last = this.sent.at(-1);
    if (!last) return 0;
    // The newest sample at least a window before the last one.
    let first: { at: number; bytes: number } | undefined;
    for (const sample of this.sent) if (last.at - sample.at >= this.options.sendWindowMs * 0.5) first = sample;
    if (!first || now - last.at > this.options.sendWindowMs) return 0;
    return ((last.bytes - first.bytes) * 8) / (last.at - first.at);
  }

  private loss(now: number): number | undefined {
    const last = this.lossSamples.at(-1);
    if (!last || now - last.at > this.options.lossWindowMs * 2) return undefined;
    let first: LossSample | undefined;
    for (const sample of this.lossSamples) if (last.at - sample.at >= this.options.lossWindowMs) first = sample;
    first ??= this.lossSamples[0];
    if (!first || first === last) return undefined;
    const expected = last.highestSequence - first.highestSequence;
    if (expected < this.options.lossMinPackets) return undefined;
    return Math.min(1, Math.max(0, (last.cumulativeLost - first.cumulativeLost) / expected));
  }

  private observeDelivery(sample: DeliverySample): void {
    const now = sample.at;
    this.deliveries.push(sample);
    while (this.deliveries.length > 2 && this.deliveries[1]!.at < now - this.options.deliveryWindowMs * 3) this.deliveries.shift();
    const bucketStart = now - (now % 5000);
    const bucket = this.backlogBuckets.at(-1);
    if (bucket && bucket.start === bucketStart) bucket.min = Math.min(bucket.min, sample.behindMs);
    else this.backlogBuckets.push({ start: bucketStart, min: sample.behindMs });
    while (this.backlogBuckets.length > 0 && this.backlogBuckets[0]!.start < now - this.options.rttFloorWindowMs) this.backlogBuckets.shift();
  }

  private delivery(now: number): Pick<LinkState, 'backlogMs' | 'backlogSpanMs' | 'latestBacklogMs' | 'deliveryRatio' | 'deliveredKbps' | 'recentDeliveredKbps' | 'queueMs'> {
    const last = this.deliveries.at(-1);
    const unknown = { backlogMs: undefined, backlogSpanMs: undefined, latestBacklogMs: undefined, deliveryRatio: undefined, deliveredKbps: undefined, recentDeliveredKbps: undefined, queueMs: undefined };
    if (!last || now - last.at > this.options.deliveryWindowMs * 2 || this.backlogBuckets.length === 0) return unknown;
    const floor = Math.min(...this.backlogBuckets.map((b) => b.min));
    // The lowest of the reports of the last 80 ms and the one before them, however old: a backlog
    // must last across two reports (Chrome sends one with each NACK too, so a few ms apart do not
    // count), and a report after a 400 ms stall of the receiver (233 ms behind, on a loaded
    // machine) is not one. Waiting for a third (150 ms apart) cost 0.2–0.3 s behind a limit.
    let recent = last.behindMs;
    let backlogSpanMs = 0;
    let recentDeliveredKbps: number | undefined;
    for (let i = this.deliveries.length - 2; i >= 0; i -= 1) {
      const sample = this.deliveries[i]!;
      recent = Math.min(recent, sample.behindMs);
      backlogSpanMs = last.at - sample.at;
      if (backlogSpanMs >= 80) {
        recentDeliveredKbps = (Math.max(0, last.delivered - sample.delivered) * 8) / backlogSpanMs;
        break;
      }
    }
    const backlogMs = Math.max(0, recent - floor);
    const latestBacklogMs = Math.max(0, last.behindMs - floor);
    let first: DeliverySample | undefined;
    for (const sample of this.deliveries) if (last.at - sample.at >= this.options.deliveryWindowMs) first = sample;
    const sent = first ? last.sent - first.sent : 0;
    // Nothing sent over the window (the source paused): nothing to compare.
    if (!first || sent <= 0) return { ...unknown, backlogMs, backlogSpanMs, latestBacklogMs, recentDeliveredKbps, queueMs: latestBacklogMs };
    const delivered = Math.max(0, last.delivered - first.delivered);
    const deliveredKbps = (delivered * 8) / (last.at - first.at);
    const onTheWayMs = deliveredKbps > 0 ? (Math.max(0, last.sent - last.delivered) * 8) / deliveredKbps : 0;
    return { backlogMs, backlogSpanMs, latestBacklogMs, deliveryRatio: delivered / sent, deliveredKbps, recentDeliveredKbps, queueMs: Math.max(latestBacklogMs, onTheWayMs) };
  }

  private observeRtt(rttMs: number, now: number): void {
    this.rttRecent.push({ at: now, ms: rttMs });
    while (this.rttRecent.length > 0 && this.rttRecent[0]!.at < now - 1000) this.rttRecent.shift();
    // Smoothed (gain 1/4): one late report does not make a queue, three in a row (~0.6 s) do.
    this.rttSmoothed = this.rttSmoothed === undefined ? rttMs : this.rttSmoothed + (rttMs - this.rttSmoothed) / 4;
    const bucketStart = now - (now % 5000);
    const bucket = this.rttBuckets.at(-1);
    if (bucket && bucket.start === bucketStart) bucket.min = Math.min(bucket.min, rttMs);
    else this.rttBuckets.push({ start: bucketStart, min: rttMs });
    while (this.rttBuckets.length > 0 && this.rttBuckets[0]!.start < now - this.options.rttFloorWindowMs) this.rttBuckets.shift();
  }
}
