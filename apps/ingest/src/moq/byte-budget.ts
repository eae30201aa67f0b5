/**
 * A token bucket over bytes: what a moq-lite control stream (announcements, subscription
 * answers, bandwidth probes: tens of bytes at a time) may carry. @moq/lite reads a control
 * message of up to 64 MiB and its reader's cost is quadratic in the packets of a message, so a
 * publisher sending one large message could stall the event loop for seconds; past the budget the
 * stream fails instead (a legitimate publisher stays orders of magnitude below it). Pure: the
 * clock is passed in.
 */

export interface ByteBudgetOptions {
  /** Bytes that may arrive at once (default 256 KiB). */
  burstBytes?: number;
  /** Bytes per second refilled (default 64 KiB/s). */
  bytesPerSecond?: number;
}

export class ByteBudget {
  private readonly burst: number;
  private readonly rate: number;
  private tokens: number;
  private last: number | undefined;

  constructor(options: ByteBudgetOptions = {}) {
    this.burst = options.burstBytes ?? 256 * 1024;
    this.rate = options.bytesPerSecond ?? 64 * 1024;
    this.tokens = this.burst;
  }

  /** Takes `bytes` at `nowMs`; false when they are over the budget. */
  take(bytes: number, nowMs: number): boolean {
    if (this.last !== undefined) this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) * this.rate) / 1000);
    this.last = nowMs;
    if (bytes > this.tokens) return false;
    this.tokens -= bytes;
    return true;
  }
}
