/**
 * RTP timestamps from the publisher's microsecond clock (hang frames carry one clock for every
 * track). Every track of a broadcast counts from the same origin — the first frame seen on any
 * of them — so audio and video keep the offsets the publisher gave them (A/V sync); each track
 * adds its own random initial timestamp (RFC 3550 §5.1).
 */

export class MediaClock {
  private originUs: number | undefined;

  /** Ticks of `clockRate` from the broadcast's origin to `timestampUs` (negative before it). */
  ticks(timestampUs: number, clockRate: number): number {
    this.originUs ??= timestampUs;
    const delta = timestampUs - this.originUs;
    // Whole seconds apart from the rest: delta × 90 000 alone would pass 2^53 after ~28 hours.
    const seconds = Math.trunc(delta / 1_000_000);
    return seconds * clockRate + Math.round(((delta - seconds * 1_000_000) * clockRate) / 1_000_000);
  }
}

/** `initial + ticks` as an RTP timestamp (mod 2^32). */
export function rtpTimestamp(initial: number, ticks: number): number {
  const value = (initial + ticks) % 2 ** 32;
  return value < 0 ? value + 2 ** 32 : value;
}
