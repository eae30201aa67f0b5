/**
 * `GET /api/webtransport` (public): where a browser publishes over WebTransport, and the
 * certificate hashes to pass as `serverCertificateHashes` when the certificate is self-made.
 * The web origin forwards the same document (apps/web/app/api/webtransport).
 *
 * With `Authorization: Bearer <stream key>` the key is checked too (403 invalid_stream_key):
 * Chromium reports a CONNECT refused with 403 only as "handshake failed", the same as a network
 * that blocks QUIC, so onair's broadcaster asks here first and can tell a wrong key (an error to
 * show) from blocked UDP (a reason to publish over WHIP). It reveals no more than a WHIP POST does.
 */
import type { WebTransportDiscovery } from '@onair/shared/api';
import { OnairError } from '@onair/shared/errors';
import { bearerToken, sendJson, type Router } from '@onair/service/http';

export interface WebTransportEndpoint {
  /** The URL a publisher connects to (without the key). */
  url(): string;
  /** SHA-256 (hex) of each certificate a new connection may be shown; empty with a configured certificate. */
  certificateHashes(): string[];
  knowsKey(key: string): Promise<boolean>;
}

/** `endpoint` is undefined when WebTransport is off (ONAIR_WEBTRANSPORT_PORT=off). */
export function registerWebTransportDiscovery(router: Router, endpoint: WebTransportEndpoint | undefined): void {
  router.on('GET', '/api/webtransport', async ({ req, res }) => {
    if (!endpoint) throw new OnairError('webtransport_disabled', 'WebTransport publishing is turned off on this server (ONAIR_WEBTRANSPORT_PORT=off): publish over WHIP.');
    if (req.headers.authorization !== undefined && !(await endpoint.knowsKey(bearerToken(req)))) {
      throw new OnairError('invalid_stream_key', 'The stream key is not valid (it may have been rotated).');
    }
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
