/**
 * `GET /api/webtransport` (public): where a browser publishes over WebTransport, and the
 * certificate hashes to pass as `serverCertificateHashes` when the certificate is self-made.
 * The web origin forwards the same document (apps/web/app/api/webtransport).
 */
import type { WebTransportDiscovery } from '@onair/shared/api';
import { OnairError } from '@onair/shared/errors';
import { sendJson, type Router } from '@onair/service/http';

export interface WebTransportEndpoint {
  /** The URL a publisher connects to (without the key). */
  url(): string;
  /** SHA-256 (hex) of each certificate a new connection may be shown; empty with a configured certificate. */
  certificateHashes(): string[];
}

/** `endpoint` is undefined when WebTransport is off (ONAIR_WEBTRANSPORT_PORT=off). */
export function registerWebTransportDiscovery(router: Router, endpoint: WebTransportEndpoint | undefined): void {
  router.on('GET', '/api/webtransport', ({ res }) => {
    if (!endpoint) throw new OnairError('webtransport_disabled', 'WebTransport publishing is turned off on this server (ONAIR_WEBTRANSPORT_PORT=off): publish over WHIP.');
    const body: WebTransportDiscovery = {
      url: endpoint.url(),
      serverCertificateHashes: endpoint.certificateHashes().map((value) => ({ algorithm: 'sha-256', value })),
    };
    // Not cacheable: the hashes change when the certificate rotates.
    sendJson(res, 200, body, { 'Cache-Control': 'no-store' });
  });
}

/** `https://<host>:<port><path>` for the first bound host, IPv6 in brackets (RFC 3986 §3.2.2). */
export function webTransportUrl(host: string, port: number, path: string): string {
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
}
