/**
 * Cuts a sequence of fMP4 fragments into LL-HLS parts and segments. Pure: `push(fragment)`
 * returns what the fragment completed, in order. Timing comes from the "timeline" track (video
 * when there is one, else audio); fragments of other tracks ride along in the current part.
 *
 * Rules (RFC 8216bis §4.4.4.9, §4.4.3.1):
 * - a part is whole fragments and at most the part target long, so the part closes as soon as
 *   one more fragment like the last would not fit (no waiting for the next fragment);
 * - a segment starts at a sync fragment once the segment target has elapsed, so every segment
 *   starts with a keyframe and is one GOP when GOP = segment target;
 * - a part whose first timeline sample is a sync sample is INDEPENDENT.
 */

export interface CutterFragment {
  /** The fragment's bytes (`moof` + `mdat`, optionally `prft`/`emsg` before them). */
  data: Buffer[];
  /** Whether this fragment carries samples of the timeline track. */
  timeline: boolean;
  /** Duration on the timeline track, seconds (0 when `timeline` is false). */
  duration: number;
  /** Start on the timeline track (tfdt), seconds; undefined when unknown. */
  startTime: number | undefined;
  /** The first timeline sample is a sync sample. */
  sync: boolean;
}

export interface CutPart {
  type: 'part';
  data: Buffer;
  /** Seconds on the timeline track. */
  duration: number;
  independent: boolean;
  startTime: number | undefined;
}

/** The segment in progress ended; parts that follow belong to the next segment. */
export interface CutSegmentEnd {
  type: 'segment-end';
}

export type CutEvent = CutPart | CutSegmentEnd;

export interface PartCutterOptions {
  /** Longest part, seconds. */
  partTargetSec: number;
  /** Shortest segment, seconds: a new segment starts at the first sync fragment past it. */
  segmentTargetSec: number;
  /**
   * An audio timeline (every fragment sync): segments end on the fragment nearest each multiple of
   * the target, so they average the target exactly and their media sequence numbers stay in step
   * with the video renditions' (first sync past 0.9 × target would make 0.96 s segments of
   * 192 ms parts, one number ahead every 25 s).
   */
  audio?: boolean;
}

/** Slack for rounding in timescale arithmetic (e.g. 6 × 1/30 s against 0.2 s). */
const PART_SLACK_SEC = 0.001;

export class PartCutter {
  private parts: Buffer[] = [];
  private partDuration = 0;
  private partHasTimeline = false;
  private partIndependent = false;
  private partStart: number | undefined;
  /** Duration of the closed parts of the segment in progress. */
  private segmentElapsed = 0;
  private segmentHasMedia = false;
  private lastFragmentDuration = 0;
  /** Audio: timeline seconds pushed so far, and where the segment in progress should end. */
  private clock = 0;
  private nextBoundary: number;

  private readonly maxSegmentSec: number;

  constructor(private readonly options: PartCutterOptions) {
    this.maxSegmentSec = 10 * options.segmentTargetSec;
    this.nextBoundary = options.segmentTargetSec;
  }

  push(fragment: CutterFragment): CutEvent[] {
    const events: CutEvent[] = [];
    if (fragment.timeline) {
      const elapsed = this.segmentElapsed + this.partDuration;
      const segmentDue = this.options.audio ? this.clock + fragment.duration / 2 >= this.nextBoundary : elapsed >= this.options.segmentTargetSec * 0.9;
      // Without keyframes (a misconfigured encoder) a segment would grow without bound; cut it
      // anyway at ten targets, accepting a segment that does not start with a keyframe.
      const overdue = elapsed >= this.maxSegmentSec - PART_SLACK_SEC;
      if ((fragment.sync && segmentDue && this.segmentHasMedia) || overdue) {
        this.closePart(events);
        events.push({ type: 'segment-end' });
        this.segmentElapsed = 0;
        this.segmentHasMedia = false;
        while (this.nextBoundary <= this.clock + fragment.duration / 2) this.nextBoundary += this.options.segmentTargetSec;
      } else if (this.partHasTimeline && this.partDuration + fragment.duration > this.options.partTargetSec + PART_SLACK_SEC) {
        this.closePart(events);
      }
    }
    this.parts.push(...fragment.data);
    this.segmentHasMedia = true;
    if (fragment.timeline) {
      if (!this.partHasTimeline) {
        this.partHasTimeline = true;
        this.partIndependent = fragment.sync;
        this.partStart = fragment.startTime;
      }
      this.partDuration += fragment.duration;
      this.lastFragmentDuration = fragment.duration;
      this.clock += fragment.duration;
      // Close now if another fragment like this one would overflow: the part is ready one
      // fragment earlier than if we waited to see the next one.
      if (this.partDuration + this.lastFragmentDuration > this.options.partTargetSec + PART_SLACK_SEC) this.closePart(events);
    }
    return events;
  }

  /** Ends the part and segment in progress (stream ended or producer restarted). */
  flush(): CutEvent[] {
    const events: CutEvent[] = [];
    this.closePart(events);
    if (this.segmentHasMedia) events.push({ type: 'segment-end' });
    this.segmentElapsed = 0;
    this.segmentHasMedia = false;
    this.lastFragmentDuration = 0;
    this.clock = 0;
    this.nextBoundary = this.options.segmentTargetSec;
    return events;
  }

  private closePart(events: CutEvent[]): void {
    if (this.parts.length === 0) return;
    events.push({ type: 'part', data: Buffer.concat(this.parts), duration: this.partDuration, independent: this.partIndependent, startTime: this.partStart });
    this.segmentElapsed += this.partDuration;
    this.parts = [];
    this.partDuration = 0;
    this.partHasTimeline = false;
    this.partIndependent = false;
    this.partStart = undefined;
  }
}
