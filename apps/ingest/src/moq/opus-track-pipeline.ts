/**
 * An Opus MoQ track into RTP (RFC 7587): one Opus packet per RTP packet at the frame's 48 kHz
 * timestamp. The marker bit starts a talkspurt (RFC 7587 §4.1 → RFC 3551 §4.1): on the first
 * packet, and after a gap of more than one packet's duration (the encoder's DTX, or frames the
 * publisher or the network dropped). A frame older than the last one sent is dropped: audio
 * goes out in order.
 */
import type { RtpStamper } from './rtp-stamper';
import { readOpusPacket } from './opus-packet';
import { type PipelineResult, TrackPipeline } from './track-pipeline';

export interface OpusTrackPipelineOptions {
  stamper: RtpStamper;
  /** Largest Opus packet accepted, bytes (default 4 KiB: RFC 6716 allows at most 6 × 1275 + headers, WebCodecs sends a few hundred). */
  maxFrameBytes?: number;
}

export class OpusTrackPipeline extends TrackPipeline {
  /** End of the last packet sent on the publisher's clock, µs. */
  private endUs: number | undefined;
  private durationUs = 0;

  constructor(private readonly options: OpusTrackPipelineOptions) {
    super(options.maxFrameBytes ?? 4096);
  }

  protected processPayload(timestampUs: number, payload: Uint8Array): PipelineResult {
    const opus = readOpusPacket(payload);
    if (!opus.ok) return { kind: 'failed', reason: 'invalid_opus', detail: opus.detail };
    if (this.endUs !== undefined && timestampUs <= this.endUs - this.durationUs) return this.drop('late_timestamp');
    const marker = this.endUs === undefined || timestampUs - this.endUs > this.durationUs;
    this.durationUs = (opus.samples * 1_000_000) / 48_000;
    this.endUs = timestampUs + this.durationUs;
    const copy = Buffer.allocUnsafe(payload.length);
    copy.set(payload);
    return { kind: 'packets', packets: this.options.stamper.stamp([{ payload: copy, marker }], timestampUs), keyframe: false };
  }
}
