/**
 * One live stream's media: the current publisher session, the viewer sessions and the transcoded
 * renditions, keyed by stream id. It outlives publisher sessions: when a publisher drops and comes
 * back (an OBS reconnect, or a new WHIP session with the same key), viewers keep their WHEP
 * sessions and their RTP stream goes on with continuous sequence numbers and timestamps
 * (RtpRewriter), starting again at the new publisher's first keyframe, which is asked for at once.
 *
 * Renditions: a viewer's video comes from one origin at a time, the publisher's own track
 * (`source`), one of its simulcast layers or a transcoded rendition (RenditionCatalog). A viewer
 * that pins another one keeps receiving its current origin until the target's next keyframe, then
 * switches in one packet; the rewriter makes the switch look like a publisher takeover to the
 * player (same SSRC, sequence numbers going on by one, timestamps by the wall clock). Audio is
 * always the publisher's, held back by a transcoded rendition's delay (audio-alignment.ts). The
 * router owns the stream's rendition sets: they end when the stream goes offline.
 *
 * Simulcast: with a simulcast publisher, `source` is the layer with the largest picture that is
 * sending (SimulcastLayers); the others are renditions. When another layer becomes the source,
 * viewers on the source keep the old layer until the new one's keyframe, asked for at once.
 *
 * Codecs: a viewer that negotiated a codec the source is not in (a VP8-only browser, an H.264
 * stream) is served the largest rendition in its codec, and waits until there is one — at most
 * `renditionWaitMs`. The codecs such viewers need are announced (`renditions-wanted`) so the
 * transcoder makes them while someone watches (on-demand-codecs.ts).
 */
import { EventEmitter } from 'node:events';
export type { MediaCounters } from './fan-out';
import type { LiveState, RenditionState, WhepLayers } from '@onair/shared/api';
import { OnairError } from '@onair/shared/errors';
import { codecLabel, type StreamCodecs } from '@onair/shared/sdp';
import type { Logger } from '@onair/service/logger';
import type { InboundRtp, MediaKind, NegotiatedCodec } from '../webrtc/engine';
import { probeKeyframe } from './codec-probe';
import { KeyframeCadence } from './keyframe-cadence';
import { KeyframeRequester } from './keyframe-requester';
import { onDemandCodecsWanted } from './on-demand-codecs';
import { followSourceMove, NONE, SOURCE } from './origin-choice';
import type { RenditionFeed, RenditionSource, VideoOrigin } from './rendition-catalog';
import { RenditionSelector, type RenditionSwitches } from './rendition-selector';
import { liveStateOf } from './rendition-states';
import { AudioAlignment, MAX_AUDIO_DELAY_MS } from './audio-alignment';
import { type MediaCounters, type PendingPacket, sendBatch, sendDueAudio } from './fan-out';
import { RtpRewriter } from './rtp-rewriter';
import type { PublisherSession, ViewerSession } from './sessions';
import { SimulcastLayers } from './simulcast-layers';
import { TrackMeter } from './track-meter';
import type { ViewerState } from './viewer-state';

interface StreamRouterEvents {
  live: [];
  offline: [];
  /** No publisher and no viewers left: the owner may drop this router. */
  idle: [];
  /** The video codecs viewers need that only an on-demand rendition can give them changed (sorted). */
  'renditions-wanted': [codecs: string[]];
}

export interface StreamRouterOptions {
  streamId: string;
  keyframeIntervalMs: number;
  counters: MediaCounters;
  log: Logger;
  /**
   * A viewer that negotiated a codec no origin is in is closed when none comes within this long
   * (ms, default 10 000): the transcoder was asked for it and did not deliver.
   */
  renditionWaitMs?: number;
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
  /** Sends the viewers' held audio when it is due (audio-alignment.ts), at `audioTimerAt`. */
  private audioTimer: NodeJS.Timeout | undefined;
  private audioTimerAt = Infinity;
  /** Which video each viewer gets: the renditions, pins, each viewer's rate controller. */
  private readonly selector: RenditionSelector;
  /** The current publisher's simulcast layers, when it sends simulcast. */
  private simulcast: SimulcastLayers | undefined;
  /** What was last announced as `renditions-wanted`. */
  private codecsWanted: string[] = [];
  /** When each transcoded rung's keyframes arrive: a viewer moving down times its hold to the next one. */
  private readonly keyframeCadence = new KeyframeCadence<VideoOrigin>();

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
      requestKeyframe: (origin, reason) => this.requestKeyframe(origin, reason),
      nextKeyframeAt: (origin, now) => this.keyframeCadence.next(origin, now),
      awaitRendition: (viewer) => this.awaitRendition(viewer),
      source: () => {
        const now = this.now();
        const video = this.sourceMeter()?.snapshot(now);
        return { codec: this.publisher?.peer.codecs.video?.name, width: this.picture?.width ?? null, height: this.picture?.height ?? null, frameRate: video?.fps ?? null, videoKbps: video?.bitrateKbps ?? 0, audioKbps: this.meters.audio?.snapshot(now).bitrateKbps ?? 0 };
      },
    });
    this.keyframes = new KeyframeRequester({
      intervalMs: options.keyframeIntervalMs,
      send: (reason) => {
        if (!this.publisher?.connected) return;
        this.log.debug({ reason }, 'keyframe request (PLI) to the publisher');
        this.publisher.peer.requestKeyframe(this.simulcast?.source?.rid);
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
    this.simulcast?.close();
    const video = session.peer.codecs.video;
    this.simulcast = session.peer.simulcast && video
      ? new SimulcastLayers({ rids: session.peer.simulcast, codec: codecLabel(video), keyframeIntervalMs: this.options.keyframeIntervalMs, now: this.now, requestKeyframe: (rid, reason) => this.requestLayerKeyframe(session, rid, reason) })
      : undefined;
    this.selector.catalog.setSimulcast([]);
    for (const viewer of this.viewers.values()) {
      // A viewer on a rendition in its own codec (VP8 of an H.264 stream) keeps it whatever the
      // publisher sends; others were negotiated for the old publisher's codecs.
      const mismatch = (['video', 'audio'] as const).find((kind) => {
        const mine = viewer.session.codecs[kind];
        const theirs = session.peer.codecs[kind];
        if (kind === 'video' && viewer.crossCodec) return false;
        return mine && theirs && mine.name.toLowerCase() !== theirs.name.toLowerCase();
      });
      if (mismatch) {
        this.log.info({ viewer: viewer.session.id, kind: mismatch, was: viewer.session.codecs[mismatch]?.name, now: session.peer.codecs[mismatch]?.name }, 'closing viewer: the new publisher uses another codec');
        viewer.session.close('codec_changed');
        continue;
      }
      for (const rewriter of Object.values(viewer.rewriters)) rewriter.reset();
      viewer.audio.clear();
      viewer.waitingForKeyframe = true;
      // The renditions ended with the previous publisher (detachPublisher): every viewer starts
      // again on the source, and moves to its pinned rendition once the transcoder sends it;
      // a viewer in another codec waits for its rendition.
      viewer.video = this.selector.desiredOrigin(viewer);
      viewer.target = undefined;
      if (this.selector.endsPinOnly(viewer, viewer.video)) continue;
      if (viewer.video === NONE) this.awaitRendition(viewer);
    }
    this.updateWanted();
    session.peer.onRtp((packet) => {
      if (this.publisher === session) this.forward(packet);
    });
    const onConnected = () => {
      if (this.publisher !== session) return;
      this.live = true;
      this.watch(session);
      this.keyframes.resetWindow();
      this.keyframes.request('publisher-connected');
      // Every layer starts with a keyframe: the first viewers, whatever they pin, start at once.
      for (const layer of this.simulcast?.layers ?? []) layer.keyframes.request('publisher-connected');
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
      if (codec && ssrc !== undefined) rewriters[kind] = new RtpRewriter({ ssrc, payloadType: codec.payloadType, clockRate: codec.clockRate, noOverlap: kind === 'audio' });
    }
    const viewer: ViewerState = { session, rewriters, audio: new AudioAlignment(), waitingForKeyframe: true, video: SOURCE, target: undefined, hold: undefined, pin: undefined, pinOnly: false, auto: SOURCE.name, rate: undefined, crossCodec: false, waitTimer: undefined };
    viewer.crossCodec = !this.selector.canPlay(viewer, SOURCE);
    this.viewers.set(session.id, viewer);
    this.selector.attachRate(viewer);
    viewer.video = this.selector.desiredOrigin(viewer);
    // A rendition's keyframes come from the transcoder's clock (every GOP); the source's and a
    // simulcast layer's can be asked for.
    session.peer.onKeyframeRequest((type) => this.requestKeyframe(viewer.video, `viewer-${type}`));
    session.once('connected', () => this.requestKeyframe(viewer.video, 'viewer-joined'));
    session.once('closed', () => {
      clearTimeout(viewer.waitTimer);
      this.viewers.delete(session.id);
      this.updateWanted();
      this.maybeIdle();
    });
    this.updateWanted();
    if (viewer.video === NONE) this.awaitRendition(viewer);
  }

  /**
   * Takes a transcoder's rendition set as the stream's renditions (replacing the previous set of
   * the same instance; 409 renditions_in_use for another instance's). Viewers that pinned a
   * rendition of that name move to it at its first keyframe.
   */
  attachRenditions(set: RenditionSource): void {
    if (!this.live || this.closed) throw new OnairError('stream_offline', 'The stream is not live: there is nothing to transcode.');
    this.flush();
    const replaced = this.selector.catalog.replace(set);
    set.onVideo((feed, packet) => {
      if (this.selector.catalog.sets.includes(set)) this.forwardRendition(feed, packet);
    });
    set.once('closed', () => {
      if (this.selector.catalog.remove(set)) this.selector.changed();
    });
    replaced?.close('replaced');
    this.log.info({ set: set.id, codec: set.codec, renditions: set.feeds.map((feed) => feed.name), replaced: replaced?.id }, 'renditions attached');
    this.selector.changed();
  }

  /** The stream's rendition sets (one per codec). */
  get renditionSets(): readonly RenditionSource[] {
    return this.selector.catalog.sets;
  }

  /**
   * Pins a WHEP viewer's video to a rendition by name (`source` included), or gives the choice
   * back to the server (`undefined`). Throws 404 rendition_not_found for a name the stream does
   * not have in a codec the viewer negotiated.
   */
  pinRendition(sessionId: string, name: string | undefined, only = false): WhepLayers {
    return this.selector.pin(this.whepViewer(sessionId), name, only);
  }

  /** What a WHEP viewer may receive and what it gets (the WHEP layer extension's GET). */
  layers(sessionId: string): WhepLayers {
    return this.selector.layersOf(this.whepViewer(sessionId));
  }

  /** Automatic moves of its viewers between renditions since the stream was routed. */
  get renditionSwitches(): RenditionSwitches {
    return { ...this.selector.switches };
  }

  /** Video renditions with their viewers: the source first, then the simulcast layers, then the transcoded ones. */
  renditionStates(): RenditionState[] {
    return this.selector.states();
  }

  liveState(): LiveState {
    const publisher = this.publisher;
    const viewers = this.viewerCount;
    if (!this.live || !publisher) return { live: false, since: null, publisher: null, video: null, audio: null, viewers: { whep: viewers, total: viewers }, renditions: [] };
    const now = this.now();
    return liveStateOf({ publisher, picture: this.picture, video: this.sourceMeter()?.snapshot(now), audio: this.meters.audio?.snapshot(now), viewers, renditions: this.renditionStates() });
  }

  /** Closes the publisher and every viewer (stream deleted, server stopping). Idempotent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    clearInterval(this.watchdog);
    clearTimeout(this.audioTimer);
    this.keyframes.close();
    this.candidate?.close(reason);
    for (const set of this.selector.catalog.sets) set.close(reason);
    this.simulcast?.close();
    this.publisher?.close(reason);
    for (const viewer of [...this.viewers.values()]) {
      clearTimeout(viewer.waitTimer);
      viewer.session.close(reason);
    }
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
      // A source layer that stopped hands over even when no other layer shows a keyframe.
      this.electSourceLayer();
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
    this.simulcast?.close();
    this.simulcast = undefined;
    this.selector.catalog.setSimulcast([]);
    if (this.live) {
      this.live = false;
      // The transcoder stops with the stream; its renditions end here, not when it says so.
      for (const set of this.selector.catalog.sets) set.close('stream_offline');
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
    if (packet.rid !== undefined && packet.kind === 'video') return this.forwardLayer(packet, codec, now);
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

  /**
   * A simulcast layer's video packet: measured as its layer, queued as the source when the layer
   * is the source, else like a rendition's (only when a viewer receives or awaits it).
   */
  private forwardLayer(packet: InboundRtp, codec: NegotiatedCodec, now: number): void {
    const received = this.simulcast?.record(packet, codec, now);
    if (!received) return;
    const { layer, media, keyframeStart } = received;
    // The first packet of any layer, or a keyframe that tells a size: the source may change.
    if (media && (keyframeStart || this.simulcast!.source === undefined)) this.electSourceLayer();
    const isSource = layer === this.simulcast!.source;
    if (isSource && keyframeStart) {
      this.keyframes.keyframeArrived();
      if (layer.width && layer.height) this.picture = { width: layer.width, height: layer.height };
    }
    if (!isSource && !this.selector.wanted.has(layer)) return;
    this.enqueue({ packet, now, media, keyframeStart, origin: isSource ? SOURCE : layer });
  }

  /** A rendition's video packet: queued like the publisher's when a viewer receives or awaits it. */
  private forwardRendition(feed: RenditionFeed, packet: InboundRtp): void {
    // Every rung's keyframes are timed, watched or not: a viewer's move down needs the target's cadence before the target is wanted.
    const media = packet.payload.length > 0;
    const keyframeStart = media && probeKeyframe(feed.codec, packet.payload).keyframeStart;
    const now = this.now();
    if (keyframeStart) {
      this.keyframeCadence.keyframe(feed, now, packet.timestamp);
      feed.keyframeArrived?.();
    }
    if (!this.selector.wanted.has(feed)) return;
    this.enqueue({ packet, now, media, keyframeStart, origin: feed });
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
    const { switched, waiting, audioDueAt } = sendBatch(batch, this.viewers.values(), this.options.counters);
    if (switched) this.updateWanted();
    // A lost PLI must not leave a viewer black until the next GOP: ask again (rate-limited).
    for (const origin of waiting) this.requestKeyframe(origin, 'viewer-waiting');
    this.scheduleAudio(audioDueAt);
  }

  /** Wakes up at `dueAt` (router clock) to send the held audio due then, unless it wakes up earlier already. */
  private scheduleAudio(dueAt: number | undefined): void {
    if (dueAt === undefined || dueAt >= this.audioTimerAt || this.closed) return;
    clearTimeout(this.audioTimer);
    this.audioTimerAt = dueAt;
    // At most the longest hold away: after a clock step back what is held is due at once (takeDue).
    this.audioTimer = setTimeout(() => {
      this.audioTimerAt = Infinity;
      this.scheduleAudio(sendDueAudio(this.viewers.values(), this.now(), this.options.counters));
    }, Math.min(MAX_AUDIO_DELAY_MS, Math.max(0, dueAt - this.now()))).unref();
  }

  // ——— renditions, control plane ———

  private whepViewer(sessionId: string): ViewerState {
    const viewer = this.viewers.get(sessionId);
    if (!viewer || viewer.session.kind !== 'whep' || viewer.session.closed) throw new OnairError('session_not_found', `No WHEP session ${sessionId}.`);
    return viewer;
  }

  /** A viewer with nothing to play (no rendition in its codec yet) gets `renditionWaitMs`, then is closed. */
  private awaitRendition(viewer: ViewerState): void {
    if (viewer.waitTimer) return;
    const waitMs = this.options.renditionWaitMs ?? 10_000;
    viewer.waitTimer = setTimeout(() => {
      viewer.waitTimer = undefined;
      if (viewer.video !== NONE || viewer.session.closed) return;
      this.log.warn({ viewer: viewer.session.id, codec: viewer.session.codecs.video?.name, waitMs }, 'no rendition in the viewer\'s codec came in time; closing the viewer');
      viewer.session.close('rendition_unavailable');
    }, waitMs);
    viewer.waitTimer.unref();
  }

  /** Asks for a keyframe of `origin` where one can be asked for: the source, a simulcast layer, a pulled rendition. */
  private requestKeyframe(origin: VideoOrigin, reason: string): void {
    if (origin === SOURCE) this.keyframes.request(reason);
    else if (this.selector.catalog.has(origin)) (origin as RenditionFeed).requestKeyframe?.(reason);
  }

  private requestLayerKeyframe(session: PublisherSession, rid: string, reason: string): void {
    if (this.publisher !== session || !session.connected) return;
    this.log.debug({ rid, reason }, 'keyframe request (PLI) to a simulcast layer');
    session.peer.requestKeyframe(rid);
  }

  /** The source's video meter: its simulcast layer's, or the publisher's one track's. */
  private sourceMeter(): TrackMeter | undefined {
    return this.simulcast ? this.simulcast.source?.meter : this.meters.video;
  }

  /** Chooses the simulcast layer that serves as the source again (SimulcastLayers.elect; viewers: followSourceMove). */
  private electSourceLayer(): void {
    const layers = this.simulcast;
    const previous = layers?.elect(this.now());
    if (!layers || previous === undefined) return;
    const next = layers.source!;
    this.flush();
    this.log.info({ from: previous?.rid ?? null, to: next.rid, width: next.width, height: next.height }, 'simulcast: another layer is the source');
    this.picture = next.width && next.height ? { width: next.width, height: next.height } : undefined;
    this.selector.catalog.setSimulcast(layers.feeds);
    this.keyframes.resetWindow();
    for (const viewer of this.viewers.values()) {
      followSourceMove(viewer, previous, next);
      this.selector.retarget(viewer);
    }
    this.updateWanted();
  }

  /** The origins viewers receive or await (the selector's), and the codecs only on-demand renditions give them. */
  private updateWanted(): void {
    this.selector.updateWanted();
    const codecs = new Set<string>();
    for (const viewer of this.viewers.values()) {
      const codec = viewer.session.codecs.video?.name;
      if (codec && viewer.session.kind === 'whep' && !viewer.session.closed) codecs.add(codec);
    }
    const source = this.publisher?.peer.codecs.video?.name;
    const codecsWanted = onDemandCodecsWanted(codecs, source);
    if (codecsWanted.join() !== this.codecsWanted.join()) {
      this.codecsWanted = codecsWanted;
      this.log.info({ codecs: codecsWanted }, 'renditions wanted in other codecs');
      this.emit('renditions-wanted', codecsWanted);
    }
  }

  /** Video codecs viewers need that only an on-demand rendition gives them (see on-demand-codecs.ts). */
  get renditionsWanted(): string[] {
    return this.codecsWanted;
  }
}
