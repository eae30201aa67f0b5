/**
 * Who the client is and which host it asked for, as route handlers and proxy.ts may believe it.
 *
 * The web server (server/web-server.ts) rewrites the forwarded headers of every request before
 * Next sees it: `X-Forwarded-For` becomes the one client address found by the trusted-proxy rule
 * (`ONAIR_TRUSTED_PROXIES`; the socket's address when the peer is not a trusted proxy), and
 * `X-Forwarded-Host` / `-Proto` are dropped unless a trusted proxy sent them. It marks the
 * process when it does so. Without that mark (the app run by plain `next start`), these headers
 * are whatever the client wrote, so they are not believed at all.
 */

const MARK = Symbol.for('onair.web.forwardedHeadersVerified');

/** Called by the web server once it rewrites forwarded headers on every request. */
export function markForwardedHeadersVerified(): void {
  (globalThis as Record<symbol, unknown>)[MARK] = true;
}

export function forwardedHeadersVerified(): boolean {
  return (globalThis as Record<symbol, unknown>)[MARK] === true;
}

type HeaderSource = { get(name: string): string | null };

/** The client's address, or 'unknown' when the server could not vouch for one. */
export function clientAddressOf(headers: HeaderSource): string {
  if (!forwardedHeadersVerified()) return 'unknown';
  return headers.get('x-forwarded-for')?.trim() || 'unknown';
}

/** The host the browser asked for: a trusted proxy's `X-Forwarded-Host`, else `Host`. */
export function requestedHostOf(headers: HeaderSource): string | null {
  const forwarded = forwardedHeadersVerified() ? headers.get('x-forwarded-host')?.split(',')[0]?.trim() : undefined;
  return forwarded || headers.get('host');
}

/** Whether the browser reached us over https: the socket, or a trusted proxy's `X-Forwarded-Proto`. */
export function requestedProtoOf(headers: HeaderSource, url: string): 'https' | 'http' {
  if (new URL(url).protocol === 'https:') return 'https';
  const forwarded = forwardedHeadersVerified() ? headers.get('x-forwarded-proto')?.split(',')[0]?.trim() : undefined;
  return forwarded === 'https' ? 'https' : 'http';
}
