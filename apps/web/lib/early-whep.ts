/**
 * The watch page's early WHEP start (@onair/shared/whep-early): the URL both the page's inline
 * script and the player use, so the player recognises the exchange as its own, and the element
 * the script plays on.
 */
import { earlyWhepScript } from '@onair/shared/whep-early';

/** The site's WHEP endpoint for a stream (same origin; the web app proxies it to the ingest). */
export function whepPath(stream: string): string {
  return `/whep/${encodeURIComponent(stream)}`;
}

/** The player's <video> (components/player.tsx), server-rendered, so the inline script finds it before hydration. */
export const PLAYER_VIDEO_CLASS = 'player__video';

/** The inline script for /watch/<stream>. */
export function watchPageEarlyWhepScript(stream: string): string {
  return earlyWhepScript(whepPath(stream), `video.${PLAYER_VIDEO_CLASS}`);
}
