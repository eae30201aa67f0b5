/**
 * Where a viewer's video should come from, as a pure rule over what the stream offers: the
 * viewer's pinned rendition while the stream has it in the viewer's codec, else the source, else
 * — a viewer that negotiated another codec than the source's (a VP8-only browser, an H.264 stream)
 * — the largest rendition in its codec, else nothing yet (`NONE`: it waits for one).
 */
import { SOURCE, type RenditionFeed, type VideoOrigin } from './rendition-catalog';

export { SOURCE };
/** No video: a viewer whose codec no origin is in yet. */
export const NONE: VideoOrigin = Object.freeze({ name: 'none' });

export interface OriginChoice {
  /** The viewer's negotiated video codec (`H264`, `VP8`); undefined without video. */
  viewerCodec: string | undefined;
  /** The publisher's video codec; undefined between publishers (the source then counts as playable). */
  sourceCodec: string | undefined;
  /** The pinned rendition's name (a WHEP viewer's own choice); undefined: the server chooses. */
  pin: string | undefined;
  renditions: { get(name: string): RenditionFeed | undefined; readonly feeds: readonly RenditionFeed[] };
}

/** Whether a viewer in `viewerCodec` can be served `origin` (forwarding keeps the codec). */
export function canPlay(viewerCodec: string | undefined, origin: VideoOrigin, sourceCodec: string | undefined): boolean {
  if (origin === NONE) return false;
  const mine = viewerCodec?.toLowerCase();
  if (origin === SOURCE) return mine === undefined || sourceCodec === undefined || mine === sourceCodec.toLowerCase();
  return mine === (origin as RenditionFeed).codec.toLowerCase();
}

export function desiredOrigin({ viewerCodec, sourceCodec, pin, renditions }: OriginChoice): VideoOrigin {
  const playable = (origin: VideoOrigin) => canPlay(viewerCodec, origin, sourceCodec);
  if (pin !== undefined) {
    const pinned = pin === SOURCE.name ? SOURCE : renditions.get(pin);
    if (pinned && playable(pinned)) return pinned;
  }
  if (playable(SOURCE)) return SOURCE;
  const area = (feed: RenditionFeed) => (feed.width ?? 0) * (feed.height ?? 0);
  return renditions.feeds.filter(playable).reduce<RenditionFeed | undefined>((best, feed) => (!best || area(feed) > area(best) ? feed : best), undefined) ?? NONE;
}

/**
 * Another simulcast layer became the source (simulcast-layers.ts): a viewer that received the new
 * source layer as a rendition is on the source already (the same packets, nothing changes on the
 * wire); a viewer on the source keeps the old layer — now a rendition — until it is pointed at the
 * source again and switches at the new source's keyframe, so the player never waits on nothing.
 */
export function followSourceMove(viewer: { video: VideoOrigin; target: VideoOrigin | undefined; waitingForKeyframe: boolean }, previous: VideoOrigin | null, next: VideoOrigin): void {
  if (viewer.video === next) viewer.video = SOURCE;
  else if (viewer.video === SOURCE && previous && !viewer.waitingForKeyframe) viewer.video = previous;
  if (viewer.target === next) viewer.target = SOURCE;
}
