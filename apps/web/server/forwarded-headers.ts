/**
 * Rewrites what a request says about its client before Next sees it (pure: headers in, headers
 * out). Only a trusted proxy (`ONAIR_TRUSTED_PROXIES`) may tell us the client's address, the
 * host it asked for or the scheme it used; from anyone else those headers are dropped.
 * `X-Forwarded-For` always ends up as exactly one address: the client's.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { TrustedProxies } from '@onair/shared/trusted-proxies';

/** Headers a client could use to claim another address, host or scheme. */
const FROM_PROXIES_ONLY = ['x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port'] as const;
/** Headers nothing in onair reads, removed so no later code is tempted. */
const NEVER = ['forwarded', 'x-real-ip', 'x-client-ip', 'true-client-ip', 'cf-connecting-ip'] as const;

/** Rewrites `headers` in place and returns the client's address ('' if the socket has none). */
export function normalizeForwardedHeaders(headers: IncomingHttpHeaders, peer: string | undefined, trusted: TrustedProxies): string {
  const client = trusted.clientAddress(peer, headers['x-forwarded-for']);
  if (!trusted.trusts(peer)) for (const name of FROM_PROXIES_ONLY) delete headers[name];
  for (const name of NEVER) delete headers[name];
  if (client) headers['x-forwarded-for'] = client;
  else delete headers['x-forwarded-for'];
  return client;
}
