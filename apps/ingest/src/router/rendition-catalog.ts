/**
 * The renditions of one stream besides its source, as its StreamRouter serves them: the
 * transcoder's rendition sets (renditions/rendition-set.ts implements `RenditionSource`) and the
 * publisher's simulcast layers (simulcast-layers.ts), with their feeds by name.
 *
 * Sets: at most one per codec — the H.264 ladder, and a VP8 rendition made while a viewer that
 * cannot decode the source watches. A transcoder whose ffmpeg restarts (a crash, a bigger ladder)
 * announces a new set of the same codec under the same lease instance: it replaces the old one,
 * and viewers on an old feed move to the new feed of the same name at its first keyframe. A set
 * from another instance while one is held is refused (409 renditions_in_use): two transcoders of
 * one stream would fight over it. A new instance of the same owner ends the old instance's lease
 * first (forward-leases.ts), and with it the old sets, so a restarted transcoder is never refused.
 *
 * Names: a simulcast layer is named by its rid, a transcoded rung by the transcoder's profile
 * (`720p`). Should a rid take a rung's name, the layer keeps it and the rung is not offered —
 * one name, one rendition.
 */
import { OnairError } from '@onair/shared/errors';
import type { InboundRtp } from '../webrtc/engine';

/** Where a viewer's video comes from: the publisher's own track (`source`) or a rendition. */
export interface VideoOrigin {
  /** `source`, or the rendition's name. */
  readonly name: string;
}

/** The publisher's own video as an origin (renditions are the others). */
export const SOURCE: VideoOrigin = Object.freeze({ name: 'source' });

/** One rendition: video the transcoder sends back as RTP, or one of the publisher's simulcast layers. */
export interface RenditionFeed extends VideoOrigin {
  readonly kind: 'simulcast' | 'transcoded';
  /** Picture size; null while unknown (a simulcast layer before its first keyframe). */
  readonly width: number | null;
  readonly height: number | null;
  /** The encoder's target bitrate, kbit/s (a transcoded rung); null for a simulcast layer. */
  readonly targetKbps: number | null;
  /** RTP encoding name and clock rate (`H264`, 90000). */
  readonly codec: string;
  readonly clockRate: number;
  /** Measured over the last second; `delayMs`: the last measured delay behind the source (a transcoded rung). */
  stats(nowMs: number): { bitrateKbps: number; frameRate: number | null; delayMs?: number | null };
  /** Asks whoever makes the feed for a keyframe, where one can be asked for (a simulcast layer, another node's rendition pulled here). */
  requestKeyframe?(reason: string): void;
  /** Told by the router when one of the feed's keyframes arrives (it answers the feed's requests). */
  keyframeArrived?(): void;
}

/** A transcoder instance's renditions of one stream in one codec. */
export interface RenditionSource {
  readonly id: string;
  /** The lease instance it lives under (forward-leases.ts). */
  readonly instance: string;
  /** The video codec of every feed (`H264`, `VP8`): a stream has one set per codec. */
  readonly codec: string;
  /** The codec's `a=fmtp` parameters (H.264: Constrained Baseline), if any. */
  readonly fmtp?: string;
  readonly feeds: readonly RenditionFeed[];
  /** Every video packet of every feed, in arrival order (one listener: the stream's router). */
  onVideo(listener: (feed: RenditionFeed, packet: InboundRtp) => void): void;
  close(reason: string): void;
  once(event: 'closed', listener: (reason: string) => void): unknown;
}

export class RenditionCatalog {
  private current: RenditionSource[] = [];
  private simulcast: readonly RenditionFeed[] = [];
  private byName = new Map<string, RenditionFeed>();

  /** The stream's rendition sets, in the order they came. */
  get sets(): readonly RenditionSource[] {
    return this.current;
  }

  /** Every rendition: the simulcast layers first, then each set's feeds. */
  get feeds(): readonly RenditionFeed[] {
    return [...this.byName.values()];
  }

  get(name: string): RenditionFeed | undefined {
    return this.byName.get(name);
  }

  /** Whether `origin` is a rendition now (a feed of a replaced or closed set, or a layer that became the source, is not). */
  has(origin: VideoOrigin): boolean {
    return this.byName.get(origin.name) === origin;
  }

  /**
   * Adds `next`, replacing the set of its codec, and returns the set it replaces (for the caller
   * to close); throws 409 renditions_in_use when another instance's set is in place.
   */
  replace(next: RenditionSource): RenditionSource | undefined {
    const other = this.current.find((set) => set.instance !== next.instance);
    if (other) throw new OnairError('renditions_in_use', `Another transcoder instance (${other.instance}) sends this stream's renditions; it must end first.`);
    const previous = this.current.find((set) => set.codec.toLowerCase() === next.codec.toLowerCase());
    this.current = [...this.current.filter((set) => set !== previous), next];
    this.reindex();
    return previous;
  }

  /** Forgets `set` when it is one of the stream's (it closed); returns whether it was. */
  remove(set: RenditionSource): boolean {
    if (!this.current.includes(set)) return false;
    this.current = this.current.filter((held) => held !== set);
    this.reindex();
    return true;
  }

  /** The publisher's simulcast layers that are renditions now (all but the one serving as source). */
  setSimulcast(feeds: readonly RenditionFeed[]): void {
    this.simulcast = feeds;
    this.reindex();
  }

  private reindex(): void {
    const byName = new Map<string, RenditionFeed>();
    for (const feed of [...this.simulcast, ...this.current.flatMap((set) => set.feeds)]) if (!byName.has(feed.name)) byName.set(feed.name, feed);
    this.byName = byName;
  }
}
