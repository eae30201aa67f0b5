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
 * - A viewer here in a codec only an on-demand rendition gives (a VP8-only browser, an H.264
 *   stream: router/on-demand-codecs.ts) makes this node pull the stream in that codec, unpinned:
 *   the origin then wants that rendition from its transcoder as for its own viewers, serves the
 *   pull the largest one, and the pull's own layer resource names it. The pull ends when nobody
 *   here wants the codec any more.
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
import { KeyframeRequester } from '../router/keyframe-requester';
import { TrackMeter } from '../router/track-meter';
import type { IceOptions, InboundRtp, NegotiatedCodec, PeerState } from '../webrtc/engine';
import { type EdgePullOptions, openConnectedPull } from './edge-pull-peer';

type Layer = WhepLayers['layers'][number];

/** Renditions pulled per stream at most (the origin's ladder has 3–4). */
export const MAX_PULLED = 8;
/** The layer GET's deadline, ms. */
const LAYERS_TIMEOUT_MS = 2_000;
/** A rendition pull that failed is tried again after this long, doubling with each failure in a row up to RETRY_MAX_MS, ms. */
const RETRY_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/** Keyframe requests (PLI) up a pulled rendition's pull, at most one per this long while unanswered, ms. */
const KEYFRAME_REQUEST_INTERVAL_MS = 500;
/** Names a pinned pull cannot ask for: `?layer=auto` is no pin, `source` the source. */
const NOT_PINNABLE = new Set(['auto', 'source']);

/** What a rendition pull is to EdgeRenditions: an EdgePullPeer (a fake in the unit tests). */
export interface RenditionPullPeer {
  readonly state: PeerState;
  readonly codecs: { video?: NegotiatedCodec };
  /** The pull's own layer resource at the upstream. */
  readonly layerUrl: string | null;
  onRtp(listener: (packet: InboundRtp) => void): void;
  on(event: 'state', listener: (state: PeerState) => void): unknown;
  requestKeyframe(): void;
  close(): Promise<void>;
}

export interface EdgeRenditionsOptions {
  streamId: string;
  /** `<upstream>/whep/<name>`, as the source pull POSTed to. */
  whepUrl: string;
  /** The source pull's layer resource at the upstream. */
  layerUrl: string;
  codecs: StreamCodecs | undefined;
  ice: IceOptions;
  /** Edge credentials, hop path and the lease token as it is now (it changes when the publisher reconnects to the same origin). */
  headers(): Record<string, string>;
  timeoutMs: number;
  /** Attaches a set as the stream's renditions here (StreamRouter.attachRenditions); throws when the stream is not live. */
  attach(set: RenditionSource): void;
  /** Codecs viewers here need that only an on-demand rendition gives them (StreamRouter.renditionsWanted). */
  wantedCodecs(): readonly string[];
  /** Opens a connected pull (default: an EdgePullPeer over WHEP). */
  openPull?: (options: EdgePullOptions) => Promise<RenditionPullPeer>;
  /** Reads a layer resource (default: GET, the WHEP layer extension). */
  readLayers?: (url: string, signal: AbortSignal) => Promise<WhepLayers>;
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
  /** Every viewer waiting for this feed's keyframe asks on each batch: one PLI upstream per window. */
  private readonly keyframes: KeyframeRequester;

  constructor(
    readonly name: string,
    readonly peer: RenditionPullPeer,
    layer: Layer,
  ) {
    this.kind = layer.kind === 'simulcast' ? 'simulcast' : 'transcoded';
    this.width = layer.width;
    this.height = layer.height;
    this.targetKbps = layer.targetKbps;
    this.codec = peer.codecs.video?.name ?? layer.codec ?? 'H264';
    this.clockRate = peer.codecs.video?.clockRate ?? 90_000;
    this.meter = new TrackMeter(this.clockRate);
    this.keyframes = new KeyframeRequester({ intervalMs: KEYFRAME_REQUEST_INTERVAL_MS, send: () => peer.requestKeyframe() });
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

  keyframeArrived(): void {
    this.keyframes.keyframeArrived();
  }

  /** Ends its keyframe requests (its pull is closed by its owner). */
  close(): void {
    this.keyframes.close();
  }

  stats(nowMs: number): { bitrateKbps: number; frameRate: number | null; delayMs: number | null } {
    const snapshot = this.meter.snapshot(nowMs);
    return { bitrateKbps: snapshot.bitrateKbps, frameRate: snapshot.fps, delayMs: this.delayMs };
  }

  requestKeyframe(reason: string): void {
    this.keyframes.request(reason);
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

/** One rendition pull: pinned to a named rendition, or (`codec`) in a codec the origin makes on demand. */
interface RenditionPull {
  peer: RenditionPullPeer;
  /** Known once the pull carries a rendition: at once for a pinned pull, from its layer resource for a codec pull. */
  feed: PulledFeed | undefined;
  codec: string | undefined;
}

function closePull(pull: RenditionPull): void {
  pull.feed?.close();
  void pull.peer.close();
}

export class EdgeRenditions {
  /** One instance for every set of this pull: the router replaces its own sets, never refuses them. */
  private readonly instance = `edge:${randomUUID()}`;
  /** By rendition name, or `codec:<name>` for a pull in an on-demand codec. */
  private readonly pulls = new Map<string, RenditionPull>();
  private readonly opening = new Set<string>();
  /** The origin's order of its renditions (largest first), which the sets keep. */
  private order: string[] = [];
  /** The set attached per video codec. */
  private readonly sets = new Map<string, PulledSet>();
  /** A set could not be attached (the stream between publishers): attach again at the next refresh. */
  private dirty = false;
  /** Per pull that failed: when to try again, and the wait after the next failure. */
  private readonly retries = new Map<string, { at: number; nextWaitMs: number }>();
  /** The first refresh's pulls, connected or failed. */
  private firstRound: Promise<unknown> | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: EdgeRenditionsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Names of the renditions pulled and carrying video now. */
  get pulled(): string[] {
    return this.feeds().map((feed) => feed.name);
  }

  /**
   * Resolves once the first refresh's pulls connected or failed, or after `timeoutMs`: a viewer
   * asking for a rendition by name on a node that has only just started pulling waits for it.
   */
  async settled(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.refresh().then(() => this.firstRound), deadline]);
    clearTimeout(timer);
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
    const sets = [...this.sets.values()];
    this.sets.clear();
    for (const set of sets) set.close('edge_pull_ended');
    for (const pull of this.pulls.values()) closePull(pull);
    this.pulls.clear();
  }

  private readLayers(url: string): Promise<WhepLayers> {
    const signal = AbortSignal.timeout(LAYERS_TIMEOUT_MS);
    return this.options.readLayers ? this.options.readLayers(url, signal) : getWhepLayers(url, { signal });
  }

  private feeds(): PulledFeed[] {
    const rank = (feed: PulledFeed) => this.order.indexOf(feed.name);
    return [...this.pulls.values()].flatMap((pull) => (pull.feed ? [pull.feed] : [])).sort((a, b) => rank(a) - rank(b));
  }

  private async reconcile(): Promise<void> {
    let layers: WhepLayers;
    try {
      layers = await this.readLayers(this.options.layerUrl);
    } catch (error) {
      this.options.log.debug({ err: (error as Error).message }, "the origin's renditions could not be read; next tick");
      return;
    }
    if (this.closed) return;
    // Once per name (a repeated one would open two pulls for one feed), never `auto` or `source`.
    const upstream = [...new Map(layers.layers.filter((layer) => layer.kind !== 'source' && !NOT_PINNABLE.has(layer.encodingId)).map((layer) => [layer.encodingId, layer])).values()].slice(0, MAX_PULLED);
    this.order = upstream.map((layer) => layer.encodingId);
    const wanted = new Map<string, { layer?: Layer; codec?: string }>(upstream.map((layer) => [layer.encodingId, { layer }]));
    for (const codec of this.options.wantedCodecs()) wanted.set(`codec:${codec}`, { codec });
    let changed = false;
    for (const [key, pull] of this.pulls) {
      if (wanted.has(key)) continue;
      this.pulls.delete(key);
      closePull(pull);
      changed = true;
    }
    for (const layer of upstream) this.pulls.get(layer.encodingId)?.feed?.update(layer);
    const named = await Promise.all([...this.pulls.values()].filter((pull) => pull.codec !== undefined).map((pull) => this.nameCodecPull(pull)));
    if (this.closed) return;
    if (changed || this.dirty || named.some(Boolean)) this.attach();
    // Pulls connect in the background (each attaches once connected): a slow one holds up nothing.
    const now = this.now();
    const opens = [...wanted].filter(([key]) => !this.pulls.has(key) && !this.opening.has(key) && (this.retries.get(key)?.at ?? 0) <= now).map(([key, what]) => this.open(key, what));
    this.firstRound ??= Promise.all(opens);
  }

  /** A codec pull's rendition, as its own layer resource names it; returns whether it changed. */
  private async nameCodecPull(pull: RenditionPull): Promise<boolean> {
    const url = pull.peer.layerUrl;
    if (!url || pull.peer.state !== 'connected') return false;
    const own = await this.readLayers(url).catch(() => undefined);
    const active = own?.layers.find((layer) => layer.encodingId === own.active);
    if (!active || this.closed) return false;
    if (pull.feed?.name === active.encodingId) {
      pull.feed.update(active);
      return false;
    }
    pull.feed?.close();
    pull.feed = new PulledFeed(active.encodingId, pull.peer, active);
    if (!this.order.includes(active.encodingId)) this.order.push(active.encodingId);
    return true;
  }

  /** Pulls one rendition (`layer`: pinned to it) or the stream in an on-demand `codec`; returns whether it is connected and held. */
  private async open(key: string, what: { layer?: Layer; codec?: string }): Promise<boolean> {
    this.opening.add(key);
    try {
      const layer = what.layer;
      const peer = await (this.options.openPull ?? openConnectedPull)({
        whepUrl: layer ? `${this.options.whepUrl}?layer=${encodeURIComponent(layer.encodingId)}` : this.options.whepUrl,
        codecs: what.codec ? { video: { name: what.codec, clockRate: 90_000 } } : this.options.codecs,
        ice: this.options.ice,
        headers: this.options.headers(),
        timeoutMs: this.options.timeoutMs,
        audio: false,
        log: this.options.log,
      });
      if (this.closed) {
        void peer.close();
        return false;
      }
      const pull: RenditionPull = { peer, feed: layer ? new PulledFeed(layer.encodingId, peer, layer) : undefined, codec: what.codec };
      peer.onRtp((packet) => {
        const feed = pull.feed;
        if (!feed) return;
        feed.record(packet, this.now());
        if (feed.delayMs !== null) packet.mediaDelayMs = feed.delayMs;
        const set = this.sets.get(feed.codec);
        if (set?.feeds.includes(feed)) set.deliver(feed, packet);
      });
      peer.on('state', (state) => {
        if ((state !== 'failed' && state !== 'closed') || this.pulls.get(key) !== pull) return;
        this.options.log.info({ rendition: key, state }, 'a pulled rendition ended');
        this.pulls.delete(key);
        closePull(pull);
        this.attach();
      });
      this.pulls.set(key, pull);
      this.retries.delete(key);
      this.options.log.info({ rendition: key }, 'rendition pulled from the origin');
      if (pull.codec) await this.nameCodecPull(pull);
      this.attach();
      return true;
    } catch (error) {
      const waitMs = this.retries.get(key)?.nextWaitMs ?? RETRY_MS;
      this.retries.set(key, { at: this.now() + waitMs, nextWaitMs: Math.min(waitMs * 2, RETRY_MAX_MS) });
      this.options.log.warn({ rendition: key, err: (error as Error).message, retryInMs: waitMs }, 'pulling a rendition failed');
      return false;
    } finally {
      this.opening.delete(key);
    }
  }

  /** Attaches the feeds that carry video as the stream's renditions here, one set per codec (replacing the last). */
  private attach(): void {
    if (this.closed) return;
    this.dirty = false;
    const byCodec = new Map<string, PulledFeed[]>();
    for (const feed of this.feeds()) byCodec.set(feed.codec, [...(byCodec.get(feed.codec) ?? []), feed]);
    for (const [codec, set] of [...this.sets]) {
      if (byCodec.has(codec)) continue;
      this.sets.delete(codec);
      set.close('renditions_ended');
    }
    for (const [codec, feeds] of byCodec) {
      const previous = this.sets.get(codec);
      if (previous && previous.feeds.length === feeds.length && previous.feeds.every((feed, i) => feed === feeds[i])) continue;
      const next = new PulledSet(this.instance, codec, feeds[0]!.peer.codecs.video?.fmtp, feeds);
      this.sets.set(codec, next);
      // The router closes a set it no longer holds (replaced, or the source pull ended): only the
      // current one's end is this pull's end.
      next.once('closed', (reason) => {
        if (this.sets.get(codec) === next && reason !== 'replaced') this.close();
      });
      try {
        this.options.attach(next);
      } catch (error) {
        this.options.log.debug({ err: (error as Error).message }, 'renditions not attached; again at the next refresh');
        if (previous) this.sets.set(codec, previous);
        else this.sets.delete(codec);
        this.dirty = true;
      }
    }
  }
}
