/**
 * The transcoded renditions of one stream, as its StreamRouter serves them: the rendition set a
 * transcoder instance announced (renditions/rendition-set.ts implements `RenditionSource`), its
 * feeds by name, and the rule for a second announcement.
 *
 * One set per stream. A transcoder whose ffmpeg restarts (a crash, a bigger ladder) announces a
 * new set under the same lease instance: it replaces the old one, and viewers on an old feed move
 * to the new feed of the same name at its first keyframe. A set from another instance while one
 * is held is refused (409 renditions_in_use): two transcoders of one stream would fight over it.
 * A new instance of the same owner ends the old instance's lease first (forward-leases.ts), and
 * with it the old set, so a restarted transcoder is never refused.
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

/** One transcoded rendition: video the transcoder sends back as RTP. */
export interface RenditionFeed extends VideoOrigin {
  readonly width: number;
  readonly height: number;
  /** The encoder's target bitrate, kbit/s. */
  readonly targetKbps: number;
  /** Nominal frame rate. */
  readonly frameRate: number;
  /** RTP encoding name and clock rate (`H264`, 90000). */
  readonly codec: string;
  readonly clockRate: number;
  /** Measured over the last second. */
  stats(nowMs: number): { bitrateKbps: number; frameRate: number | null };
}

/** A transcoder instance's renditions of one stream. */
export interface RenditionSource {
  readonly id: string;
  /** The lease instance it lives under (forward-leases.ts). */
  readonly instance: string;
  readonly feeds: readonly RenditionFeed[];
  /** Every video packet of every feed, in arrival order (one listener: the stream's router). */
  onVideo(listener: (feed: RenditionFeed, packet: InboundRtp) => void): void;
  close(reason: string): void;
  once(event: 'closed', listener: (reason: string) => void): unknown;
}

export class RenditionCatalog {
  private current: RenditionSource | undefined;
  private byName = new Map<string, RenditionFeed>();

  /** The stream's rendition set, if one is announced. */
  get set(): RenditionSource | undefined {
    return this.current;
  }

  get feeds(): readonly RenditionFeed[] {
    return this.current?.feeds ?? [];
  }

  get(name: string): RenditionFeed | undefined {
    return this.byName.get(name);
  }

  /** Whether `origin` is a feed of the current set (a feed of a replaced or closed set is not). */
  has(origin: VideoOrigin): boolean {
    return this.byName.get(origin.name) === origin;
  }

  /**
   * Makes `next` the stream's rendition set and returns the set it replaces (for the caller to
   * close), or throws 409 renditions_in_use when another instance's set is in place.
   */
  replace(next: RenditionSource): RenditionSource | undefined {
    const previous = this.current;
    if (previous && previous.instance !== next.instance) {
      throw new OnairError('renditions_in_use', `Another transcoder instance (${previous.instance}) sends this stream's renditions; it must end first.`);
    }
    this.current = next;
    this.byName = new Map(next.feeds.map((feed) => [feed.name, feed]));
    return previous;
  }

  /** Forgets `set` when it is the current one (it closed); returns whether it was. */
  remove(set: RenditionSource): boolean {
    if (this.current !== set) return false;
    this.current = undefined;
    this.byName = new Map();
    return true;
  }
}
