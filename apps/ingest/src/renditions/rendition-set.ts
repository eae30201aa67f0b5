/**
 * A transcoder's renditions of one stream, received: one UDP socket the ingest binds, on which
 * the transcoder's ffmpeg sends each rung's RTP (H.264 Constrained Baseline), one Opus track and
 * their RTCP. Packets are told apart by SSRC, which the ingest chose and handed out with the set
 * (rendition-routes.ts): a datagram with an SSRC or payload type the set does not know is dropped
 * and counted, so nothing else that can reach the port gets into a viewer's stream.
 *
 * Video packets go to the stream's router (router/rendition-catalog.ts, `RenditionSource`), each
 * with its transcode delay when the forward it was made from is known (rendition-timeline.ts:
 * viewers' sender reports date it by its source frame, for lip sync); the audio is measured and
 * kept out of viewers' streams for now (they get the publisher's audio).
 * The set lives under the transcoder's lease (forward/forward-leases.ts) and ends with it, with
 * the stream, or on DELETE; `close()` is idempotent and closes the socket.
 */
import type { Socket } from 'node:dgram';
import { randomInt, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '@onair/service/logger';
import type { RenditionFeed, RenditionSource } from '../router/rendition-catalog';
import { TrackMeter } from '../router/track-meter';
import type { InboundRtp } from '../webrtc/engine';
import { bindUdp } from './bind-udp';
import { RENDITION_AUDIO, type RenditionVideoFormat, renditionVideoFormat } from './rendition-sdp';
import { type ForwardedVideo, RenditionTimeline } from './rendition-timeline';
import { decodeRtpDatagram, type SenderReportFields } from './rtp-datagram';

/** What the transcoder announces of one rung. */
export interface RenditionSpec {
  name: string;
  width: number;
  height: number;
  targetKbps: number;
  frameRate: number;
}

export interface RenditionSetOptions {
  /** Video codec of every rung (`H264`, the ladder; `VP8`, made on demand). Default H264. */
  codec?: string;
  /** The ingest's own address to receive on (loopback or an ICE host). */
  host: string;
  /** ONAIR_ICE_PORT_RANGE, when configured; else an ephemeral port. */
  portRange: [number, number] | undefined;
  renditions: RenditionSpec[];
  /** The transcoder also sends one Opus track. */
  audio: boolean;
  /** The lease instance the set lives under. */
  instance: string;
  log: Logger;
  now?: () => number;
}

/** Kernel receive buffer asked for: a keyframe of every rung can land in the same few ms. */
const RECEIVE_BUFFER_BYTES = 1024 * 1024;

/** One track of the set (a rung's video or the audio): its SSRC, payload type and measures. */
class ReceivedTrack {
  readonly meter: TrackMeter;
  /** The sender's last report (RFC 3550 §6.4.1), kept for mapping its RTP clock to wall time. */
  senderReport: (SenderReportFields & { receivedAt: number }) | undefined;

  constructor(
    readonly media: 'video' | 'audio',
    readonly ssrc: number,
    readonly payloadType: number,
    readonly clockRate: number,
  ) {
    this.meter = new TrackMeter(clockRate);
  }
}

class RenditionTrack extends ReceivedTrack implements RenditionFeed {
  readonly kind = 'transcoded' as const;
  readonly codec: string;
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly targetKbps: number;
  readonly frameRate: number;

  constructor(spec: RenditionSpec, ssrc: number, format: RenditionVideoFormat) {
    super('video', ssrc, format.payloadType, format.clockRate);
    this.codec = format.codec;
    this.name = spec.name;
    this.width = spec.width;
    this.height = spec.height;
    this.targetKbps = spec.targetKbps;
    this.frameRate = spec.frameRate;
  }

  /** The last measured transcode delay of its frames (RenditionTimeline), ms. */
  delayMs: number | undefined;

  stats(nowMs: number): { bitrateKbps: number; frameRate: number | null; delayMs: number | null } {
    const snapshot = this.meter.snapshot(nowMs);
    return { bitrateKbps: snapshot.bitrateKbps, frameRate: snapshot.fps, delayMs: this.delayMs === undefined ? null : Math.round(this.delayMs) };
  }
}

export interface RenditionSetStats {
  id: string;
  instance: string;
  codec: string;
  host: string;
  port: number;
  createdAt: string;
  renditions: Array<{ name: string; ssrc: number; width: number; height: number; targetKbps: number; frameRate: number | null; bitrateKbps: number; packets: number; packetsLost: number; transcodeDelayMs: number | null }>;
  audio: { ssrc: number; bitrateKbps: number; packets: number; packetsLost: number } | null;
  /** Datagrams dropped: not RTP/RTCP, or an SSRC / payload type this set did not hand out. */
  rejectedDatagrams: number;
}

export class RenditionSet extends EventEmitter<{ closed: [reason: string] }> implements RenditionSource {
  readonly id = randomUUID();
  readonly createdAt = new Date();
  readonly video: RenditionVideoFormat;
  readonly feeds: readonly RenditionTrack[];
  readonly audio: ReceivedTrack | undefined;
  readonly instance: string;
  closeReason: string | undefined;
  private readonly bySsrc = new Map<number, ReceivedTrack>();
  private listener: ((feed: RenditionFeed, packet: InboundRtp) => void) | undefined;
  private rejected = 0;
  private readonly now: () => number;
  private timeline: RenditionTimeline | undefined;
  private readonly warnedImplausible = new Set<number>();

  private constructor(
    private readonly socket: Socket,
    private readonly options: RenditionSetOptions,
  ) {
    super();
    this.instance = options.instance;
    this.now = options.now ?? Date.now;
    const ssrcs = distinctSsrcs(options.renditions.length + 1);
    this.video = renditionVideoFormat(options.codec ?? 'H264');
    this.feeds = options.renditions.map((spec, i) => new RenditionTrack(spec, ssrcs[i]!, this.video));
    this.audio = options.audio ? new ReceivedTrack('audio', ssrcs[options.renditions.length]!, RENDITION_AUDIO.payloadType, RENDITION_AUDIO.clockRate) : undefined;
    for (const track of [...this.feeds, ...(this.audio ? [this.audio] : [])]) this.bySsrc.set(track.ssrc, track);
    socket.on('message', (datagram) => this.receive(datagram));
    // Errors of a connectionless receive socket are transient; the set ends by close().
    socket.on('error', (error) => options.log.warn({ err: error, set: this.id }, 'rendition socket error'));
  }

  /** Binds the set's socket (503 unavailable when no port is free). */
  static async open(options: RenditionSetOptions): Promise<RenditionSet> {
    const socket = await bindUdp(options.host, options.portRange);
    try {
      socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
    } catch {
      // capped by net.core.rmem_max: the default still works at a light load
    }
    return new RenditionSet(socket, options);
  }

  get host(): string {
    return this.options.host;
  }

  get codec(): string {
    return this.video.codec;
  }

  get fmtp(): string | undefined {
    return this.video.fmtp;
  }

  get port(): number {
    return this.socket.address().port;
  }

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  onVideo(listener: (feed: RenditionFeed, packet: InboundRtp) => void): void {
    this.listener = listener;
  }

  /**
   * The source video the transcoder makes these renditions from, as the ingest forwards it to
   * it: from then on each rung's packets carry their transcode delay. Call before the
   * transcoder's first packet (the rungs' first packets are the anchor).
   */
  useSourceTimeline(video: ForwardedVideo): void {
    this.timeline = new RenditionTimeline(video);
  }

  close(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.listener = undefined;
    this.socket.close();
    this.options.log.info({ set: this.id, reason, rejectedDatagrams: this.rejected }, 'rendition set closed');
    this.emit('closed', reason);
  }

  getStats(): RenditionSetStats {
    const now = this.now();
    const audio = this.audio?.meter.snapshot(now);
    return {
      id: this.id,
      instance: this.instance,
      codec: this.codec,
      host: this.host,
      port: this.closed ? 0 : this.port,
      createdAt: this.createdAt.toISOString(),
      renditions: this.feeds.map((feed) => {
        const snapshot = feed.meter.snapshot(now);
        const delay = feed.delayMs;
        return { name: feed.name, ssrc: feed.ssrc, width: feed.width, height: feed.height, targetKbps: feed.targetKbps, frameRate: snapshot.fps, bitrateKbps: snapshot.bitrateKbps, packets: snapshot.packets, packetsLost: snapshot.packetsLost, transcodeDelayMs: delay === undefined ? null : Math.round(delay) };
      }),
      audio: this.audio && audio ? { ssrc: this.audio.ssrc, bitrateKbps: audio.bitrateKbps, packets: audio.packets, packetsLost: audio.packetsLost } : null,
      rejectedDatagrams: this.rejected,
    };
  }

  /** One datagram from the socket (also the unit tests' way in). */
  receive(datagram: Buffer): void {
    if (this.closeReason !== undefined) return;
    const decoded = decodeRtpDatagram(datagram);
    if (!decoded) {
      this.rejected += 1;
      return;
    }
    const now = this.now();
    if (decoded.type === 'rtcp') {
      for (const report of decoded.senderReports) {
        const track = this.bySsrc.get(report.ssrc);
        if (track) track.senderReport = { ...report, receivedAt: now };
      }
      return;
    }
    const track = this.bySsrc.get(decoded.ssrc);
    if (!track || decoded.payloadType !== track.payloadType) {
      this.rejected += 1;
      return;
    }
    if (decoded.payload.length === 0) track.meter.recordNoMedia(decoded);
    else track.meter.record(decoded, decoded.size, now);
    if (track instanceof RenditionTrack) {
      const mediaDelayMs = decoded.payload.length > 0 ? this.timeline?.delayOf(track.ssrc, decoded.timestamp, now) : track.delayMs;
      if (mediaDelayMs !== undefined) track.delayMs = mediaDelayMs;
      // Once per rung: its frames do not line up with the forward's (ffmpeg started elsewhere).
      if (this.timeline?.implausibleFrames(track.ssrc) === 1 && !this.warnedImplausible.has(track.ssrc)) {
        this.warnedImplausible.add(track.ssrc);
        this.options.log.warn({ set: this.id, rendition: track.name }, 'rendition frames do not line up with the forwarded source (ffmpeg started from another frame?): their transcode delay is not taken from them');
      }
      this.listener?.(track, { kind: 'video', sequenceNumber: decoded.sequenceNumber, timestamp: decoded.timestamp, ssrc: decoded.ssrc, payloadType: decoded.payloadType, marker: decoded.marker, payload: decoded.payload, size: decoded.size, mediaDelayMs });
    }
  }
}

/**
 * `count` distinct random SSRCs in 1..2^31−1: ffmpeg's `-ssrc` takes a signed 32-bit integer, and
 * a random one is what keeps strangers' packets out of the set (they would have to guess it).
 */
function distinctSsrcs(count: number): number[] {
  const out = new Set<number>();
  while (out.size < count) out.add(randomInt(1, 0x7fff_ffff));
  return [...out];
}
