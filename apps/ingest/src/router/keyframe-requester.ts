/**
 * Rate limit for keyframe requests going upstream (PLI). Many viewers joining at once, or a
 * viewer's decoder asking repeatedly, must not make the publisher send a keyframe per request:
 * a request inside the window is not lost but coalesced into one trailing request when the
 * window ends.
 *
 * The window depends on whether the last request was answered. While it is in flight (no
 * keyframe since), `intervalMs`; and a keyframe that arrives answers every request waiting, so
 * those are dropped, not sent (a viewer that joined meanwhile starts at that keyframe). Once a
 * keyframe has come, a new request (a viewer that joined just after it) waits only
 * `answeredIntervalMs`: libwebrtc encoders ignore a PLI within 300 ms of the last one they
 * honoured (EncoderRtcpFeedback, kMinKeyframeSendIntervalMs), so sooner would be lost.
 */
export interface KeyframeRequesterOptions {
  /** Minimum time between two requests while the last one is unanswered, ms. */
  intervalMs: number;
  /** Minimum time between two requests once a keyframe answered the last one, ms (default min(300, intervalMs)). */
  answeredIntervalMs?: number;
  /** Sends the request (a PLI to the current publisher). */
  send: (reason: string) => void;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
}

export class KeyframeRequester {
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private pending: unknown;
  private pendingReasons: string[] = [];
  private closed = false;
  /** A keyframe arrived since the last request went out. */
  private answered = false;
  private sentCount = 0;
  private coalescedCount = 0;
  private answeredCount = 0;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;

  constructor(private readonly options: KeyframeRequesterOptions) {
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as NodeJS.Timeout));
  }

  /** Asks for a keyframe; returns true when the request went out at once. */
  request(reason: string): boolean {
    if (this.closed) return false;
    const interval = this.answered ? (this.options.answeredIntervalMs ?? Math.min(300, this.options.intervalMs)) : this.options.intervalMs;
    const wait = this.lastSentAt + interval - this.now();
    if (wait <= 0) {
      this.fire([reason]);
      return true;
    }
    this.coalescedCount += 1;
    this.pendingReasons.push(reason);
    this.pending ??= this.setTimer(() => {
      this.pending = undefined;
      const reasons = this.pendingReasons;
      this.pendingReasons = [];
      if (!this.closed) this.fire(reasons);
    }, wait);
    return false;
  }

  /** A keyframe arrived from the publisher: it answers every request made so far. */
  keyframeArrived(): void {
    this.answered = true;
    if (this.pending === undefined) return;
    this.clearTimer(this.pending);
    this.pending = undefined;
    this.answeredCount += this.pendingReasons.length;
    this.pendingReasons = [];
  }

  /** Forgets the window, e.g. when a new publisher arrives (its first request goes out at once). */
  resetWindow(): void {
    this.lastSentAt = Number.NEGATIVE_INFINITY;
  }

  /** sent: requests that went upstream; coalesced: requests held back; answered: held-back requests a keyframe made unnecessary. */
  getStats(): { sent: number; coalesced: number; answered: number } {
    return { sent: this.sentCount, coalesced: this.coalescedCount, answered: this.answeredCount };
  }

  close(): void {
    this.closed = true;
    if (this.pending !== undefined) this.clearTimer(this.pending);
    this.pending = undefined;
  }

  private fire(reasons: string[]): void {
    this.lastSentAt = this.now();
    this.answered = false;
    this.sentCount += 1;
    this.options.send([...new Set(reasons)].join(','));
  }
}
