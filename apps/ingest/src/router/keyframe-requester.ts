/**
 * Rate limit for keyframe requests going upstream (PLI). Many viewers joining at once, or a
 * viewer's decoder asking repeatedly, must not make the publisher send a keyframe per request:
 * at most one request per `intervalMs`; a request inside the window is not lost but coalesced
 * into one trailing request when the window ends.
 */
export interface KeyframeRequesterOptions {
  /** Minimum time between two requests sent upstream, ms. */
  intervalMs: number;
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
  private sentCount = 0;
  private coalescedCount = 0;
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
    const wait = this.lastSentAt + this.options.intervalMs - this.now();
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

  /** Forgets the window, e.g. when a new publisher arrives (its first request goes out at once). */
  resetWindow(): void {
    this.lastSentAt = Number.NEGATIVE_INFINITY;
  }

  getStats(): { sent: number; coalesced: number } {
    return { sent: this.sentCount, coalesced: this.coalescedCount };
  }

  close(): void {
    this.closed = true;
    if (this.pending !== undefined) this.clearTimer(this.pending);
    this.pending = undefined;
  }

  private fire(reasons: string[]): void {
    this.lastSentAt = this.now();
    this.sentCount += 1;
    this.options.send([...new Set(reasons)].join(','));
  }
}
