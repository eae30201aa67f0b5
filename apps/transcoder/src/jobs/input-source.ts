/**
 * Where a job's RTP comes from. The job asks for an SDP once per run; it may ask for a fresh
 * keyframe after ffmpeg has bound its ports (a keyframe that arrives before the bind is lost,
 * and a WebRTC publisher sends the next one only when asked).
 */
import type { SourceInfo } from '../ladder/plan-renditions';

export interface InputOpening {
  /** SDP text ffmpeg reads (`-i input.sdp`). */
  sdp: string;
  /** What is known of the source beyond the SDP (size and frame rate measured by the ingest). */
  hints?: Partial<Pick<SourceInfo, 'width' | 'height' | 'fps'>>;
}

export interface InputRequest {
  /** Ask the publisher for a keyframe this often (passthrough cuts segments only at source keyframes). */
  keyframeIntervalMs?: number;
}

export interface InputSource {
  /** Short description for logs and the API (`ingest forward abc`, `static SDP`). */
  readonly description: string;
  /** The ingest forward the input comes from, once open (renditions made from it name it). */
  readonly forward?: string;
  open(request?: InputRequest): Promise<InputOpening>;
  /** The source's current size and rate as measured upstream (polled to re-plan a ladder). Optional. */
  currentHints?(): Promise<InputOpening['hints']>;
  /**
   * Tells the source that ffmpeg listens now: it sends a keyframe (again, if it kept the last
   * one: `replayedPackets`) or asks the publisher for one. Optional.
   */
  requestKeyframe?(): Promise<{ replayedPackets?: number } | void>;
  /** Stops the RTP (deletes the forward). Safe to call twice. */
  close(): Promise<void>;
}

/** An SDP given up front (tests, the benchmark, a manually fed stream). */
export class StaticSdpInput implements InputSource {
  readonly description = 'static SDP';
  constructor(
    private readonly sdp: string,
    private readonly hints?: InputOpening['hints'],
  ) {}

  async open(): Promise<InputOpening> {
    return { sdp: this.sdp, hints: this.hints };
  }

  async close(): Promise<void> {}
}
