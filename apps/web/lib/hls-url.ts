/**
 * Where the browser loads HLS from. By default the web origin itself (`/hls/…`, proxied to the
 * transcoder by `app/hls/[...path]/route.ts`); with `ONAIR_HLS_PUBLIC_URL` (a CDN in front of
 * the transcoder's origin, or the origin itself made public) straight from there. The variable
 * is server-side and read per request by the watch page, so changing it needs no rebuild.
 */

/** The validated `ONAIR_HLS_PUBLIC_URL` without a trailing slash, or '' (same origin). */
export function hlsPublicBase(env: Record<string, string | undefined> = process.env): string {
  const raw = env.ONAIR_HLS_PUBLIC_URL?.trim();
  if (!raw) return '';
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return '';
    return url.toString().replace(/\/+$/, '');
  } catch {
    return '';
  }
}

/** `<base>/hls/<stream>/index.m3u8`; base '' means the page's own origin. */
export function hlsManifestUrl(base: string, stream: string): string {
  return `${base.replace(/\/+$/, '')}/hls/${encodeURIComponent(stream)}/index.m3u8`;
}
