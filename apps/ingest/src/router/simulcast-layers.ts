/**
 * A simulcast publisher's video layers (RFC 8853), as the stream's router serves them: one layer
 * is the stream's `source` — what viewers get by default, what forwards (the transcoder) read —
 * and the others are renditions of kind `simulcast`, served without transcoding.
 *
 * Which layer is the source is measured, not declared: an offer says nothing of a layer's size
 * (Chrome's scaleResolutionDownBy stays in the browser; OBS's rid 0 happens to be the full
 * picture), and a browser starts with its lowest layer and adds the higher ones as its bandwidth
 * estimate grows (measured: Chromium sent q, then h, then f over the first seconds). So the source
 * is the layer with the largest picture (from its keyframes' SPS or VP8 header) among those that
 * sent media in the last ACTIVE_MS; on a tie the current one stays, then the offer's order decides.
 * A source that stops (a browser drops its top layer under congestion) hands over to the next.
 *
 * Pure state plus a keyframe requester per layer; the router decides what a change means for
 * viewers (stream-router.ts).
 */
import type { InboundRtp, NegotiatedCodec } from '../webrtc/engine';
import { probeKeyframe } from './codec-probe';
import { KeyframeRequester } from './keyframe-requester';
import type { RenditionFeed } from './rendition-catalog';
import { TrackMeter } from './track-meter';

/** A layer that sent no media for this long is not a source candidate (ms). */
export const ACTIVE_MS = 1500;

/** Names viewers cannot pin as a rendition (they mean something else), or that are taken. */
const RESERVED = new Set(['source', 'auto', 'none']);

export class SimulcastLayer implements RenditionFeed {
  readonly kind = 'simulcast' as const;
  /** The rendition's name: the rid, or `rid-<rid>` for a rid that means something else. */
  readonly name: string;
  width: number | null = null;
  height: number | null = null;
  readonly targetKbps = null;
  readonly clockRate = 90000;
  readonly meter = new TrackMeter(90000);
  /** Last media packet, ms (the router's clock). */
  lastMediaAt = Number.NEGATIVE_INFINITY;
  /** Position in the offer (ties go to the earlier layer). */
  readonly order: number;

  constructor(
    readonly rid: string,
    order: number,
    readonly codec: string,
    readonly keyframes: KeyframeRequester,
  ) {
    this.order = order;
    this.name = RESERVED.has(rid.toLowerCase()) ? `rid-${rid}` : rid;
  }

  get area(): number {
    return (this.width ?? 0) * (this.height ?? 0);
  }

  requestKeyframe(reason: string): void {
    this.keyframes.request(reason);
  }

  stats(nowMs: number): { bitrateKbps: number; frameRate: number | null } {
    const snapshot = this.meter.snapshot(nowMs);
    return { bitrateKbps: snapshot.bitrateKbps, frameRate: snapshot.fps };
  }
}

export interface SimulcastLayersOptions {
  rids: readonly string[];
  /** The publisher's video codec name (`H264`, `VP8`). */
  codec: string;
  keyframeIntervalMs: number;
  /** Sends a PLI for one layer. */
  requestKeyframe: (rid: string, reason: string) => void;
  now: () => number;
}

export class SimulcastLayers {
  readonly layers: readonly SimulcastLayer[];
  private readonly byRid: Map<string, SimulcastLayer>;
  private current: SimulcastLayer | undefined;

  constructor(private readonly options: SimulcastLayersOptions) {
    this.layers = options.rids.map((rid, order) => {
      const keyframes = new KeyframeRequester({ intervalMs: options.keyframeIntervalMs, send: (reason) => options.requestKeyframe(rid, reason), now: options.now });
      return new SimulcastLayer(rid, order, options.codec, keyframes);
    });
    this.byRid = new Map(this.layers.map((layer) => [layer.rid, layer]));
  }

  get(rid: string | undefined): SimulcastLayer | undefined {
    return rid === undefined ? undefined : this.byRid.get(rid);
  }

  /** The layer serving as the stream's source; undefined until one sent media. */
  get source(): SimulcastLayer | undefined {
    return this.current;
  }

  /** The layers that are renditions: all but the source. */
  get feeds(): SimulcastLayer[] {
    return this.layers.filter((layer) => layer !== this.current);
  }

  /**
   * Measures one packet of a layer (rate, last media, size from a keyframe); undefined for a rid
   * that is not one of the layers. `media`: it carries the negotiated codec's payload (not a
   * padding-only probe, nor a stray payload type).
   */
  record(packet: InboundRtp, codec: NegotiatedCodec, now: number): { layer: SimulcastLayer; media: boolean; keyframeStart: boolean } | undefined {
    const layer = this.get(packet.rid);
    if (!layer) return undefined;
    const media = packet.payload.length > 0 && packet.payloadType === codec.payloadType;
    if (!media) {
      if (packet.payload.length === 0) layer.meter.recordNoMedia(packet);
      return { layer, media, keyframeStart: false };
    }
    layer.meter.record(packet, packet.size, now);
    layer.lastMediaAt = now;
    const info = probeKeyframe(codec.name, packet.payload);
    if (info.keyframeStart) {
      layer.keyframes.keyframeArrived();
      if (info.width && info.height) {
        layer.width = info.width;
        layer.height = info.height;
      }
    }
    return { layer, media, keyframeStart: info.keyframeStart };
  }

  /**
   * Chooses the source again (see the file's comment) and returns the previous source when it
   * changed (`null` when there was none), else undefined.
   */
  elect(now: number): SimulcastLayer | null | undefined {
    const active = this.layers.filter((layer) => now - layer.lastMediaAt <= ACTIVE_MS);
    if (active.length === 0) return undefined;
    const best = active.reduce((a, b) => (b.area > a.area || (b.area === a.area && b.order < a.order) ? b : a));
    const keep = this.current !== undefined && active.includes(this.current) && this.current.area >= best.area;
    if (keep || best === this.current) return undefined;
    const previous = this.current ?? null;
    this.current = best;
    return previous;
  }

  close(): void {
    for (const layer of this.layers) layer.keyframes.close();
  }
}
