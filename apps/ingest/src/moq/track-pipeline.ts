/**
 * What every forwarded MoQ track does with a frame before its codec has a say: keep moq-lite's
 * group order (a group that arrives after a newer one was read is late: its frames are dropped,
 * never sent out of order), unpack hang's legacy container within the size cap, and count.
 * A codec pipeline (H.264, Opus) extends it. Pure: frames in, RTP packets out; a frame the
 * pipeline cannot read fails the track, and the caller ends it.
 */
import type { InboundRtp } from '../webrtc/engine';
import { decodeHangFrame, type HangFrameError } from './hang-frame';

/** A frame as moq-lite delivers it: the group's sequence number, the frame's index in the group. */
export interface MoqFrame {
  group: number;
  index: number;
  data: Uint8Array;
}

/** `end_marker`: hang's empty frame, "content stops at this timestamp" — nothing to send. */
export type DropReason = 'late_group' | 'late_timestamp' | 'waiting_for_keyframe' | 'end_marker';
export type TrackFailure = HangFrameError | 'not_annex_b' | 'malformed_access_unit' | 'invalid_sps' | 'invalid_opus';

export type PipelineResult =
  | { kind: 'packets'; packets: InboundRtp[]; keyframe: boolean }
  | { kind: 'dropped'; reason: DropReason }
  | { kind: 'failed'; reason: TrackFailure; detail: string };

export interface TrackPipelineStats {
  /** Frames received (dropped ones included) and their bytes. */
  frames: number;
  bytes: number;
  /** Groups begun (a video group is a GOP; an audio group, with <moq-publish>, one frame). */
  groups: number;
  packets: number;
  dropped: Partial<Record<DropReason, number>>;
  /** Publisher clock of the last frame sent, µs. */
  lastTimestampUs: number | null;
}

export abstract class TrackPipeline {
  protected readonly stats: TrackPipelineStats = { frames: 0, bytes: 0, groups: 0, packets: 0, dropped: {}, lastTimestampUs: null };
  private group = -1;

  constructor(private readonly maxFrameBytes: number) {}

  process(frame: MoqFrame): PipelineResult {
    this.stats.frames += 1;
    this.stats.bytes += frame.data.length;
    if (frame.group < this.group) return this.drop('late_group');
    const newGroup = frame.group > this.group;
    if (newGroup) {
      this.group = frame.group;
      this.stats.groups += 1;
    }
    const decoded = decodeHangFrame(frame.data, this.maxFrameBytes);
    if (!decoded.ok) return { kind: 'failed', reason: decoded.reason, detail: decoded.detail };
    if (decoded.payload.length === 0) return this.drop('end_marker');
    const result = this.processPayload(decoded.timestampUs, decoded.payload, newGroup);
    if (result.kind === 'packets') {
      this.stats.packets += result.packets.length;
      this.stats.lastTimestampUs = decoded.timestampUs;
    }
    return result;
  }

  getStats(): TrackPipelineStats {
    return { ...this.stats, dropped: { ...this.stats.dropped } };
  }

  protected drop(reason: DropReason): PipelineResult {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    return { kind: 'dropped', reason };
  }

  protected abstract processPayload(timestampUs: number, payload: Uint8Array, newGroup: boolean): PipelineResult;
}
