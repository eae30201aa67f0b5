/**
 * Server-side forwarding of WHIP/WHEP and the public live list to the ingest, so the browser only
 * ever talks to the web origin (one origin: no CORS, one TLS certificate, the ingest can stay on
 * loopback). The ingest URL is runtime configuration (`ONAIR_INGEST_URL`), read per request.
 *
 * Server-only: imported by route handlers, never by client components.
 */
import { OnairError, type ErrorCode } from '@onair/shared/errors';
import { SITE_PROXY_HEADER, siteProxyToken } from '@onair/service/site-proxy';
import { clientAddressOf } from './forwarded';
import { upstreamDeadline } from './upstream-deadline';
import { readBodyWithin } from './read-body';

/** Request headers the ingest needs (RFC 9725: auth, SDP/trickle content types, ETag preconditions). */
const FORWARDED_REQUEST_HEADERS = ['authorization', 'content-type', 'if-match', 'if-none-match', 'accept'] as const;
/** Response headers the client needs (resource URL, ETag for PATCH, ICE servers, extensions). */
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'location', 'etag', 'link', 'accept-patch', 'allow', 'retry-after', 'cache-control', 'www-authenticate'] as const;

/** Largest request body forwarded, in bytes. The ingest caps SDP itself (32 KiB); this only stops abuse early. */
export const MAX_PROXY_BODY_BYTES = 256 * 1024;
/** How long the ingest may take to answer, in ms (an offer is answered in ~100 ms on loopback). */
export const UPSTREAM_TIMEOUT_MS = 15_000;

export function ingestBaseUrl(env: Record<string, string | undefined> = process.env): URL {
  const raw = env.ONAIR_INGEST_URL?.trim() || 'http://127.0.0.1:8080';
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url;
  } catch {
    throw new OnairError('internal_error', 'ONAIR_INGEST_URL is not a valid http(s) URL.');
  }
}

/** A problem+json response (RFC 9457) for errors the proxy itself produces. */
export function problemResponse(code: ErrorCode, detail: string): Response {
  const problem = new OnairError(code, detail).toProblem();
  return new Response(JSON.stringify(problem), { status: problem.status, headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' } });
}

/**
 * Keeps a `Location` on the web origin: an absolute URL (any host — the ingest may know its own
 * public URL) becomes its path, query and fragment; a relative one is left as it is, since the
 * web origin serves the same paths as the ingest.
 */
export function rewriteLocation(location: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  try {
    const url = new URL(location);
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return location;
  }
}

export interface ProxyOptions {
  /** Overrides `process.env` (tests). */
  env?: Record<string, string | undefined>;
  /** Overrides `fetch` (tests). */
  fetch?: typeof fetch;
}

/** Forwards `request` to `<ingest><path>` and answers with the ingest's status, body and API headers. */
export async function proxyToIngest(request: Request, path: string, options: ProxyOptions = {}): Promise<Response> {
  let base: URL;
  try {
    base = ingestBaseUrl(options.env);
  } catch (error) {
    return problemResponse('internal_error', error instanceof Error ? error.message : 'Bad ingest URL.');
  }
  const target = new URL(path, base);
  const incoming = new URL(request.url);
  target.search = incoming.search;

  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  headers.set('x-forwarded-host', request.headers.get('host') ?? incoming.host);
  headers.set('x-forwarded-proto', incoming.protocol.replace(':', ''));
  // The ingest caps sessions and POSTs per client: vouch for the browser's address with the site
  // proxy's proof, or every visitor of the site would count as this one loopback client.
  const client = clientAddressOf(request.headers);
  const adminToken = (options.env ?? process.env).ONAIR_ADMIN_TOKEN?.trim();
  if (client !== 'unknown' && adminToken) {
    headers.set('x-forwarded-for', client);
    headers.set(SITE_PROXY_HEADER, siteProxyToken(adminToken));
  }

  let body: Uint8Array<ArrayBuffer> | undefined;
  if (request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS') {
    try {
      body = (await readBodyWithin(request, MAX_PROXY_BODY_BYTES)) as Uint8Array<ArrayBuffer>;
    } catch (error) {
      if (error instanceof OnairError) return problemResponse(error.code, error.message);
      // The client went away mid-body.
      return problemResponse('bad_request', 'The request body could not be read.');
    }
    if (body.byteLength === 0) body = undefined;
  }

  const fetchImpl = options.fetch ?? fetch;
  const deadline = upstreamDeadline(undefined, UPSTREAM_TIMEOUT_MS, 'The ingest');
  let upstream: Response;
  try {
    upstream = await fetchImpl(target, { method: request.method, headers, body, redirect: 'manual', cache: 'no-store', signal: deadline.signal });
  } catch (error) {
    deadline.release();
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return problemResponse('upstream_unreachable', timedOut ? `The ingest did not answer within ${UPSTREAM_TIMEOUT_MS / 1000} s.` : 'The ingest is unreachable.');
  }

  const out = new Headers({ 'cache-control': 'no-store' });
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value === null) continue;
    out.set(name, name === 'location' ? rewriteLocation(value) : value);
  }
  const nullBody = upstream.status === 204 || upstream.status === 304 || request.method === 'HEAD';
  try {
    return new Response(nullBody ? null : await upstream.arrayBuffer(), { status: upstream.status, headers: out });
  } finally {
    deadline.release();
  }
}
