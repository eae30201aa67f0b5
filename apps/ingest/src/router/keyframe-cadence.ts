/**
 * When each rendition's next keyframe will arrive, predicted from when its last ones did (pure).
 * A transcoded rung's keyframes come on the transcoder's clock (every 0.5 s for rungs sent to
 * WebRTC, build-args.ts) and cannot be asked for: ffmpeg's CLI takes no keyframe request while it
 * runs (`-force_key_frames` is fixed at start; `source` only copies the input's keyframes, which
 * would cost a source keyframe — a PLI to the publisher and a 1.2 Mbit/s keyframe to every viewer
 * of the source — for each viewer's switch). A viewer moving down times the end of the origin it
 * leaves to this prediction (switch-hold.ts).
 *
 * The interval is the median of the last few between keyframe arrivals (a loaded transcoder
 * delivers a keyframe ±50 ms off its clock; one stall must not skew it). A rendition whose
 * keyframe is several intervals overdue has no prediction (stalled, or its cadence changed).
 */

/** Intervals kept per rendition. */
const INTERVALS_KEPT = 5;
/** No prediction once the next keyframe is this many intervals overdue. */
const STALE_INTERVALS = 3;
/** Intervals under this are the same keyframe seen twice (its first packets), ms. */
const MIN_INTERVAL_MS = 100;

interface Cadence {
  lastAt: number;
  lastTimestamp: number;
  intervals: number[];
}

export class KeyframeCadence<K extends object = object> {
  private readonly cadences = new WeakMap<K, Cadence>();

  /** A packet starting a keyframe of `origin` arrived at `now` (router clock), with its RTP timestamp. */
  keyframe(origin: K, now: number, rtpTimestamp: number): void {
    const cadence = this.cadences.get(origin);
    if (!cadence) {
      this.cadences.set(origin, { lastAt: now, lastTimestamp: rtpTimestamp, intervals: [] });
      return;
    }
    // The SPS and the IDR slice of one keyframe may each start a packet: one arrival per frame.
    if (rtpTimestamp === cadence.lastTimestamp || now - cadence.lastAt < MIN_INTERVAL_MS) return;
    cadence.intervals.push(now - cadence.lastAt);
    if (cadence.intervals.length > INTERVALS_KEPT) cadence.intervals.shift();
    cadence.lastAt = now;
    cadence.lastTimestamp = rtpTimestamp;
  }

  /** The typical interval between `origin`'s keyframes, ms; undefined until two intervals were seen. */
  interval(origin: K): number | undefined {
    const intervals = this.cadences.get(origin)?.intervals;
    if (!intervals || intervals.length < 2) return undefined;
    const sorted = [...intervals].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  }

  /**
   * When `origin`'s next keyframe should arrive (router clock): the last one plus the interval,
   * possibly already past (late: it comes any moment). Undefined when unknown or long overdue.
   */
  next(origin: K, now: number): number | undefined {
    const interval = this.interval(origin);
    const cadence = this.cadences.get(origin);
    if (interval === undefined || !cadence) return undefined;
    const next = cadence.lastAt + interval;
    return now - next > interval * STALE_INTERVALS ? undefined : next;
  }
}
