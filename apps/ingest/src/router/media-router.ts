/**
 * Root of the media ownership tree: MediaRouter → StreamRouter (per stream id) → publisher and
 * viewer sessions → engine peers. Keyed by stream id, not name, so a stream renamed while live
 * keeps working. Also the index of session resources for PATCH/DELETE.
 */
import { EventEmitter } from 'node:events';
import type { LiveState, RenditionState, WhepLayers } from '@onair/shared/api';
import { OnairError } from '@onair/shared/errors';
import type { StreamCodecs } from '@onair/shared/sdp';
import type { Logger } from '@onair/service/logger';
import type { MediaEngine, PeerOptions, PublisherPeer, SdpPeer, ViewerPeer } from '../webrtc/engine';
import { RtpForwardPeer, type RtpForwardTarget } from '../forward/rtp-forward-peer';
import type { NegotiatedCodec } from '../webrtc/engine';
import { type VideoCodecOption, webrtcVideoCodecs } from './on-demand-codecs';
import type { RenditionSource } from './rendition-catalog';
import { type AnySession, ForwardSession, type PublishProtocol, PublisherSession, type SessionKind, ViewerSession } from './sessions';
import { type MediaCounters, StreamRouter } from './stream-router';

export interface MediaRouterOptions {
  engine: MediaEngine;
  log: Logger;
  /** A session whose ICE/DTLS has not connected within this many ms is closed. */
  connectTimeoutMs: number;
  /** At most one keyframe request upstream per stream per this many ms. */
  keyframeIntervalMs: number;
  /** How long a viewer in a codec only an on-demand rendition serves waits for it, ms (default 10 000). */
  renditionWaitMs?: number;
}

interface MediaRouterEvents {
  /** The stream's publisher connected (a takeover emits offline, then live with the new one). */
  live: [streamId: string, publisher: PublisherSession];
  offline: [streamId: string];
  /** The video codecs the stream's viewers need as on-demand renditions changed (on-demand-codecs.ts). */
  'renditions-wanted': [streamId: string, codecs: string[]];
}

const OFFLINE: LiveState = { live: false, since: null, publisher: null, video: null, audio: null, viewers: { whep: 0, total: 0 }, renditions: [] };

export class MediaRouter extends EventEmitter<MediaRouterEvents> {
  private readonly streams = new Map<string, StreamRouter>();
  private readonly sessions = new Map<string, AnySession>();
  private readonly counters: MediaCounters = { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 };
  private closing: Promise<void> | undefined;

  constructor(private readonly options: MediaRouterOptions) {
    super();
  }

  /** Answers a WHIP publisher's offer and makes it the stream's publisher (taking over from any other). */
  async publish(streamId: string, peerOptions: PeerOptions): Promise<PublisherSession<PublisherPeer & SdpPeer>> {
    this.assertOpen();
    const peer = await this.options.engine.createPublisher(peerOptions);
    return this.attachPublisher('whip', streamId, peer);
  }

  /**
   * Makes a publisher that arrived by another way in (a Media-over-QUIC session over
   * WebTransport) the stream's publisher, exactly as a WHIP one: viewers, forwards and takeover
   * cannot tell the difference.
   */
  async attachPublisher<P extends PublisherPeer>(protocol: PublishProtocol, streamId: string, peer: P): Promise<PublisherSession<P>> {
    if (this.closing) {
      await peer.close();
      this.assertOpen();
    }
    const session = new PublisherSession(protocol, streamId, peer, this.options.log, this.options.connectTimeoutMs);
    this.track(session);
    this.stream(streamId).attachPublisher(session);
    return session;
  }

  /**
   * Answers a viewer's offer; the stream must be live (else 404 stream_offline). `edgeNode`: the
   * viewer is that node's edge pull, not a person (not counted as a viewer).
   */
  async view(streamId: string, peerOptions: PeerOptions, options: { edgeNode?: string } = {}): Promise<ViewerSession<ViewerPeer & SdpPeer>> {
    this.assertOpen();
    const peer = await this.options.engine.createViewer(peerOptions);
    const router = this.streams.get(streamId);
    if (!router?.isLive || this.closing) {
      await peer.close();
      throw new OnairError('stream_offline', 'The stream went offline while the session was being set up.');
    }
    const session = new ViewerSession(streamId, peer, this.options.log, this.options.connectTimeoutMs);
    session.edgeNode = options.edgeNode;
    this.track(session);
    router.addViewer(session);
    return session;
  }

  /**
   * Starts forwarding the live stream as plain RTP to `target` (the transcoder's ffmpeg). The
   * forward is a viewer to the StreamRouter, so it starts at a keyframe asked for at once and
   * stays continuous across a publisher takeover. Payload types are fixed (96 video, 97
   * audio): the SDP handed to ffmpeg says so, whatever the publisher negotiated.
   */
  forward(streamId: string, target: RtpForwardTarget, options: { keyframeIntervalMs?: number } = {}): ForwardSession {
    this.assertOpen();
    const router = this.streams.get(streamId);
    if (!router?.isLive) throw new OnairError('stream_offline', 'The stream is not live: there is nothing to forward.');
    const publisherCodecs = router.currentPublisher?.peer.codecs ?? {};
    const codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec } = {};
    if (publisherCodecs.video && target.ports.video) codecs.video = { ...publisherCodecs.video, payloadType: 96 };
    if (publisherCodecs.audio && target.ports.audio) codecs.audio = { ...publisherCodecs.audio, payloadType: 97 };
    const peer = new RtpForwardPeer(codecs, target, options.keyframeIntervalMs);
    const session = new ForwardSession(streamId, peer, this.options.log, this.options.connectTimeoutMs);
    this.track(session);
    router.addViewer(session);
    return session;
  }

  /** The stream's open forwards. */
  forwards(streamId: string): ForwardSession[] {
    return [...this.sessions.values()].filter((session): session is ForwardSession => session instanceof ForwardSession && session.streamId === streamId && !session.closed);
  }

  /**
   * Takes a transcoder's renditions of a live stream (renditions/rendition-set.ts): WHEP viewers
   * may be served them. The set ends with the stream going offline, and replaces an earlier set
   * of the same transcoder instance (409 renditions_in_use for another's).
   */
  attachRenditions(streamId: string, set: RenditionSource): void {
    this.assertOpen();
    const router = this.streams.get(streamId);
    if (!router?.isLive) throw new OnairError('stream_offline', 'The stream is not live: there is nothing to transcode.');
    router.attachRenditions(set);
  }

  /** The stream's rendition sets (one per codec), as a transcoder announced them. */
  renditionSets(streamId: string): readonly RenditionSource[] {
    return this.streams.get(streamId)?.renditionSets ?? [];
  }

  /** Renditions a WHEP session may receive and the one it gets (404 session_not_found). */
  layers(sessionId: string): WhepLayers {
    const session = this.session('whep', sessionId);
    return this.requireRouter(session.streamId).layers(sessionId);
  }

  /** Pins a WHEP session's video to a rendition, or (undefined) lets the server choose; `only`: ViewerState.pinOnly. */
  pinRendition(sessionId: string, name: string | undefined, only = false): WhepLayers {
    const session = this.session('whep', sessionId);
    return this.requireRouter(session.streamId).pinRendition(sessionId, name, only);
  }

  /** Per live stream, its renditions and their viewers (for /metrics). */
  renditionStates(): Array<{ streamId: string; renditions: RenditionState[] }> {
    return [...this.streams.values()].filter((router) => router.isLive).map((router) => ({ streamId: router.streamId, renditions: router.renditionStates() }));
  }

  /** Per routed stream, its viewers' automatic moves between renditions (for /metrics). */
  renditionSwitches(): Array<{ streamId: string; up: number; down: number }> {
    return [...this.streams.values()].map((router) => ({ streamId: router.streamId, ...router.renditionSwitches }));
  }

  /** Codecs the stream's current publisher sends (what viewers negotiate), or undefined when offline. */
  streamCodecs(streamId: string): StreamCodecs | undefined {
    const router = this.streams.get(streamId);
    return router?.isLive ? router.codecs : undefined;
  }

  /** The video codecs a WHEP viewer of a live stream can be served, in matching order (on-demand-codecs.ts); empty when offline. */
  webrtcVideoCodecs(streamId: string): VideoCodecOption[] {
    const router = this.streams.get(streamId);
    return router?.isLive ? webrtcVideoCodecs(router.codecs.video, router.renditionSets) : [];
  }

  /** Streams whose viewers need on-demand renditions, with the codecs (for a follower that (re)connects). */
  renditionsWanted(): Array<{ streamId: string; codecs: string[] }> {
    return [...this.streams.values()].filter((router) => router.renditionsWanted.length > 0).map((router) => ({ streamId: router.streamId, codecs: router.renditionsWanted }));
  }

  session(kind: SessionKind, id: string): AnySession {
    const session = this.sessions.get(id);
    if (!session || session.kind !== kind || session.closed) throw new OnairError('session_not_found', `No ${kind.toUpperCase()} session ${id}.`);
    return session;
  }

  liveState(streamId: string): LiveState {
    const state = this.streams.get(streamId)?.liveState() ?? OFFLINE;
    return state.live ? { ...state, webrtcCodecs: this.webrtcVideoCodecs(streamId).map((codec) => codec.name) } : state;
  }

  isLive(streamId: string): boolean {
    return this.streams.get(streamId)?.isLive ?? false;
  }

  /** The stream's current publisher session (connected or not yet), if any. */
  publisherOf(streamId: string): PublisherSession | undefined {
    return this.streams.get(streamId)?.currentPublisher;
  }

  /** Viewer sessions of the stream — people, forwards, other nodes' edge pulls — connected or not. */
  audience(streamId: string): number {
    return this.streams.get(streamId)?.audience ?? 0;
  }

  /** Other nodes' edge pulls served here, by stream id: the pulling nodes' ids (once each, whatever it pulls: the source, renditions). */
  edgeViewers(): Map<string, string[]> {
    const out = new Map<string, Set<string>>();
    for (const session of this.sessions.values()) {
      if (!(session instanceof ViewerSession) || session.edgeNode === undefined || session.closed) continue;
      out.set(session.streamId, (out.get(session.streamId) ?? new Set()).add(session.edgeNode));
    }
    return new Map([...out].map(([streamId, nodes]) => [streamId, [...nodes]]));
  }

  /** Streams this router holds state for: live here, or with viewers waiting for a publisher. */
  activeStreams(): string[] {
    return [...this.streams.keys()];
  }

  /** Closes the stream's publisher session (key rotated, stream deleted); viewers stay for a new publisher. */
  disconnectPublisher(streamId: string, reason: string): void {
    this.streams.get(streamId)?.disconnectPublisher(reason);
  }

  /** Stream deleted: closes its publisher and viewers. */
  closeStream(streamId: string): void {
    const router = this.streams.get(streamId);
    if (!router) return;
    this.streams.delete(streamId);
    router.close('stream_closed'); // emits 'offline' through the router when it was live
  }

  getStats(): { streams: number; publishers: number; publishersByProtocol: Record<string, number>; viewers: number; packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number } {
    let publishers = 0;
    let viewers = 0;
    const publishersByProtocol: Record<string, number> = {};
    for (const router of this.streams.values()) {
      const protocol = router.isLive ? router.currentPublisher?.kind : undefined;
      if (protocol) {
        publishers += 1;
        publishersByProtocol[protocol] = (publishersByProtocol[protocol] ?? 0) + 1;
      }
      viewers += router.viewerCount;
    }
    return { streams: this.streams.size, publishers, publishersByProtocol, viewers, ...this.counters };
  }

  /** Closes every stream and session. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const peers = [...this.sessions.values()].map((session) => session.peer);
      for (const id of [...this.streams.keys()]) this.closeStream(id);
      for (const session of [...this.sessions.values()]) session.close('server_closing');
      await Promise.allSettled(peers.map((peer) => peer.close()));
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new OnairError('unavailable', 'The server is shutting down.');
  }

  private track(session: AnySession): void {
    this.sessions.set(session.id, session);
    session.once('closed', () => this.sessions.delete(session.id));
  }

  private requireRouter(streamId: string): StreamRouter {
    const router = this.streams.get(streamId);
    if (!router) throw new OnairError('stream_offline', 'The stream is not live.');
    return router;
  }

  private stream(streamId: string): StreamRouter {
    let router = this.streams.get(streamId);
    if (!router) {
      const created = new StreamRouter({ streamId, keyframeIntervalMs: this.options.keyframeIntervalMs, renditionWaitMs: this.options.renditionWaitMs, counters: this.counters, log: this.options.log.child({ stream: streamId }) });
      created.on('renditions-wanted', (codecs) => this.emit('renditions-wanted', streamId, codecs));
      created.on('live', () => {
        if (created.currentPublisher) this.emit('live', streamId, created.currentPublisher);
      });
      created.on('offline', () => this.emit('offline', streamId));
      created.on('idle', () => {
        if (this.streams.get(streamId) !== created) return;
        this.streams.delete(streamId);
        created.close('idle');
      });
      this.streams.set(streamId, created);
      router = created;
    }
    return router;
  }
}
