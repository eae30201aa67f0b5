/**
 * An H.264 MoQ track into RTP: access units (Annex B, or length-prefixed when the catalog gave
 * an avcC description) → NAL units → RFC 6184 packets at the frame's 90 kHz timestamp. Nothing
 * is sent before the first keyframe whose SPS could be read: a viewer could not decode it, and
 * the SPS fixes the codec the stream is described with (profile-level-id from the bitstream,
 * not from the catalog, which may name another level).
 */
import { type H264Sps, type H264SpsLimits, h264ProfileLevelId, readH264Sps } from '@onair/shared/h264-sps';
import { H264_NAL, nalType, splitAnnexB } from './h264-annexb';
import { type AvcDecoderConfig, splitLengthPrefixed } from './h264-avcc';
import { packetizeH264, RTP_MAX_PAYLOAD } from './h264-rtp-packetizer';
import type { RtpStamper } from './rtp-stamper';
import { type PipelineResult, TrackPipeline, type TrackPipelineStats } from './track-pipeline';

export interface H264TrackPipelineOptions {
  stamper: RtpStamper;
  /** Largest access unit accepted, bytes (past it the track fails). */
  maxFrameBytes: number;
  maxPayloadSize?: number;
  spsLimits?: H264SpsLimits;
  /** The catalog's avcC: access units are then length-prefixed, and SPS/PPS come from it. */
  description?: AvcDecoderConfig;
}

export interface H264TrackStats extends TrackPipelineStats {
  keyframes: number;
  /** NAL units left out of RTP, by type (AUD, filler, reserved types). */
  droppedNalUnits: Record<number, number>;
  /** SPSs read later whose profile-level-id differs from the first one's. */
  profileChanges: number;
}

/**
 * NAL units an access unit may hold. Each becomes at least one RTP packet: 4 MiB of 1-byte NAL
 * units were a million packets in one go (2 s of a blocked event loop, +400 MiB). Encoders send a
 * handful, one per slice at most (a 1080p frame has 68 macroblock rows).
 */
export const MAX_NAL_UNITS = 1024;

export class H264TrackPipeline extends TrackPipeline {
  /** The first SPS read: what the stream's codec descriptor says. */
  sps: H264Sps | undefined;
  private keyframes = 0;
  private profileChanges = 0;
  private readonly droppedNalUnits: Record<number, number> = {};

  constructor(private readonly options: H264TrackPipelineOptions) {
    super(options.maxFrameBytes);
  }

  /** `profile-level-id` of the first SPS (RFC 6184 §8.1), once one was read. */
  get profileLevelId(): string | undefined {
    return this.sps && h264ProfileLevelId(this.sps);
  }

  override getStats(): H264TrackStats {
    return { ...super.getStats(), keyframes: this.keyframes, droppedNalUnits: { ...this.droppedNalUnits }, profileChanges: this.profileChanges };
  }

  protected processPayload(timestampUs: number, payload: Uint8Array): PipelineResult {
    const description = this.options.description;
    let nals = description ? splitLengthPrefixed(payload, description.lengthSize, MAX_NAL_UNITS) : splitAnnexB(payload, MAX_NAL_UNITS);
    if (!nals) {
      return description
        ? { kind: 'failed', reason: 'malformed_access_unit', detail: `a NAL unit length overruns the ${payload.length}-byte access unit` }
        : { kind: 'failed', reason: 'not_annex_b', detail: 'the access unit does not start with a start code' };
    }
    if (nals.length === 0) return { kind: 'failed', reason: 'malformed_access_unit', detail: 'an access unit without NAL units' };
    if (nals.length > MAX_NAL_UNITS) return { kind: 'failed', reason: 'malformed_access_unit', detail: `an access unit of more than ${MAX_NAL_UNITS} NAL units` };
    const keyframe = nals.some((nal) => nalType(nal) === H264_NAL.idr);
    if (keyframe && description && !nals.some((nal) => nalType(nal) === H264_NAL.sps)) {
      // avcC streams keep SPS/PPS out of band; RTP receivers need them in band, before the IDR.
      const at = Math.max(0, nals.findIndex((nal) => nalType(nal) !== H264_NAL.aud));
      nals = [...nals.slice(0, at), ...description.sps, ...description.pps, ...nals.slice(at)];
    }
    for (const nal of nals) {
      if (nalType(nal) !== H264_NAL.sps) continue;
      const sps = readH264Sps(nal, this.options.spsLimits);
      if (!sps) return { kind: 'failed', reason: 'invalid_sps', detail: `an SPS that cannot be read or claims too large a picture (${Buffer.from(nal.subarray(0, 4)).toString('hex')}…)` };
      if (!this.sps) this.sps = sps;
      else if (h264ProfileLevelId(sps) !== h264ProfileLevelId(this.sps)) this.profileChanges += 1;
    }
    if (!this.sps || (this.keyframes === 0 && !keyframe)) return this.drop('waiting_for_keyframe');
    if (keyframe) this.keyframes += 1;
    const { packets, dropped } = packetizeH264(nals, this.options.maxPayloadSize ?? RTP_MAX_PAYLOAD);
    for (const { type } of dropped) this.droppedNalUnits[type] = (this.droppedNalUnits[type] ?? 0) + 1;
    if (packets.length === 0) return { kind: 'failed', reason: 'malformed_access_unit', detail: 'an access unit with nothing to send' };
    return { kind: 'packets', packets: this.options.stamper.stamp(packets, timestampUs), keyframe };
  }
}
