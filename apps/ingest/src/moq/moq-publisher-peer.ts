/**
 * A Media-over-QUIC publisher as the router sees any publisher: a `PublisherPeer` that emits
 * RTP. It owns one WebTransport session (already accepted by the server, which checked the
 * stream key in the CONNECT path) and, through @moq/lite, the moq-lite connection on it:
 *
 *   session → Connection.accept → first active announced broadcast → catalog.json (kept read)
 *           → one H.264 track + one Opus track → TrackPipeline → RTP → onRtp listeners
 *
 * The name the publisher announces is not trusted for anything but logs: the stream is the one
 * the CONNECT path's key named. Setup ends ('connected', `ready` resolves) once the catalog
 * names the tracks and the first video keyframe's SPS fixed the H.264 profile; a missing audio
 * track is waited for `trackSettleMs` (a publisher lists its renditions as its encoders start).
 * After that, the codecs never change: viewers negotiated them.
 *
 * Ends ('closed'): the publisher closes the session or vanishes, stops announcing the broadcast,
 * its video track ends or fails (a broken frame ends the track it is on, with the reason
 * logged; without video there is nothing to show, so the session ends too and the publisher's
 * reconnect starts afresh), or `close()`. Nothing a publisher sends can throw past this class.
 */
import { EventEmitter } from 'node:events';
import * as Moq from '@moq/lite';
import { ONAIR_CATALOG_SECTION } from '@onair/shared/moq-control';
import type { Logger } from '@onair/service/logger';
import type { InboundRtp, MediaKind, NegotiatedCodec, PeerState, PublisherPeer } from '../webrtc/engine';
import { CatalogUpdates } from './catalog-updates';
import { GroupBufferBudget, type GroupBufferStats } from './group-buffer-budget';
import { type HangCatalog, selectTracks, type TrackSelection } from './hang-catalog';
import { parseAvcDecoderConfig } from './h264-avcc';
import { H264TrackPipeline } from './h264-track-pipeline';
import { PublisherBackChannel, type KeyframeRequestStats } from './publisher-back-channel';
import { libraryWebTransport } from './library-webtransport';
import { runWithLibraryLog } from './library-console';
import { MediaClock } from './media-clock';
import { MoqIngestError, type MoqIngestErrorCode } from './moq-ingest-error';
import { DEFAULT_MOQ_LIMITS, type MoqIngestLimits } from './moq-ingest-limits';
import { readMoqTrack } from './moq-track-reader';
import type { Moq as MoqTypes } from './moq-types';
import { OpusTrackPipeline } from './opus-track-pipeline';
import { RtpStamper } from './rtp-stamper';
import type { TrackPipelineStats } from './track-pipeline';

type MoqConnection = MoqTypes.Connection;
type MoqTrack = MoqTypes.Track;

export interface MoqPublisherOptions {
  /** Logger bound to the stream and session; the library's console output goes here at debug. */
  log: Logger;
  limits?: Partial<MoqIngestLimits>;
  /** Payload types written into the RTP packets (default 96 for H.264, 111 for Opus). */
  payloadTypes?: { video?: number; audio?: number };
  /** Announce, catalog, tracks and the first keyframe must arrive within this many ms (default 10 000). */
  setupTimeoutMs?: number;
  /** Once one kind of track is ready, how long to wait for the other to appear in the catalog, ms (default 1000). */
  trackSettleMs?: number;
  /**
   * At most one keyframe request datagram per this many ms (default 100): a guard against a
   * flood only. The policy of when to ask is the router's (KeyframeRequester: 300 ms after an
   * answered request, 500 ms while one is in flight); a longer window here dropped the request
   * of a viewer joining 300–500 ms after the transcoder's, which then waited for the next one.
   */
  keyframeRequestIntervalMs?: number;
  /** RTP payload bytes per packet (default 1200). */
  maxPayloadSize?: number;
  /** Clock for rate limits and setup time, ms (default performance.now). */
  now?: () => number;
}

/** moq-lite subscription priorities (higher first): the catalog, then audio, then video. */
const PRIORITY = { catalog: 100, audio: 80, video: 60 } as const;
/** How long a publisher told the session is over (close('replaced')) has to close it itself. */
const SESSION_END_GRACE_MS = 1_000;
const H264_FMTP = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=';
const OPUS_FMTP = 'minptime=10;useinbandfec=1';

interface ForwardedTrack {
  kind: MediaKind;
  /** Track name from the catalog. */
  name: string;
  /** Codec string from the catalog (informational; H.264's profile comes from the SPS). */
  catalogCodec: string;
  track: MoqTrack;
  pipeline: H264TrackPipeline | OpusTrackPipeline;
  /** Why it ended, once it has. */
  ended?: string;
}

export interface MoqTrackStats extends TrackPipelineStats {
  name: string;
  codec: string;
  /** Why the track ended, or null while it runs. */
  ended: string | null;
}

export interface MoqPublisherStats {
  state: PeerState;
  /** moq-lite version the session speaks (`moq-lite-04`), null before the handshake. */
  moqVersion: string | null;
  /** `wt-protocol` the server answered the CONNECT with ('' when none: SETUP negotiated). */
  wtProtocol: string;
  /** Broadcast name the publisher announced (its own label, not the stream's identity). */
  broadcast: string | null;
  catalogUpdates: number;
  /** Streams refused before the library read them: a group with a frame over every track's cap (the group is lost), a control stream over its byte budget or with a message over its cap. */
  refusedStreams: number;
  /** Bytes of partial frames held across the group streams, and how often they had to wait for room. */
  groupBuffer: GroupBufferStats;
  /** Back-channel version the publisher advertised in its catalog; 0 = none (third-party publisher). */
  controlVersion: number;
  keyframeRequests: KeyframeRequestStats;
  setupMs: number | null;
  tracks: Partial<Record<MediaKind, MoqTrackStats>>;
  closeReason: string | null;
}

interface PeerEvents {
  state: [PeerState];
}

export class MoqPublisherPeer extends EventEmitter<PeerEvents> implements PublisherPeer {
  state: PeerState = 'connecting';
  /** Resolves once connected; rejects with MoqIngestError when setup fails (the session is then closed). */
  readonly ready: Promise<void>;
  private codecList: { video?: NegotiatedCodec; audio?: NegotiatedCodec } = {};
  private readonly limits: MoqIngestLimits;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly createdAt: number;
  private connectedAt: number | undefined;
  private resolveReady!: () => void;
  private rejectReady!: (error: MoqIngestError) => void;
  private readonly setupTimer: NodeJS.Timeout;
  private settleTimer: NodeJS.Timeout | undefined;
  private settled = false;
  private connection: MoqConnection | undefined;
  private announced: Moq.Announced | undefined;
  private broadcast: Moq.Broadcast | undefined;
  private broadcastPath: string | undefined;
  private catalogTrack: MoqTrack | undefined;
  private readonly catalogUpdates: CatalogUpdates;
  private selection: TrackSelection | undefined;
  private readonly loggedSkips = new Set<string>();
  private video: ForwardedTrack | undefined;
  private audio: ForwardedTrack | undefined;
  private readonly clock = new MediaClock();
  private rtpListeners: Array<(packet: InboundRtp) => void> = [];
  /** The reason the publisher was asked to end the session with (close()), while it has not. */
  private endNotified: string | undefined;
  private endNoticeTimer: NodeJS.Timeout | undefined;
  /** Packets from the last keyframe on, until the first listener; undefined once delivered. */
  private backlog: InboundRtp[] | undefined = [];
  private backlogBytes = 0;
  private readonly backChannel: PublisherBackChannel;
  private closeReason: string | undefined;
  private shuttingDown = false;
  private refusedStreams = 0;
  private lastRefusal: string | undefined;
  private readonly groupBuffer: GroupBufferBudget;

  constructor(
    private readonly session: WebTransport,
    url: URL,
    private readonly options: MoqPublisherOptions,
  ) {
    super();
    this.limits = { ...DEFAULT_MOQ_LIMITS, ...options.limits };
    this.log = options.log;
    this.now = options.now ?? (() => performance.now());
    this.createdAt = this.now();
    this.backChannel = new PublisherBackChannel(session, { intervalMs: options.keyframeRequestIntervalMs ?? 100, now: this.now, log: this.log });
    this.groupBuffer = new GroupBufferBudget(this.limits.maxBufferedGroupBytes);
    this.catalogUpdates = new CatalogUpdates({ maxBytes: this.limits.maxCatalogBytes, maxRenditions: this.limits.maxRenditions, maxUpdates: this.limits.maxCatalogUpdates });
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // The rejection is for acceptMoqPublisher's caller; unobserved, it must not end the process.
    this.ready.catch(() => {});
    const setupTimeoutMs = options.setupTimeoutMs ?? 10_000;
    this.setupTimer = setTimeout(() => this.fail(new MoqIngestError('moq_setup_timeout', `not live after ${setupTimeoutMs} ms: ${this.waitingFor()}`)), setupTimeoutMs);
    this.setupTimer.unref();
    session.closed.then(
      (info) => this.publisherGone(`the publisher closed the session (code ${info.closeCode ?? 0}${info.reason ? `, ${info.reason}` : ''})`),
      (error: unknown) => this.publisherGone(`the session was lost (${(error as Error)?.message ?? error})`),
    );
    // The library only needs a URL to store; the path and query (which may carry the key) stay out of its logs.
    const libraryUrl = new URL(url.origin);
    runWithLibraryLog(this.log, () => {
      this.run(libraryUrl).catch((error: unknown) => this.fail(error instanceof MoqIngestError ? error : new MoqIngestError('moq_handshake_failed', String((error as Error)?.message ?? error), { cause: error })));
    });
  }

  get codecs(): { video?: NegotiatedCodec; audio?: NegotiatedCodec } {
    return this.codecList;
  }

  onRtp(listener: (packet: InboundRtp) => void): void {
    this.rtpListeners.push(listener);
    const backlog = this.backlog;
    if (!backlog) return;
    // Delivered after the caller's own setup (e.g. the router attaching this publisher) has run.
    queueMicrotask(() => {
      if (this.backlog !== backlog) return;
      this.backlog = undefined;
      try {
        for (const packet of backlog) for (const each of this.rtpListeners) each(packet);
      } catch (error) {
        // A bug in a listener: it ends this session, not the process.
        this.log.error({ err: error }, 'MoQ publisher failed inside the ingest');
        this.shutdown('internal_error', 1);
      }
    });
  }

  /**
   * Asks the publisher for a keyframe over the back channel (@onair/shared/moq-control), at most
   * once per `keyframeRequestIntervalMs`. A publisher that did not advertise the back channel
   * (any third-party one) gets nothing: viewers joining then wait for its next group, up to a
   * GOP (2 s with <moq-publish>'s default).
   */
  requestKeyframe(): void {
    if (this.state === 'connected') this.backChannel.requestKeyframe();
  }

  /**
   * `reason` reaches the publisher as the session's close reason (onair's page stops on
   * `replaced`). A publisher that understands session-end notices is told first and closes the
   * session itself, as when its person presses Stop: Chromium 156 crashed the broadcaster's tab
   * about once in 13 takeovers when the ingest reset the streams the page was still writing to.
   * Its media goes nowhere meanwhile, and the ingest closes the session after the grace period.
   */
  async close(reason = 'closed_by_server'): Promise<void> {
    if (this.state === 'connected' && !this.endNotified && reason === 'replaced' && this.backChannel.notifySessionEnd(reason)) {
      this.endNotified = reason;
      this.rtpListeners = [];
      this.endNoticeTimer = setTimeout(() => this.shutdown(reason, 0), SESSION_END_GRACE_MS);
      return;
    }
    this.shutdown(reason, 0);
  }

  getStats(): MoqPublisherStats {
    const tracks: MoqPublisherStats['tracks'] = {};
    for (const forwarded of [this.video, this.audio]) {
      if (forwarded) tracks[forwarded.kind] = { name: forwarded.name, codec: forwarded.catalogCodec, ...forwarded.pipeline.getStats(), ended: forwarded.ended ?? null };
    }
    return {
      state: this.state,
      moqVersion: this.connection?.version ?? null,
      wtProtocol: (this.session as { protocol?: string }).protocol ?? '',
      broadcast: this.broadcastPath ?? null,
      catalogUpdates: this.catalogUpdates.count,
      refusedStreams: this.refusedStreams,
      groupBuffer: this.groupBuffer.getStats(),
      controlVersion: this.backChannel.publisherVersion,
      keyframeRequests: this.backChannel.getStats(),
      setupMs: this.connectedAt === undefined ? null : Math.round(this.connectedAt - this.createdAt),
      tracks,
      closeReason: this.closeReason ?? null,
    };
  }

  /** Handshake, then the announcements: the first active broadcast is consumed, its end ends the session. */
  private async run(libraryUrl: URL): Promise<void> {
    let connection: MoqConnection;
    try {
      const transport = libraryWebTransport(this.session, {
        // The hang timestamp (≤ 8 bytes) on top of the largest payload any track may carry.
        maxFrameBytes: Math.max(this.limits.maxVideoFrameBytes, this.limits.maxAudioFrameBytes, this.limits.maxCatalogBytes) + 8,
        groupBuffer: this.groupBuffer,
        maxControlMessageBytes: this.limits.maxControlMessageBytes,
        onRefusedStream: (detail, code) => {
          this.refusedStreams += 1;
          this.lastRefusal = detail;
          // A broken control plane ends the session with its code (fail() logs it); a refused group is lost alone.
          if (code) this.fail(new MoqIngestError(code, detail));
          else this.log.warn({ detail }, 'MoQ stream refused');
        },
        now: this.now,
        onLibraryClose: () => this.libraryClosed(),
      });
      connection = await Moq.Connection.accept(transport, libraryUrl);
    } catch (error) {
      throw new MoqIngestError('moq_handshake_failed', `moq-lite handshake: ${(error as Error)?.message ?? error}`, { cause: error });
    }
    // The session may have closed while the handshake ran.
    if ((this.state as PeerState) === 'closed') return connection.close();
    this.connection = connection;
    if (!connection.version.startsWith('moq-lite')) throw new MoqIngestError('moq_unsupported_version', `${connection.version}: onair ingests moq-lite (moq-lite-04, moq-lite-03, or moql with SETUP)`);
    const announced = connection.announced(Moq.Path.empty());
    this.announced = announced;
    for (;;) {
      let entry: Moq.AnnouncedEntry | undefined;
      try {
        entry = await announced.next();
      } catch (error) {
        // After setup the session's own end (publisherGone) says what happened.
        if (!this.broadcastPath) throw new MoqIngestError('moq_no_broadcast', `the announcements failed: ${(error as Error)?.message ?? error}`);
        return;
      }
      if (this.state === 'closed') return;
      if (!entry) {
        if (!this.broadcastPath) throw new MoqIngestError('moq_no_broadcast', 'the publisher stopped announcing before it announced a broadcast');
        return;
      }
      if (!this.broadcastPath) {
        if (entry.active) this.consume(connection, entry.path);
      } else if (entry.path === this.broadcastPath && !entry.active) {
        this.shutdown('broadcast_ended', 0);
        return;
      }
    }
  }

  private consume(connection: MoqConnection, path: Moq.Path.Valid): void {
    this.broadcastPath = path;
    this.log.debug({ broadcast: path }, 'MoQ broadcast announced');
    this.broadcast = connection.consume(path);
    this.catalogTrack = this.broadcast.subscribe('catalog.json', PRIORITY.catalog);
    this.readCatalog(this.catalogTrack).catch((error: unknown) => {
      this.log.error({ err: error }, 'MoQ catalog reading failed inside the ingest');
      this.fail(new MoqIngestError('moq_catalog_invalid', `internal error: ${(error as Error)?.message ?? error}`));
    });
  }

  private async readCatalog(track: MoqTrack): Promise<void> {
    for (;;) {
      let next: Awaited<ReturnType<MoqTrack['readFrameSequence']>>;
      try {
        next = await track.readFrameSequence();
      } catch (error) {
        return this.catalogEnded(`the catalog track failed: ${(error as Error)?.message ?? error}`);
      }
      if (this.state === 'closed') return;
      if (!next) return this.catalogEnded('the publisher ended the catalog track');
      const update = this.catalogUpdates.push(next.group, next.frame, next.data);
      if (update.kind === 'invalid') {
        track.close();
        if (this.state === 'connecting') return this.fail(new MoqIngestError('moq_catalog_invalid', `${update.reason}: ${update.detail}`));
        this.log.warn({ reason: update.reason, detail: update.detail }, 'invalid MoQ catalog update; the catalog is no longer read (media goes on)');
        return;
      }
      if (update.kind === 'catalog') this.catalogChanged(update.catalog);
    }
  }

  private catalogEnded(detail: string): void {
    if (this.state === 'connecting') this.fail(new MoqIngestError('moq_catalog_invalid', detail));
    else if (this.state === 'connected') this.log.debug({ detail }, 'MoQ catalog track ended');
  }

  private catalogChanged(catalog: HangCatalog): void {
    const control = catalog[ONAIR_CATALOG_SECTION]?.control ?? 0;
    if (control !== this.backChannel.publisherVersion) this.log.debug({ control }, 'MoQ publisher back channel');
    this.backChannel.publisherVersion = control;
    if (this.state !== 'connecting') {
      this.log.debug({ video: Object.keys(catalog.video?.renditions ?? {}), audio: Object.keys(catalog.audio?.renditions ?? {}) }, 'MoQ catalog updated after setup (tracks stay as negotiated)');
      return;
    }
    const selection = selectTracks(catalog);
    this.selection = selection;
    for (const skipped of selection.skipped) {
      const key = `${skipped.name}\n${skipped.reason}`;
      if (this.loggedSkips.has(key) || this.loggedSkips.size > 64) continue;
      this.loggedSkips.add(key);
      this.log.info({ track: skipped.name, kind: skipped.kind, reason: skipped.reason }, 'MoQ track not forwarded');
    }
    if (selection.video && !this.video) this.video = this.forwardVideo(selection.video.name, selection.video.rendition);
    if (selection.audio && !this.audio) this.audio = this.forwardAudio(selection.audio.name, selection.audio.rendition.codec);
    this.checkReady();
  }

  private forwardVideo(name: string, rendition: NonNullable<TrackSelection['video']>['rendition']): ForwardedTrack | undefined {
    let description;
    if (rendition.description) {
      description = parseAvcDecoderConfig(Buffer.from(rendition.description, 'hex'));
      if (!description) {
        this.log.info({ track: name }, 'MoQ track not forwarded: its avcC description cannot be read');
        return undefined;
      }
    }
    const stamper = new RtpStamper({ kind: 'video', payloadType: this.options.payloadTypes?.video ?? 96, clockRate: 90_000, clock: this.clock });
    const pipeline = new H264TrackPipeline({ stamper, maxFrameBytes: this.limits.maxVideoFrameBytes, maxPayloadSize: this.options.maxPayloadSize, spsLimits: this.limits.sps, description });
    return this.forward({ kind: 'video', name, catalogCodec: rendition.codec, track: this.broadcast!.subscribe(name, PRIORITY.video), pipeline });
  }

  private forwardAudio(name: string, codec: string): ForwardedTrack {
    const stamper = new RtpStamper({ kind: 'audio', payloadType: this.options.payloadTypes?.audio ?? 111, clockRate: 48_000, clock: this.clock });
    const pipeline = new OpusTrackPipeline({ stamper, maxFrameBytes: this.limits.maxAudioFrameBytes });
    return this.forward({ kind: 'audio', name, catalogCodec: codec, track: this.broadcast!.subscribe(name, PRIORITY.audio), pipeline });
  }

  /** Data plane: the track's frames through its pipeline to the listeners (moq-track-reader.ts). */
  private forward(forwarded: ForwardedTrack): ForwardedTrack {
    this.log.debug({ track: forwarded.name, kind: forwarded.kind, codec: forwarded.catalogCodec }, 'MoQ track subscribed');
    readMoqTrack(forwarded.track, forwarded.pipeline, {
      onResult: ({ packets, keyframe }) => {
        this.deliver(packets, keyframe);
        if (keyframe && this.state === 'connecting') this.checkReady();
      },
      onEnd: (reason, detail) => {
        if (reason === 'internal_error') this.log.error({ track: forwarded.name, detail }, 'MoQ track failed inside the ingest');
        this.endTrack(forwarded, reason, detail);
      },
      stopped: () => this.state === 'closed' || forwarded.ended !== undefined,
    });
    return forwarded;
  }

  private deliver(packets: InboundRtp[], keyframe: boolean): void {
    const backlog = this.backlog;
    if (!backlog) {
      for (const packet of packets) for (const listener of this.rtpListeners) listener(packet);
      return;
    }
    // Nobody listens yet: keep what a viewer could start from (the last keyframe on), bounded.
    if (keyframe) {
      backlog.length = 0;
      this.backlogBytes = 0;
    }
    for (const packet of packets) {
      backlog.push(packet);
      this.backlogBytes += packet.size;
    }
    if (backlog.length > this.limits.maxBacklogPackets || this.backlogBytes > this.limits.maxBacklogBytes) {
      backlog.length = 0;
      this.backlogBytes = 0;
    }
  }

  private endTrack(forwarded: ForwardedTrack, reason: string, detail: string): void {
    if (forwarded.ended || this.state === 'closed') return;
    forwarded.ended = reason;
    forwarded.track.close();
    const stats = forwarded.pipeline.getStats();
    const level = reason === 'track_closed' ? 'info' : 'warn';
    this.log[level]({ track: forwarded.name, kind: forwarded.kind, reason, detail, frames: stats.frames }, 'MoQ track ended');
    if (this.state === 'connecting') {
      if (forwarded.kind === 'video') this.fail(new MoqIngestError('moq_track_failed', `video track ${forwarded.name}: ${reason}: ${detail}`));
      else this.checkReady();
      return;
    }
    const videoRuns = this.video && !this.video.ended;
    const audioRuns = this.audio && !this.audio.ended;
    if ((this.codecList.video && !videoRuns) || (!videoRuns && !audioRuns)) this.shutdown(`${forwarded.kind}_track_ended`, 0);
  }

  /** Connected once video has a keyframe with a readable SPS (or there is no video), and audio is there or given up on. */
  private checkReady(): void {
    if (this.state !== 'connecting') return;
    const video = this.video && !this.video.ended ? this.video : undefined;
    const audio = this.audio && !this.audio.ended ? this.audio : undefined;
    const videoPipeline = video?.pipeline as H264TrackPipeline | undefined;
    const videoReady = videoPipeline?.sps !== undefined && videoPipeline.getStats().keyframes > 0;
    if ((video && !videoReady) || (!video && !audio)) return;
    if ((video && audio) || this.settled) return this.connect(video, audio);
    if (!this.settleTimer) {
      this.settleTimer = setTimeout(() => {
        this.settled = true;
        this.checkReady();
      }, this.options.trackSettleMs ?? 1000);
      this.settleTimer.unref();
    }
  }

  private connect(video: ForwardedTrack | undefined, audio: ForwardedTrack | undefined): void {
    clearTimeout(this.setupTimer);
    clearTimeout(this.settleTimer);
    const codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec } = {};
    const h264 = video?.pipeline as H264TrackPipeline | undefined;
    if (video && h264) {
      codecs.video = { kind: 'video', name: 'H264', clockRate: 90_000, payloadType: this.options.payloadTypes?.video ?? 96, fmtp: `${H264_FMTP}${h264.profileLevelId}` };
    }
    if (audio) codecs.audio = { kind: 'audio', name: 'opus', clockRate: 48_000, channels: 2, payloadType: this.options.payloadTypes?.audio ?? 111, fmtp: OPUS_FMTP };
    this.codecList = codecs;
    this.connectedAt = this.now();
    this.log.info(
      {
        moqVersion: this.connection?.version,
        broadcast: this.broadcastPath,
        video: video && { track: video.name, catalogCodec: video.catalogCodec, profileLevelId: h264?.profileLevelId, width: h264?.sps?.width, height: h264?.sps?.height },
        audio: audio && { track: audio.name },
        controlVersion: this.backChannel.publisherVersion,
        setupMs: Math.round(this.connectedAt - this.createdAt),
      },
      'MoQ publisher connected',
    );
    this.setState('connected');
    this.resolveReady();
  }

  private waitingFor(): string {
    if (!this.connection) return 'the moq-lite handshake did not complete';
    if (!this.broadcastPath) return 'no broadcast was announced';
    if (this.catalogUpdates.count === 0) return 'no catalog.json arrived';
    if (!this.video && !this.audio) {
      const skipped = this.selection?.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
      return `the catalog names no H.264 or Opus track onair can forward${skipped ? ` (${skipped})` : ''}`;
    }
    if (this.video && !this.video.ended) return `no keyframe with a readable SPS on ${this.video.name} (${this.video.pipeline.getStats().frames} frames read)`;
    return 'the tracks did not start';
  }

  /**
   * The library gives up on its connection when a stream fails in a way it treats as fatal (one
   * this ingest refused, a protocol error) — or when the publisher left and its streams ended
   * before the session's own end was reported. The session's end, if it comes within the turn,
   * says the latter; otherwise the session is closed here, with the reason.
   */
  private libraryClosed(): void {
    if (this.state === 'closed' || this.shuttingDown) return;
    setImmediate(() => {
      if (this.state === 'closed' || this.shuttingDown) return;
      const detail = this.lastRefusal ? `after refusing ${this.lastRefusal}` : "@moq/lite's reason is in the debug log";
      this.fail(new MoqIngestError('moq_protocol_error', `the moq-lite connection failed (${detail})`));
    });
  }

  private publisherGone(detail: string): void {
    if (this.state === 'connecting') this.fail(new MoqIngestError('moq_session_closed', detail));
    else if (this.state === 'connected') {
      this.log.info({ detail }, this.endNotified ? 'MoQ publisher closed the session as asked' : 'MoQ publisher left');
      this.shutdown(this.endNotified ?? 'publisher_closed', 0);
    }
  }

  /** Setup failed (rejects `ready`), or the running session broke: either way it ends. */
  private fail(error: MoqIngestError): void {
    if (this.state === 'closed' || this.shuttingDown) return;
    if (this.state === 'connecting') {
      this.log.warn({ code: error.code, detail: error.message }, 'MoQ publish session refused');
      this.rejectReady(error);
    } else this.log.warn({ code: error.code, detail: error.message }, 'MoQ publish session failed');
    this.shutdown(error.code, 1, error.message);
  }

  private shutdown(reason: MoqIngestErrorCode | string, closeCode: number, detail?: string): void {
    // Closing the connection below makes the library close the session, which calls back here.
    if (this.state === 'closed' || this.shuttingDown) return;
    this.shuttingDown = true;
    const wasConnecting = this.state === 'connecting';
    this.closeReason = reason;
    clearTimeout(this.setupTimer);
    clearTimeout(this.settleTimer);
    clearTimeout(this.endNoticeTimer);
    for (const forwarded of [this.video, this.audio]) forwarded?.track.close();
    this.catalogTrack?.close();
    this.broadcast?.close();
    this.announced?.close();
    this.backChannel.close();
    this.backlog = undefined;
    this.rtpListeners = [];
    const closeReason = detail ? `${reason}: ${detail}` : reason;
    try {
      this.session.close({ closeCode, reason: closeReason.slice(0, 200) });
    } catch {
      // already closed
    }
    try {
      this.connection?.close();
    } catch {
      // already closed
    }
    if (wasConnecting) this.rejectReady(new MoqIngestError('moq_closed', `closed during setup (${reason})`));
    this.setState('closed');
    if (!wasConnecting) this.log.info({ reason, ...this.summary() }, 'MoQ publisher closed');
  }

  private summary(): Record<string, unknown> {
    const stats = this.getStats();
    return Object.fromEntries(Object.entries(stats.tracks).map(([kind, track]) => [kind, { frames: track.frames, groups: track.groups, packets: track.packets, dropped: track.dropped }]));
  }

  private setState(state: PeerState): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.emit('state', state);
  }
}
