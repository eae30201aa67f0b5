/**
 * The Content-Security-Policy of every page (set by proxy.ts, with a fresh nonce per response).
 * Pure: configuration and the request's host in, the header's value out.
 *
 * - Scripts: only those carrying the nonce, and what they load (`'strict-dynamic'`: Next's chunks,
 *   hls.js loaded on demand). Next puts the nonce on its own scripts when it finds it in the
 *   request's CSP header. No `'unsafe-inline'` for scripts; `'unsafe-eval'` only under `next dev`.
 * - Styles: `'unsafe-inline'` — React style attributes (the mirrored camera preview) and Next's
 *   style handling need it; styles cannot run code.
 * - Connections: this origin (WHIP/WHEP, the live list and /hls are proxied here), the HLS base
 *   when it is elsewhere (`ONAIR_HLS_PUBLIC_URL`, a CDN), and the WebTransport ingest —
 *   `ONAIR_WEBTRANSPORT_PUBLIC_URL`, else what the ingest's discovery says
 *   (server/webtransport-origin.ts), else `https://<this host>:8443` (`ONAIR_WEBTRANSPORT_PORT`; any
 *   port of the host when that is 0) —
 *   with its `wss:` twin for the WebSocket fallback.
 * - Media and workers: `blob:` for hls.js (MSE object URLs, its transmuxing worker); the HLS base
 *   for native HLS (Safari sets the playlist URL as the video's source).
 * - Never framed (`frame-ancestors 'none'`, with X-Frame-Options for older browsers): the
 *   dashboard deletes streams with a click and /broadcast goes live with one.
 */

export interface CspOptions {
  /** Base64 nonce for this response. */
  nonce: string;
  /** `next dev` (React's dev build needs eval). */
  dev?: boolean;
  /** The `Host` the browser asked for (`example.org`, `127.0.0.1:3000`, `[::1]:3000`). */
  host?: string | null;
  /** `ONAIR_HLS_PUBLIC_URL`. */
  hlsPublicUrl?: string;
  /** `ONAIR_WEBTRANSPORT_PUBLIC_URL`, or the URL the ingest's discovery gives. */
  webTransportUrl?: string;
  /** `ONAIR_WEBTRANSPORT_PORT` (default 8443). */
  webTransportPort?: string;
}

/** The origin of an http(s) URL, or null. */
function originOf(url: string | undefined): string | null {
  if (!url?.trim()) return null;
  try {
    const parsed = new URL(url.trim());
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : null;
  } catch {
    return null;
  }
}

/** The host name of a Host header, if it is one (nothing else may reach the header's value). */
function hostnameOf(host: string | null | undefined): string | null {
  if (!host) return null;
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/.exec(host.trim());
  return match ? match[1]!.toLowerCase() : null;
}

export function contentSecurityPolicy(options: CspOptions): string {
  const hls = originOf(options.hlsPublicUrl);
  const webTransport: string[] = [];
  const configured = originOf(options.webTransportUrl);
  const configuredPort = /^\d{1,5}$/.test(options.webTransportPort?.trim() ?? '') ? Number(options.webTransportPort) : 8443;
  // Port 0: the ingest picked one, and only its discovery knows which (CSP's port wildcard, §2.3.2).
  const port = configuredPort === 0 ? '*' : String(configuredPort);
  const hostname = hostnameOf(options.host);
  const wt = configured ?? (hostname ? `https://${hostname}:${port}` : null);
  if (wt) webTransport.push(wt, wt.replace(/^https?:/, (scheme) => (scheme === 'https:' ? 'wss:' : 'ws:')));
  const directives: Array<[string, ...string[]]> = [
    ['default-src', "'self'"],
    ['script-src', "'self'", `'nonce-${options.nonce}'`, "'strict-dynamic'", ...(options.dev ? ["'unsafe-eval'"] : [])],
    ['style-src', "'self'", "'unsafe-inline'"],
    ['img-src', "'self'", 'data:', 'blob:'],
    ['font-src', "'self'", 'data:'],
    ['media-src', "'self'", 'blob:', ...(hls ? [hls] : [])],
    ['connect-src', "'self'", ...(hls ? [hls] : []), ...webTransport],
    ['worker-src', "'self'", 'blob:'],
    ['manifest-src', "'self'"],
    ['object-src', "'none'"],
    ['base-uri', "'self'"],
    ['form-action', "'self'"],
    ['frame-ancestors', "'none'"],
  ];
  return directives.map((d) => d.join(' ')).join('; ');
}
