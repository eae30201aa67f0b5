/**
 * One live stream's media: the current publisher session, the viewer sessions and the transcoded
 * renditions, keyed by stream id. It outlives publisher sessions: when a publisher drops and comes
 * back (an OBS reconnect, or a new WHIP session with the same key), viewers keep their WHEP
 * sessions and their RTP stream goes on with continuous sequence numbers and timestamps
 * (RtpRewriter), starting again at the new publisher's first keyframe, which is asked for at once.
 *
 * Renditions: a viewer's video comes from one origin at a time, the publisher's own track
 * (`source`) or a transcoded rendition (RenditionCatalog). A viewer that pins another one keeps
 * receiving its current origin until the target's next keyframe, then switches in one packet;
 * the rewriter makes the switch look like a publisher takeover to the player (same SSRC,
 * sequence numbers going on by one, timestamps by the wall clock). Audio is always the
 * publisher's. The router owns the stream's rendition set: it ends when the stream goes offline.
 */
import { EventEmitter } from 'node:events';
import type { LiveState, RenditionState, WhepLayers } from '@onair/shared/api';
import { OnairError } from '@onair/shared/errors';
import type { StreamCodecs } from '@onair/shared/sdp';
import type { Logger } from '@onair/service/logger';
import type { InboundRtp, MediaKind, NegotiatedCodec, OutboundRtp } from '../webrtc/engine';
import { probeKeyframe } from './codec-probe';
import { KeyframeRequester } from './keyframe-requester';
import { SOURCE, type RenditionFeed, type RenditionSource, type VideoOrigin } from './rendition-catalog';
import { RenditionSelector, type RenditionSwitches } from './rendition-selector';
import { RtpRewriter } from './rtp-rewriter';
import type { PublisherSession, ViewerSession } from './sessions';
import { TrackMeter } from './track-meter';
import type { ViewerState } from './viewer-state';

/** Counters shared by every stream of a MediaRouter (read by /metrics). */
export interface MediaCounters {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
}

/** A received packet waiting for the flush: media to send, or a probe to number around. */
interface PendingPacket {
  packet: InboundRtp;
  now: number;
  /** false: not forwarded, but numbered in the source's sequence (RtpRewriter.skip). */
  media: boolean;
  keyframeStart: boolean;
  /** Whose video it is (audio is always the publisher's). */
  origin: VideoOrigin;
}

interface StreamRouterEvents {
  live: [];
  offline: [];
  /** No publisher and no viewers left: the owner may drop this router. */
  idle: [];
}

export interface StreamRouterOptions {
  streamId: string;
  keyframeIntervalMs: number;
  counters: MediaCounters;
  log: Logger;
  /**
   * A connected publisher that sends no RTP for this long is closed (ms, default 10 000).
   * Without it a publisher that vanished without DELETE (crash, network gone) would only be
   * noticed when ICE consent expires, ~30 s later; MediaMTX's readTimeout is 10 s too.
   */
  mediaTimeoutMs?: number;
  now?: () => number;
}

export class StreamRouter extends EventEmitter<StreamRouterEvents> {
  readonly streamId: string;
  private publisher: PublisherSession | undefined;
  /** A newer WHIP session for this stream that has not connected yet: it takes over when it does. */
  private candidate: PublisherSession | undefined;
  private readonly viewers = new Map<string, ViewerState>();
  private readonly keyframes: KeyframeRequester;
  private meters: Partial<Record<MediaKind, TrackMeter>> = {};
  private picture: { width: number; height: number } | undefined;
  private live = false;
  private closed = false;
  private lastPacketAt = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly now: () => number;
  /** Packets received since the last flush, in arrival order (see `forward`). */
  private pending: PendingPacket[] = [];
  private flushScheduled = false;
  /** Which video each viewer gets: the renditions, pins, each viewer's rate controller. */
  private readonly selector: RenditionSelector;

  constructor(private readonly options: StreamRouterOptions) {
    super();
    this.streamId = options.streamId;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.selector = new RenditionSelector({
      log: this.log,
      now: this.now,
      isLive: () => this.live,
      viewers: () => this.viewers.values(),
      flush: () => this.flush(),
      requestKeyframe: (reason) => this.keyframes.request(reason),
      source: () => {
        const now = this.now();
        const video = this.meters.video?.snapshot(now);
        return { width: this.picture?.width ?? null, height: this.picture?.height ?? null, frameRate: video?.fps ?? null, videoKbps: video?.bitrateKbps ?? 0, audioKbps: this.meters.audio?.snapshot(now).bitrateKbps ?? 0 };
      },
    });
    this.keyframes = new KeyframeRequester({
      intervalMs: options.keyframeIntervalMs,
      send: (reason) => {
        if (!this.publisher?.connected) return;
        this.log.debug({ reason }, 'keyframe request (PLI) to the publisher');
        this.publisher.peer.requestKeyframe();
      },
    });
  }

  get isLive(): boolean {
    return this.live;
  }

  get currentPublisher(): PublisherSession | undefined {
    return this.publisher;
  }

  /** Codecs of the current publisher: what a joining viewer must negotiate. */
  get codecs(): StreamCodecs {
    const codecs = this.publisher?.peer.codecs ?? {};
    return {
      ...(codecs.video ? { video: { name: codecs.video.name, clockRate: codecs.video.clockRate, fmtp: codecs.video.fmtp } } : {}),
      ...(codecs.audio ? { audio: { name: codecs.audio.name, clockRate: codecs.audio.clockRate, channels: codecs.audio.channels, fmtp: codecs.audio.fmtp } } : {}),
    };
  }

  /** Connected WHEP viewers (people), not forwards to the transcoder nor other nodes' edge pulls. */
  get viewerCount(): number {
    let count = 0;
    for (const viewer of this.viewers.values()) if (viewer.session.connected && viewer.session.kind === 'whep' && viewer.session.edgeNode === undefined) count += 1;
    return count;
  }

  /** Every viewer session (people, forwards, edge pulls), connected or not. */
  get audience(): number {
    return this.viewers.size;
  }

  get hasSessions(): boolean {
    return this.publisher !== undefined || this.candidate !== undefined || this.viewers.size > 0;
  }

  /**
   * Makes `session` the stream's publisher. A second publisher with a live key takes over:
   * the older WHIP session is closed (like MediaMTX's overridePublisher), because the usual
   * cause is the same broadcaster reconnecting before the old session timed out, and refusing
   * would lock them out until it does. While the current publisher is connected, the newcomer
   * takes over only once it has connected itself: a session that never connects (a dead client,
   * or a POST made only to knock the stream off) closes on its connect timeout and changes
   * nothing. Of two newcomers, the later one waits.
   *
   * Viewers negotiated the codecs the stream had when they joined. A new publisher with
   * another video codec (e.g. VP8 after H.264) cannot be forwarded to them without
   * re-encoding, so those viewer sessions are closed (they reconnect and negotiate again);
   * viewers with the same codec stay. H.264 profiles are not compared: forwarding keeps the
   * bitstream and WebRTC H.264 decoders take any profile the publisher sends here.
   */
  attachPublisher(session: PublisherSession): void {
    if (this.publisher?.connected && !session.connected) {
      if (this.candidate) this.candidate.close('replaced');
      this.log.info({ current: this.publisher.id, next: session.id }, 'a new publisher will take over once it connects');
      this.candidate = session;
      session.once('connected', () => {
        if (this.candidate !== session) return;
        this.candidate = undefined;
        this.takeOver(session);
      });
      session.once('closed', () => {
        if (this.candidate !== session) return;
        this.candidate = undefined;
        this.maybeIdle();
      });
      return;
    }
    this.takeOver(session);
  }

  private takeOver(session: PublisherSession): void {
    // What the previous publisher sent goes out under the numbering it was received in.
    this.flush();
    const previous = this.publisher;
    if (previous) {
      this.log.info({ previous: previous.id, next: session.id }, 'a new publisher takes over the stream');
      this.detachPublisher(previous);
      previous.close('replaced');
    }
    this.publisher = session;
    this.meters = {};
    this.picture = undefined;
    for (const viewer of this.viewers.values()) {
      const mismatch = (['video', 'audio'] as const).find((kind) => {
        const mine = viewer.session.codecs[kind];
        const theirs = session.peer.codecs[kind];
        return mine && theirs && mine.name.toLowerCase() !== theirs.name.toLowerCase();
      });
      if (mismatch) {
        this.log.info({ viewer: viewer.session.id, kind: mismatch, was: viewer.session.codecs[mismatch]?.name, now: session.peer.codecs[mismatch]?.name }, 'closing viewer: the new publisher uses another codec');
        viewer.session.close('codec_changed');
        continue;
      }
      for (const rewriter of Object.values(viewer.rewriters)) rewriter.reset();
      viewer.waitingForKeyframe = true;
      // The renditions ended with the previous publisher (detachPublisher): every viewer starts
      // again on the source, and moves to its pinned rendition once the transcoder sends it.
      viewer.video = this.selector.desiredOrigin(viewer);
      viewer.target = undefined;
    }
    this.selector.updateWanted();
    session.peer.onRtp((packet) => {
      if (this.publisher === session) this.forward(packet);
    });
    const onConnected = () => {
      if (this.publisher !== session) return;
      this.live = true;
      this.watch(session);
      this.keyframes.resetWindow();
      this.keyframes.request('publisher-connected');
      this.emit('live');
    };
    if (session.connected) onConnected();
    else session.once('connected', onConnected);
    session.once('closed', () => {
      if (this.publisher !== session) return;
      this.detachPublisher(session);
      this.maybeIdle();
    });
  }

  /** Closes the current publisher session (and one waiting to take over); viewers stay and resume with the next publisher. */
  disconnectPublisher(reason: string): void {
    this.candidate?.close(reason);
    this.publisher?.close(reason);
  }

  addViewer(session: ViewerSession): void {
    this.flush();
    const rewriters: ViewerState['rewriters'] = {};
    for (const kind of ['video', 'audio'] as const) {
      const codec = session.codecs[kind];
      const ssrc = session.ssrc(kind);
      if (codec && ssrc !== undefined) rewriters[kind] = new RtpRewriter({ ssrc, payloadType: codec.payloadType, clockRate: codec.clockRate });
    }
    const viewer: ViewerState = { session, rewriters, waitingForKeyframe: true, video: SOURCE, target: undefined, pin: undefined, auto: SOURCE.name, rate: undefined };
    this.viewers.set(session.id, viewer);
    this.selector.attachRate(viewer);
    // A rendition's keyframes come from the transcoder's clock (every GOP); only the source's can be asked for.
    session.peer.onKeyframeRequest((type) => {
      if (viewer.video === SOURCE) this.keyframes.request(`viewer-${type}`);
    });
    session.once('connected', () => this.keyframes.request('viewer-joined'));
    session.once('closed', () => {
      this.viewers.delete(session.id);
      this.selector.updateWanted();
      this.maybeIdle();
    });
  }

  /**
   * Takes a transcoder's rendition set as the stream's renditions (replacing the previous set of
   * the same instance; 409 renditions_in_use for another instance's). Viewers that pinned a
   * rendition of that name move to it at its first keyframe.
   */
  attachRenditions(set: RenditionSource): void {
    if (!this.live || this.closed) throw new OnairError('stream_offline', 'The stream is not live: there is nothing to transcode.');
    this.flush();
    const catalog = this.selector.catalog;
    const replaced = catalog.replace(set);
    set.onVideo((feed, packet) => {
      if (catalog.set === set) this.forwardRendition(feed, packet);
    });
    set.once('closed', () => {
      if (catalog.remove(set)) this.selector.changed();
    });
    replaced?.close('replaced');
    this.log.info({ set: set.id, renditions: set.feeds.map((feed) => feed.name), replaced: replaced?.id }, 'renditions attached');
    this.selector.changed();
  }

  /** The stream's current rendition set, if any. */
  get renditionSet(): RenditionSource | undefined {
    return this.selector.catalog.set;
  }

  /** Automatic moves of its viewers between renditions since the stream was routed. */
  get renditionSwitches(): RenditionSwitches {
    return { ...this.selector.switches };
  }

  /**
   * Pins a WHEP viewer's video to a rendition by name (`source` included), or gives the choice
   * back to the server (`undefined`). Throws 404 rendition_not_found for a name the stream does
   * not have in a codec the viewer negotiated.
   */
  pinRendition(sessionId: string, name: string | undefined): WhepLayers {
    return this.selector.pin(this.whepViewer(sessionId), name);
  }

  /** What a WHEP viewer may receive and what it gets (the WHEP layer extension's GET). */
  layers(sessionId: string): WhepLayers {
    return this.selector.layersOf(this.whepViewer(sessionId));
  }

  /** Video renditions with their viewers: the source first, then the transcoded ones. */
  renditionStates(): RenditionState[] {
    return this.selector.states();
  }

  liveState(): LiveState {
    const publisher = this.publisher;
    const viewers = this.viewerCount;
    if (!this.live || !publisher) return { live: false, since: null, publisher: null, video: null, audio: null, viewers: { whep: viewers, total: viewers }, renditions: [] };
    const now = this.now();
    const video = publisher.peer.codecs.video;
    const audio = publisher.peer.codecs.audio;
    const videoSnap = this.meters.video?.snapshot(now);
    const audioSnap = this.meters.audio?.snapshot(now);
    return {
      live: true,
      since: (publisher.connectedAt ?? publisher.createdAt).toISOString(),
      publisher: { protocol: publisher.kind, sessionId: publisher.id },
      video: video
        ? { codec: video.name, width: this.picture?.width ?? null, height: this.picture?.height ?? null, fps: videoSnap?.fps ?? null, bitrateKbps: videoSnap?.bitrateKbps ?? 0, packetsLost: videoSnap?.packetsLost ?? 0 }
        : null,
      audio: audio ? { codec: audio.name, bitrateKbps: audioSnap?.bitrateKbps ?? 0 } : null,
      viewers: { whep: viewers, total: viewers },
      renditions: this.renditionStates(),
    };
  }

  /** Closes the publisher and every viewer (stream deleted, server stopping). Idempotent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    clearInterval(this.watchdog);
    this.keyframes.close();
    this.candidate?.close(reason);
    this.selector.catalog.set?.close(reason);
    this.publisher?.close(reason);
    for (const viewer of [...this.viewers.values()]) viewer.session.close(reason);
    this.viewers.clear();
    this.removeAllListeners('idle');
  }

  /** Closes the publisher when its media stops (see `mediaTimeoutMs`). */
  private watch(session: PublisherSession): void {
    clearInterval(this.watchdog);
    const timeoutMs = this.options.mediaTimeoutMs ?? 10_000;
    this.lastPacketAt = this.now();
    this.watchdog = setInterval(() => {
      if (this.publisher !== session) return clearInterval(this.watchdog);
      if (this.now() - this.lastPacketAt > timeoutMs) {
        this.log.warn({ session: session.id, timeoutMs }, 'no media from the publisher; closing its session');
        session.close('media_timeout');
      }
    }, Math.min(1000, timeoutMs / 2));
    this.watchdog.unref();
  }

  private detachPublisher(session: PublisherSession): void {
    if (this.publisher !== session) return;
    this.flush();
    clearInterval(this.watchdog);
    this.publisher = undefined;
    if (this.live) {
      this.live = false;
      // The transcoder stops with the stream; its renditions end here, not when it says so.
      this.selector.catalog.set?.close('stream_offline');
      this.emit('offline');
    }
  }

  private maybeIdle(): void {
    if (!this.hasSessions) this.emit('idle');
  }

  /**
   * Data plane, first half: one publisher packet is measured and queued. The queue is sent at
   * the end of this turn of the event loop (`flush`), so every packet read from the
   * publisher's socket in one turn goes out together, viewer by viewer.
   *
   * Why not packet by packet: a frame arrives as a burst (a 2.5 Mbps P-frame is ~9 packets, a
   * keyframe ~80), and sending each packet to all N viewers before reading the next held every
   * viewer's last packet of the frame back by ~(packets − 1) × N × the cost per send (at 400
   * viewers, ~17 ms for a P-frame, ~170 ms for a keyframe); players' jitter buffers grow to
   * match. Viewer by viewer, viewer i has the frame after (i + 1) × packets × cost: half the
   * wait on average, and the same for the last viewer. With one packet per turn (light load)
   * nothing changes but a setImmediate.
   */
  private forward(packet: InboundRtp): void {
    const now = this.now();
    this.lastPacketAt = now;
    const counters = this.options.counters;
    counters.packetsIn += 1;
    counters.bytesIn += packet.size;
    const codec: NegotiatedCodec | undefined = this.publisher?.peer.codecs[packet.kind];
    if (!codec) return;
    const meter = (this.meters[packet.kind] ??= new TrackMeter(codec.clockRate));
    if (packet.payload.length === 0 || packet.payloadType !== codec.payloadType) {
      // Not forwarded (a padding-only probe; a stray RTX or RED packet on the media SSRC), but
      // numbered in the source's sequence: every viewer's numbering closes over it, or the hole
      // is "lost" to the player, NACKed in vain and freezes Chrome's H.264 decoding until a
      // keyframe (see RtpRewriter).
      if (packet.payload.length === 0) meter.recordNoMedia(packet);
      this.enqueue({ packet, now, media: false, keyframeStart: false, origin: SOURCE });
      return;
    }
    meter.record(packet, packet.size, now);
    let keyframeStart = false;
    if (packet.kind === 'video') {
      const info = probeKeyframe(codec.name, packet.payload);
      keyframeStart = info.keyframeStart;
      if (keyframeStart) this.keyframes.keyframeArrived();
      if (info.width && info.height) this.picture = { width: info.width, height: info.height };
    }
    this.enqueue({ packet, now, media: true, keyframeStart, origin: SOURCE });
  }

  /** A rendition's video packet: queued like the publisher's when a viewer receives or awaits it. */
  private forwardRendition(feed: RenditionFeed, packet: InboundRtp): void {
    if (!this.selector.wanted.has(feed)) return;
    const media = packet.payload.length > 0;
    this.enqueue({ packet, now: this.now(), media, keyframeStart: media && probeKeyframe(feed.codec, packet.payload).keyframeStart, origin: feed });
  }

  private enqueue(item: PendingPacket): void {
    if (this.viewers.size === 0) return;
    this.pending.push(item);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /**
   * Data plane, second half: the queued packets to every viewer, each with its own header.
   * Runs on its own at the end of the turn; control-plane changes (a publisher attached or
   * detached, a viewer added) run it first so that each packet meets the state it arrived in.
   */
  flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const counters = this.options.counters;
    // One object for every send: engines copy what they keep (OutboundRtp).
    const out: OutboundRtp = { sequenceNumber: 0, timestamp: 0, ssrc: 0, payloadType: 0, marker: false, payload: batch[0]!.packet.payload };
    let waiting = false;
    let switched = false;
    for (const viewer of this.viewers.values()) {
      const connected = viewer.session.connected;
      let sawVideo = false;
      for (const { packet, now, media, keyframeStart, origin } of batch) {
        const rewriter = viewer.rewriters[packet.kind];
        if (!rewriter) continue;
        if (packet.kind === 'video' && origin !== viewer.video) {
          // Another origin's video: the viewer's switch target takes over at its keyframe.
          if (origin !== viewer.target || !keyframeStart || !connected) continue;
          viewer.video = origin;
          viewer.target = undefined;
          viewer.waitingForKeyframe = false;
          // A new source to the rewriter even if an SSRC were reused: numbering goes on by one.
          rewriter.reset();
          switched = true;
        }
        if (!media) {
          rewriter.skip(packet);
          continue;
        }
        if (!connected) continue;
        if (packet.kind === 'video') sawVideo = true;
        if (packet.kind === 'video' && viewer.waitingForKeyframe) {
          if (!keyframeStart) continue;
          viewer.waitingForKeyframe = false;
        }
        out.marker = packet.marker;
        out.payload = packet.payload;
        if (!rewriter.rewrite(packet, now, out)) continue;
        // No per-viewer copy of the payload here: the engine serializes (and encrypts) into the
        // one buffer it sends, reading the shared payload (OutboundRtp).
        viewer.session.peer.send(packet.kind, out);
        counters.packetsOut += 1;
        counters.bytesOut += 12 + packet.payload.length;
      }
      // Still waiting for the source after this batch's video (a keyframe later in the batch
      // ends the wait), or switching to it: a rendition's keyframe comes on its own clock.
      if ((sawVideo && viewer.waitingForKeyframe && viewer.video === SOURCE) || viewer.target === SOURCE) waiting = true;
    }
    if (switched) this.selector.updateWanted();
    // A lost PLI must not leave a viewer black until the next GOP: ask again (rate-limited).
    if (waiting) this.keyframes.request('viewer-waiting');
  }

  private whepViewer(sessionId: string): ViewerState {
    const viewer = this.viewers.get(sessionId);
    if (!viewer || viewer.session.kind !== 'whep' || viewer.session.closed) throw new OnairError('session_not_found', `No WHEP session ${sessionId}.`);
    return viewer;
  }
}
