/**
 * An edge's renditions of a stream it pulls: besides the source (edge-pulls.ts), one more WHEP
 * pull per rendition the origin has (a transcoded rung or a simulcast layer), each pinned to that
 * rendition (`?layer=<name>`, a pin that admits nothing else: the origin ends the session when
 * the rendition ends). Together they are a RenditionSource for this node's router, so viewers here
 * move between renditions on their own feedback exactly as on the origin.
 *
 * - The origin's renditions are read from the source pull's layer resource (the WHEP layer
 *   extension's GET) at every refresh (each directory tick): a rendition that appears there is
 *   pulled, one that is gone is dropped, and the set is attached again with the feeds that are
 *   connected. A feed keeps its object across sets, so a viewer on it is not moved.
 * - Each feed's frames carry the origin's measured delay of that rendition behind the source
 *   (`delayMs` in the GET), so this node holds a viewer's sound back as the origin would (lip sync:
 *   router/audio-alignment.ts); the source pull's audio serves every rendition.
 * - A keyframe request on a feed goes upstream as a PLI on its pull.
 * - At most MAX_PULLED renditions; a pull that fails is tried again at a later refresh.
 * The renditions end with the source pull (its router closes the set) or with close().
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { WhepLayers } from '@onair/shared/api';
import type { StreamCodecs } from '@onair/shared/sdp';
import { getWhepLayers } from '@onair/shared/whep-layers-client';
import type { Logger } from '@onair/service/logger';
import type { RenditionFeed, RenditionSource } from '../router/rendition-catalog';
import { TrackMeter } from '../router/track-meter';
import type { IceOptions, InboundRtp } from '../webrtc/engine';
import { EdgePullPeer, whenConnected } from './edge-pull-peer';

type Layer = WhepLayers['layers'][number];

/** Renditions pulled per stream at most (the origin's ladder has 3–4). */
export const MAX_PULLED = 8;
/** The layer GET's deadline, ms. */
const LAYERS_TIMEOUT_MS = 2_000;

export interface EdgeRenditionsOptions {
  streamId: string;
  /** `<upstream>/whep/<name>`, as the source pull POSTed to. */
  whepUrl: string;
  /** The source pull's layer resource at the upstream. */
  layerUrl: string;
  codecs: StreamCodecs | undefined;
  ice: IceOptions;
  /** Edge credentials and hop path, as the source pull sent them. */
  headers: Record<string, string>;
  timeoutMs: number;
  /** Attaches a set as the stream's renditions here (StreamRouter.attachRenditions); throws when the stream is not live. */
  attach(set: RenditionSource): void;
  log: Logger;
  now?: () => number;
}

/** One rendition of the origin, received over its own pull. */
class PulledFeed implements RenditionFeed {
  kind: RenditionFeed['kind'];
  width: number | null;
  height: number | null;
  targetKbps: number | null;
  delayMs: number | null = null;
  readonly codec: string;
  readonly clockRate: number;
  private readonly meter: TrackMeter;

  constructor(
    readonly name: string,
    readonly peer: EdgePullPeer,
    layer: Layer,
  ) {
    this.kind = layer.kind === 'simulcast' ? 'simulcast' : 'transcoded';
    this.width = layer.width;
    this.height = layer.height;
    this.targetKbps = layer.targetKbps;
    this.codec = peer.codecs.video?.name ?? layer.codec ?? 'H264';
    this.clockRate = peer.codecs.video?.clockRate ?? 90_000;
    this.meter = new TrackMeter(this.clockRate);
    this.update(layer);
  }

  /** What the origin says of it now. */
  update(layer: Layer): void {
    this.width = layer.width ?? this.width;
    this.height = layer.height ?? this.height;
    // A simulcast layer has no target: what it sends is what it costs.
    this.targetKbps = layer.targetKbps ?? (layer.bitrateKbps > 0 ? layer.bitrateKbps : this.targetKbps);
    this.delayMs = layer.delayMs ?? null;
  }

  record(packet: InboundRtp, nowMs: number): void {
    if (packet.payload.length > 0) this.meter.record(packet, packet.size, nowMs);
  }

  stats(nowMs: number): { bitrateKbps: number; frameRate: number | null; delayMs: number | null } {
    const snapshot = this.meter.snapshot(nowMs);
    return { bitrateKbps: snapshot.bitrateKbps, frameRate: snapshot.fps, delayMs: this.delayMs };
  }

  requestKeyframe(): void {
    this.peer.requestKeyframe();
  }
}

/** The feeds connected at one moment, as the router holds them. */
class PulledSet extends EventEmitter<{ closed: [reason: string] }> implements RenditionSource {
  readonly id = randomUUID();
  private listener: ((feed: RenditionFeed, packet: InboundRtp) => void) | undefined;
  private closeReason: string | undefined;

  constructor(
    readonly instance: string,
    readonly codec: string,
    readonly fmtp: string | undefined,
    readonly feeds: readonly PulledFeed[],
  ) {
    super();
  }

  onVideo(listener: (feed: RenditionFeed, packet: InboundRtp) => void): void {
    this.listener = listener;
  }

  deliver(feed: PulledFeed, packet: InboundRtp): void {
    this.listener?.(feed, packet);
  }

  close(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.listener = undefined;
    this.emit('closed', reason);
  }
}

export class EdgeRenditions {
  /** One instance for every set of this pull: the router replaces its own sets, never refuses them. */
  private readonly instance = `edge:${randomUUID()}`;
  private readonly feeds = new Map<string, PulledFeed>();
  private readonly opening = new Set<string>();
  /** The origin's order of its renditions (largest first), which the set keeps. */
  private order: string[] = [];
  private set: PulledSet | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: EdgeRenditionsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Names of the renditions pulled and connected now. */
  get pulled(): string[] {
    return [...this.feeds.keys()];
  }

  /** Reads the origin's renditions and pulls, drops and attaches to match; never throws. */
  refresh(): Promise<void> {
    this.refreshing ??= this.reconcile().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const set = this.set;
    this.set = undefined;
    set?.close('edge_pull_ended');
    for (const feed of this.feeds.values()) void feed.peer.close();
    this.feeds.clear();
  }

  private async reconcile(): Promise<void> {
    let layers: WhepLayers;
    try {
      layers = await getWhepLayers(this.options.layerUrl, { signal: AbortSignal.timeout(LAYERS_TIMEOUT_MS) });
    } catch (error) {
      this.options.log.debug({ err: (error as Error).message }, "the origin's renditions could not be read; next tick");
      return;
    }
    if (this.closed) return;
    const upstream = layers.layers.filter((layer) => layer.kind !== 'source').slice(0, MAX_PULLED);
    const names = new Set(upstream.map((layer) => layer.encodingId));
    this.order = [...names];
    let changed = false;
    for (const [name, feed] of this.feeds) {
      if (names.has(name)) continue;
      this.feeds.delete(name);
      void feed.peer.close();
      changed = true;
    }
    for (const layer of upstream) this.feeds.get(layer.encodingId)?.update(layer);
    const opened = await Promise.all(upstream.filter((layer) => !this.feeds.has(layer.encodingId) && !this.opening.has(layer.encodingId)).map((layer) => this.open(layer)));
    if (changed || opened.some(Boolean)) this.attach();
  }

  /** Pulls one rendition; returns whether it is connected and held. */
  private async open(layer: Layer): Promise<boolean> {
    const name = layer.encodingId;
    this.opening.add(name);
    try {
      const peer = await EdgePullPeer.open({
        whepUrl: `${this.options.whepUrl}?layer=${encodeURIComponent(name)}`,
        codecs: this.options.codecs,
        ice: this.options.ice,
        headers: this.options.headers,
        timeoutMs: this.options.timeoutMs,
        audio: false,
        log: this.options.log,
      });
      await whenConnected(peer, this.options.timeoutMs);
      if (this.closed) {
        void peer.close();
        return false;
      }
      const feed = new PulledFeed(name, peer, layer);
      peer.onRtp((packet) => {
        feed.record(packet, this.now());
        if (feed.delayMs !== null) packet.mediaDelayMs = feed.delayMs;
        if (this.set?.feeds.includes(feed)) this.set.deliver(feed, packet);
      });
      peer.on('state', (state) => {
        if ((state !== 'failed' && state !== 'closed') || this.feeds.get(name) !== feed) return;
        this.options.log.info({ rendition: name, state }, 'a pulled rendition ended');
        this.feeds.delete(name);
        void peer.close();
        this.attach();
      });
      this.feeds.set(name, feed);
      this.options.log.info({ rendition: name }, 'rendition pulled from the origin');
      return true;
    } catch (error) {
      this.options.log.warn({ rendition: name, err: (error as Error).message }, 'pulling a rendition failed; next tick');
      return false;
    } finally {
      this.opening.delete(name);
    }
  }

  /** Attaches the connected feeds as the stream's renditions here (replacing the last set). */
  private attach(): void {
    if (this.closed) return;
    const rank = (feed: PulledFeed) => this.order.indexOf(feed.name);
    const feeds = [...this.feeds.values()].sort((a, b) => rank(a) - rank(b));
    const first = feeds[0];
    const previous = this.set;
    const next = first ? new PulledSet(this.instance, first.codec, first.peer.codecs.video?.fmtp, feeds) : undefined;
    this.set = next;
    if (!next) {
      previous?.close('renditions_ended');
      return;
    }
    // The router closes a set it no longer holds (replaced, or the source pull ended): only the
    // current one's end is this pull's end.
    next.once('closed', (reason) => {
      if (this.set === next && reason !== 'replaced') this.close();
    });
    try {
      this.options.attach(next);
    } catch (error) {
      this.options.log.debug({ err: (error as Error).message }, 'renditions not attached');
      this.set = previous;
    }
  }
}
