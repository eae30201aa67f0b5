/**
 * A job's renditions to the ingest: `open()` announces the planned rungs
 * (`POST /api/streams/<id>/renditions`) and turns the answer — one UDP port, an SSRC per rung —
 * into ffmpeg's RTP targets, all to that one port with RTCP on it too (`rtcpport`, RFC 5761
 * rtcp-mux). A new announcement replaces the previous one at the ingest (same lease instance);
 * the previous set is deleted first anyway, so nothing is left if the new one is refused.
 */
import type { Logger } from '@onair/service/logger';
import { RTP_PACKET_BYTES, type RtpOutputs } from '../ffmpeg/build-args';
import type { IngestClient } from '../ingest-client';
import type { RenditionAnnouncement, RenditionOutput } from './rendition-output';

export class IngestRenditions implements RenditionOutput {
  private setId: string | undefined;
  private target = '';

  constructor(
    private readonly streamId: string,
    private readonly client: IngestClient,
    private readonly log: Logger,
    /** The ingest's address to send to; loopback when both run on one host. */
    private readonly host = '127.0.0.1',
  ) {}

  get description(): string {
    return this.setId ? `ingest renditions ${this.target}` : 'ingest renditions (none)';
  }

  async open(announcement: RenditionAnnouncement): Promise<RtpOutputs> {
    await this.close();
    const answer = await this.client.createRenditions(this.streamId, { ...announcement, host: this.host });
    this.setId = answer.id;
    const host = answer.host.includes(':') ? `[${answer.host}]` : answer.host;
    this.target = `${host}:${answer.port}`;
    const url = `rtp://${host}:${answer.port}?rtcpport=${answer.port}&pkt_size=${RTP_PACKET_BYTES}`;
    return {
      video: Object.fromEntries(answer.renditions.map((r) => [r.name, { url, payloadType: answer.video.payloadType, ssrc: r.ssrc }])),
      ...(answer.audio ? { audio: { url, payloadType: answer.audio.payloadType, ssrc: answer.audio.ssrc } } : {}),
    };
  }

  async close(): Promise<void> {
    const setId = this.setId;
    this.setId = undefined;
    if (!setId) return;
    await this.client.deleteRenditions(this.streamId, setId).catch((error) => this.log.warn({ err: error, streamId: this.streamId }, 'ending the renditions failed'));
  }
}
