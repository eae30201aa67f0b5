/**
 * How the site's own /hls proxy (apps/web) proves itself to the transcoder, so that the
 * transcoder believes the viewer address it forwards without trusting every peer on loopback
 * (any local process, or the proxy passing on a header a browser wrote, could then inflate the
 * HLS viewer count). Both processes hold the admin token already; the proof is a key derived from
 * it, never the token itself, sent server to server only.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Request header carrying the proof. */
export const SITE_PROXY_HEADER = 'x-onair-site-proxy';

/** The proof for `adminToken` (HMAC-SHA256 with a purpose label, base64url). */
export function siteProxyToken(adminToken: string): string {
  return createHmac('sha256', adminToken).update('onair site proxy v1').digest('base64url');
}

/** Whether a request's header value is the proof for `adminToken` (constant time). */
export function isSiteProxy(header: string | string[] | null | undefined, adminToken: string | undefined): boolean {
  if (!adminToken || typeof header !== 'string') return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(header), digest(siteProxyToken(adminToken)));
}
