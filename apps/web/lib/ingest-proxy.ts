/**
 * Server-side forwarding of WHIP/WHEP and the public live list to the ingest, so the browser only
 * ever talks to the web origin (one origin: no CORS, one TLS certificate, the ingest can stay on
 * loopback). The ingest URL is runtime configuration (`ONAIR_INGEST_URL`), read per request.
 *
 * In a cluster (ONAIR_REDIS_URL) any live ingest node will do: a new session (a POST) goes to a
 * node picked at random from the cluster's list (another one if it cannot be reached), and the
 * session resource handed to the browser names that node (`Location: /whep/sessions/<id>?node=<node>`,
 * and the same on the resource's `Link`s), so its PATCH and DELETE reach the node holding the
 * session through whichever web node they hit.
 *
 * Server-only: imported by route handlers, never by client components.
 */
import { OnairError, type ErrorCode } from '@onair/shared/errors';
import { SITE_PROXY_HEADER, siteProxyToken } from '@onair/service/site-proxy';
import { clientAddressOf } from './forwarded';
import { upstreamDeadline } from './upstream-deadline';
import { readBodyWithin } from './read-body';
import { clusterView, type IngestNode, shuffled } from './cluster-view';

/** The part of the cluster view the proxy uses (a fake in tests). */
export interface IngestDirectory {
  ingestNodes(): Promise<IngestNode[]>;
  ingestNode(id: string): Promise<IngestNode | undefined>;
  forgetIngestNode(id: string): void;
}

/** The query parameter naming a session's node in its resource URL. */
export const NODE_PARAM = 'node';
/** At most this many nodes are tried for one POST. */
const MAX_NODE_ATTEMPTS = 3;

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
  /** Overrides the cluster's list of ingest nodes (tests); null: one machine whatever the env says. */
  cluster?: IngestDirectory | null;
}

/** A session resource's path (`/whip/sessions/<id>…`, `/whep/sessions/<id>…`): it lives on one node. */
function isSessionResource(path: string): boolean {
  return /^\/wh[ei]p\/sessions\//.test(path);
}

/** `path[?query]` with `node=<id>` added (a session resource's URL as the browser is given it). */
export function withNode(pathAndQuery: string, node: string): string {
  const url = new URL(pathAndQuery, 'http://web.invalid');
  url.searchParams.set(NODE_PARAM, node);
  return `${url.pathname}${url.search}${url.hash}`;
}

/** The `Link` header with every session-resource target (e.g. WHEP's layer resource) naming `node`. */
export function linksWithNode(link: string, node: string): string {
  return link.replace(/<(\/wh[ei]p\/sessions\/[^>]*)>/g, (_match, target: string) => `<${withNode(target, node)}>`);
}

/** Forwards `request` to `<ingest><path>` and answers with the ingest's status, body and API headers. */
export async function proxyToIngest(request: Request, path: string, options: ProxyOptions = {}): Promise<Response> {
  const env = options.env ?? process.env;
  const cluster = options.cluster === undefined ? clusterView(env) : (options.cluster ?? undefined);
  const incoming = new URL(request.url);
  let targets: Array<{ base: URL; node?: string }>;
  try {
    targets = cluster ? await clusterTargets(cluster, path, incoming) : [{ base: ingestBaseUrl(env) }];
  } catch (error) {
    if (error instanceof OnairError) return problemResponse(error.code, error.message);
    return problemResponse('unavailable', 'The cluster (Redis) cannot be reached to find an ingest node. Try again shortly.');
  }

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
  const adminToken = env.ONAIR_ADMIN_TOKEN?.trim();
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
  let upstream: Response | undefined;
  let node: string | undefined;
  let failure = 'The ingest is unreachable.';
  let deadline: ReturnType<typeof upstreamDeadline> | undefined;
  for (const target of targets) {
    const url = new URL(path, target.base);
    url.search = incoming.search;
    url.searchParams.delete(NODE_PARAM);
    deadline = upstreamDeadline(undefined, UPSTREAM_TIMEOUT_MS, 'The ingest');
    try {
      upstream = await fetchImpl(url, { method: request.method, headers, body, redirect: 'manual', cache: 'no-store', signal: deadline.signal });
      node = target.node;
      break;
    } catch (error) {
      deadline.release();
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      failure = timedOut ? `The ingest did not answer within ${UPSTREAM_TIMEOUT_MS / 1000} s.` : 'The ingest is unreachable.';
      // Nothing reached that node: another one may take the request (a timeout may have, so not then).
      if (target.node) cluster?.forgetIngestNode(target.node);
      if (timedOut) break;
    }
  }
  if (!upstream || !deadline) return problemResponse('upstream_unreachable', failure);

  const out = new Headers({ 'cache-control': 'no-store' });
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value === null) continue;
    if (name === 'location') out.set(name, node ? withNode(rewriteLocation(value), node) : rewriteLocation(value));
    else if (name === 'link' && node) out.set(name, linksWithNode(value, node));
    else out.set(name, value);
  }
  const nullBody = upstream.status === 204 || upstream.status === 304 || request.method === 'HEAD';
  try {
    return new Response(nullBody ? null : await upstream.arrayBuffer(), { status: upstream.status, headers: out });
  } finally {
    deadline.release();
  }
}

/**
 * Where a request goes in a cluster: a session resource to the node its URL names; anything else
 * to live nodes in a random order (tried one after the other while they cannot be reached).
 */
async function clusterTargets(cluster: IngestDirectory, path: string, incoming: URL): Promise<Array<{ base: URL; node: string }>> {
  if (isSessionResource(path)) {
    const id = incoming.searchParams.get(NODE_PARAM) ?? '';
    const node = id ? await cluster.ingestNode(id) : undefined;
    // Gone with its node (or never made here): what the ingest would say of an unknown session.
    if (!node) throw new OnairError('session_not_found', id ? `No session here: ingest node "${id.slice(0, 128)}" is not in the cluster any more.` : 'This session resource names no ingest node (?node=).');
    return [{ base: new URL(node.url), node: node.id }];
  }
  const nodes = shuffled(await cluster.ingestNodes()).slice(0, MAX_NODE_ATTEMPTS);
  if (nodes.length === 0) throw new OnairError('unavailable', 'No ingest node of the cluster is alive right now. Try again shortly.');
  return nodes.map((node) => ({ base: new URL(node.url), node: node.id }));
}
