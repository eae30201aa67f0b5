/**
 * Server-side forwarding of the HLS origin (`<transcoder>/hls/...`) through the web origin, so a
 * default deployment needs one public port. Built for LL-HLS:
 *
 * - the query string goes through unchanged: `_HLS_msn`/`_HLS_part` make the transcoder hold the
 *   request until that part exists (blocking playlist reload, RFC 8216bis §6.2.5.2);
 * - the body is streamed, never buffered, and the upstream request is aborted when the browser
 *   goes away (hls.js cancels blocked requests when it switches rendition);
 * - `fetch` (undici) keeps connections to the transcoder alive, so a reload costs no handshake;
 * - the viewer's address and `User-Agent` go upstream: the transcoder counts HLS viewers by them.
 *   The address is the one the web server vouched for (lib/forwarded.ts: the socket's, or a
 *   trusted proxy's word), sent as `X-Forwarded-For` with the site proxy's proof
 *   (@onair/service/site-proxy, derived from the admin token), which is what makes the transcoder
 *   believe it; a browser's own `X-Forwarded-For` never goes through.
 *
 * In a cluster (ONAIR_REDIS_URL) the origin is the transcoder running the stream's job, from its
 * job lease (lib/cluster-view.ts, cached a second): a stream live but without a transcoder right
 * now (starting, failing over) is 503 with `Retry-After`, which players retry; an origin that
 * cannot be reached is looked up afresh on the next request.
 *
 * Deployments with a CDN in front of the origin set `ONAIR_HLS_PUBLIC_URL` and the player skips
 * this proxy (see `hlsManifestUrl`). Server-only.
 */
import { SITE_PROXY_HEADER, siteProxyToken } from '@onair/service/site-proxy';
import { clientAddressOf } from './forwarded';
import { releasingBody, upstreamDeadline } from './upstream-deadline';
import { problemResponse } from './ingest-proxy';
import { clusterView, type HlsOriginLookup } from './cluster-view';

/** The part of the cluster view the /hls proxy uses (a fake in tests). */
export interface HlsOriginDirectory {
  hlsOrigin(stream: string): Promise<HlsOriginLookup>;
  forgetHlsOrigin(stream: string): void;
}

/**
 * Response headers a player or a cache needs (type, size, caching of parts and playlists), and
 * the origin's CORS headers: the README points HLS players at this proxy, and one on another
 * origin could not read a byte without them (the origin sends `Access-Control-Allow-Origin: *`).
 */
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'cache-control',
  'etag',
  'last-modified',
  'age',
  'expires',
  'allow',
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
] as const;
/** On the proxy's own answers (bad path, origin down), as the origin does on its errors: any page may read why. */
const OWN_ANSWER_CORS = { 'access-control-allow-origin': '*' };
/**
 * Request headers worth passing: conditional requests and ranges (native players use them), and
 * the viewer's browser (the transcoder's HLS viewer count; the address is added apart).
 */
const FORWARDED_REQUEST_HEADERS = ['range', 'if-none-match', 'if-modified-since', 'accept', 'user-agent', 'origin', 'access-control-request-method', 'access-control-request-headers'] as const;

/**
 * Longest an answer may take, ms. A blocking reload waits up to three target durations (3 s for
 * 1 s segments) before the transcoder answers 503; a segment of a slow rendition a bit more.
 */
export const HLS_UPSTREAM_TIMEOUT_MS = 20_000;

/** One path segment of an HLS URL: stream names, rendition ids and file names only. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function transcoderBaseUrl(env: Record<string, string | undefined> = process.env): URL | null {
  return safeUrl(env.ONAIR_TRANSCODER_URL?.trim() || 'http://127.0.0.1:8090');
}

function safeUrl(raw: string): URL | null {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

/** 503 with Retry-After: 1 (hls.js retries playlist and part loads that fail so). */
function retryLater(detail: string): Response {
  const response = ownProblem('unavailable', detail);
  response.headers.set('retry-after', '1');
  return response;
}

export interface HlsProxyOptions {
  /** Overrides `process.env` (tests). */
  env?: Record<string, string | undefined>;
  /** Overrides `fetch` (tests). */
  fetch?: typeof fetch;
  /** Overrides the cluster's job leases (tests); null: one machine whatever the env says. */
  cluster?: HlsOriginDirectory | null;
}

/** `problemResponse` with the CORS header the origin would send. */
function ownProblem(...args: Parameters<typeof problemResponse>): Response {
  const response = problemResponse(...args);
  for (const [name, value] of Object.entries(OWN_ANSWER_CORS)) response.headers.set(name, value);
  return response;
}

/** Forwards a GET/HEAD (or a CORS preflight, OPTIONS) of `/hls/<segments…>` to the transcoder and streams its answer back. */
export async function proxyHls(request: Request, segments: readonly string[], options: HlsProxyOptions = {}): Promise<Response> {
  if (segments.length < 2 || segments.length > 3 || !segments.every((s) => SEGMENT.test(s) && !s.includes('..'))) {
    return ownProblem('not_found', 'No such HLS file.');
  }
  const cluster = options.cluster === undefined ? clusterView(options.env ?? process.env) : (options.cluster ?? undefined);
  let base: URL | null;
  if (cluster) {
    let lookup: HlsOriginLookup;
    try {
      lookup = await cluster.hlsOrigin(segments[0]!);
    } catch {
      return retryLater('The cluster (Redis) cannot be reached to find this stream\'s HLS origin. Try again shortly.');
    }
    if (lookup.state === 'pending') return retryLater('The stream is live, but no transcoder serves it right now (starting, or taking over from one that stopped). Try again in a moment.');
    if (lookup.state !== 'served') return ownProblem('stream_not_found', lookup.state === 'offline' ? 'The stream is not live.' : 'No such stream.');
    base = safeUrl(lookup.url);
    if (!base) return ownProblem('internal_error', 'The job lease names an HLS origin that is not an http(s) URL.');
  } else {
    base = transcoderBaseUrl(options.env);
    if (!base) return ownProblem('internal_error', 'ONAIR_TRANSCODER_URL is not a valid http(s) URL.');
  }
  const target = new URL(`/hls/${segments.map(encodeURIComponent).join('/')}`, base);
  target.search = new URL(request.url).search;

  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const client = clientAddressOf(request.headers);
  const adminToken = (options.env ?? process.env).ONAIR_ADMIN_TOKEN?.trim();
  if (client !== 'unknown' && adminToken) {
    headers.set('x-forwarded-for', client);
    headers.set(SITE_PROXY_HEADER, siteProxyToken(adminToken));
  }
  const fetchImpl = options.fetch ?? fetch;
  // The browser gave up (rendition switch, page closed): stop the blocked upstream request too.
  const deadline = upstreamDeadline(request.signal, HLS_UPSTREAM_TIMEOUT_MS, 'The HLS origin');
  let upstream: Response;
  try {
    upstream = await fetchImpl(target, {
      method: request.method === 'HEAD' || request.method === 'OPTIONS' ? request.method : 'GET',
      headers,
      redirect: 'manual',
      cache: 'no-store',
      signal: deadline.signal,
    });
  } catch (error) {
    deadline.release();
    if (request.signal.aborted) return new Response(null, { status: 499 });
    // That transcoder may be gone: the next request looks the stream's origin up again.
    cluster?.forgetHlsOrigin(segments[0]!);
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return ownProblem('upstream_unreachable', timedOut ? `The HLS origin did not answer within ${HLS_UPSTREAM_TIMEOUT_MS / 1000} s.` : 'The HLS origin (transcoder) is unreachable.');
  }

  const out = new Headers();
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) out.set(name, value);
  }
  // Problems (404 stream_not_found, 503 not yet) are small JSON documents; keep their type.
  if (!out.has('cache-control')) out.set('cache-control', 'no-store');
  const nullBody = upstream.status === 204 || upstream.status === 304 || request.method === 'HEAD' || request.method === 'OPTIONS';
  if (nullBody || !upstream.body) {
    deadline.release();
    return new Response(null, { status: upstream.status, headers: out });
  }
  return new Response(releasingBody(upstream.body, deadline), { status: upstream.status, headers: out });
}
