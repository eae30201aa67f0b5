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
 *   200 ms token bucket).
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
}

export const DEFAULT_LINK_ESTIMATOR_OPTIONS: LinkEstimatorOptions = {
  rembMaxAgeMs: 2000,
  rembPeakWindowMs: 3000,
  lossWindowMs: 1000,
  lossMinPackets: 30,
  sendWindowMs: 1000,
  rttFloorWindowMs: 30_000,
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
