/**
 * A small HTTP toolkit over node:http: a router with path parameters, bounded body reading,
 * CORS, and one function that writes every error (problem+json). Services build a router in
 * `createXxx()` and call `listen()` separately, so tests can start them on free ports.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OnairError, toProblem } from '@onair/shared/errors';
import type { Logger } from './logger';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  log: Logger;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: Method;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

export interface CorsOptions {
  /** Origins allowed to call; `*` allows any (WHIP/WHEP are meant to be called from any page). */
  allowOrigin: string;
  allowHeaders: string[];
  exposeHeaders: string[];
}

export class Router {
  private readonly routes: Route[] = [];

  /** `path` segments starting with `:` capture one URL segment, e.g. `/whep/:stream`. */
  on(method: Method, path: string, handler: Handler): this {
    const keys: string[] = [];
    const source = path
      .split('/')
      .map((segment) => {
        if (segment.startsWith(':')) {
          keys.push(segment.slice(1));
          return '([^/]+)';
        }
        return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.routes.push({ method, pattern: new RegExp(`^${source}/?$`), keys, handler });
    return this;
  }

  /** Finds the handler; distinguishes "no such path" (404) from "path exists, wrong method" (405). */
  match(method: string, pathname: string): { handler: Handler; params: Record<string, string> } | { allowed: Method[] } {
    const allowed: Method[] = [];
    for (const route of this.routes) {
      const found = route.pattern.exec(pathname);
      if (!found) continue;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
        allowed.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      route.keys.forEach((key, index) => {
        params[key] = decodePathSegment(found[index + 1] ?? '');
      });
      return { handler: route.handler, params };
    }
    return { allowed };
  }
}

/** A malformed escape (`/whep/%E0%A4%A`) is the client's mistake: 400, not a 500. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new OnairError('bad_request', `The path segment "${segment}" is not valid percent-encoding.`);
  }
}

/**
 * The request target as a URL. An origin-form target (RFC 9112 §3.2.1) is a path: `//`, `//%` or
 * `//a:b@` are paths too, not a scheme-relative authority (`new URL('//', base)` throws on them);
 * an absolute-form one (from a proxy) is taken as it is. One that is neither is a 400.
 */
export function requestUrl(target: string | undefined): URL {
  const raw = target ?? '/';
  try {
    return raw.startsWith('/') ? new URL(`http://localhost${raw}`) : new URL(raw, 'http://localhost');
  } catch {
    throw new OnairError('bad_request', 'The request target is not a valid URL.');
  }
}

export interface HttpServiceOptions {
  router: Router;
  log: Logger;
  cors?: CorsOptions;
}

/** Creates (does not start) the HTTP server for a router. */
export function createHttpService({ router, log, cors }: HttpServiceOptions): Server {
  const server = createServer((req, res) => {
    // Nothing may escape: a rejection of this listener would end the process (Node's default
    // for unhandled rejections), whatever the request was.
    void handleRequest(req, res).catch((error: unknown) => writeError(res, error, log));
  });
  const handleRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (cors) applyCors(res, cors);
    try {
      const url = requestUrl(req.url);
      const found = router.match(req.method ?? 'GET', url.pathname);
      if ('allowed' in found) {
        if (found.allowed.length === 0) throw new OnairError('not_found', `No resource at ${url.pathname}.`);
        // Preflight and plain OPTIONS (RFC 9725 §4.1 lets clients probe WHIP with OPTIONS).
        if (req.method === 'OPTIONS') {
          res.writeHead(204, { Allow: [...found.allowed, 'OPTIONS'].join(', '), 'Access-Control-Allow-Methods': [...found.allowed, 'OPTIONS'].join(', ') });
          res.end();
          return;
        }
        res.setHeader('Allow', found.allowed.join(', '));
        throw new OnairError('method_not_allowed', `${req.method} is not allowed on ${url.pathname}.`);
      }
      await found.handler({ req, res, url, params: found.params, log });
    } catch (error) {
      writeError(res, error, log);
    }
  };
  // A client that opens a connection and never sends its request must not hold it forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return server;
}

function applyCors(res: ServerResponse, cors: CorsOptions): void {
  res.setHeader('Access-Control-Allow-Origin', cors.allowOrigin);
  res.setHeader('Access-Control-Allow-Headers', cors.allowHeaders.join(', '));
  res.setHeader('Access-Control-Expose-Headers', cors.exposeHeaders.join(', '));
  res.setHeader('Access-Control-Max-Age', '600');
}

/** The one place an error becomes a response. Unexpected errors are logged with their stack, never sent. */
export function writeError(res: ServerResponse, error: unknown, log: Logger): void {
  const problem = toProblem(error);
  if (problem.status >= 500) log.error({ err: error }, 'request failed');
  else log.debug({ code: problem.code, detail: problem.detail }, 'request refused');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(problem);
  const headers: Record<string, string | number> = { 'Content-Type': 'application/problem+json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' };
  // An error that says when to come back (`retryAfterS`) says it in the header too (RFC 9110 §10.2.3).
  if (typeof problem.retryAfterS === 'number' && !res.hasHeader('Retry-After')) headers['Retry-After'] = String(problem.retryAfterS);
  const discarding = lingering.get(res.req);
  if (discarding) {
    // The whole answer goes out now (a client watching for it can stop sending); the response
    // ends, and the connection closes, only once the unread body is drained or given up on.
    res.writeHead(problem.status, { ...headers, Connection: 'close' });
    res.write(body);
    void discarding.then(() => res.end());
    return;
  }
  res.writeHead(problem.status, headers);
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

export function sendText(res: ServerResponse, status: number, body: string | Buffer, contentType: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Checks the media type (parameters such as `; charset=utf-8` ignored) or throws 415. */
export function requireContentType(req: IncomingMessage, expected: string): void {
  const actual = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (actual !== expected) {
    throw new OnairError('unsupported_media_type', `Content-Type must be ${expected}${actual ? `, not ${actual}` : ''}.`);
  }
}

/** How much of an oversized body is read and thrown away so that the client can read the 413. */
export const LINGER_MAX_BYTES = 4 * 1024 * 1024;
/** How long an oversized body is read and thrown away at most. */
export const LINGER_MAX_MS = 5_000;

/** Requests whose body is being thrown away; resolves true when it ended, false when cut off. */
const lingering = new WeakMap<IncomingMessage, Promise<boolean>>();

/**
 * Reads and discards the rest of a body the server will not use, up to LINGER_MAX_BYTES or
 * LINGER_MAX_MS. A socket closed with unread data makes the kernel send RST, and a client still
 * writing its body then loses the answer to a reset (RFC 9112 §9.6 describes the lingering close
 * servers do for this); reading on lets the 413 arrive, the bound keeps a stranger from holding us.
 */
function discardRestOfBody(req: IncomingMessage): void {
  if (lingering.has(req)) return;
  lingering.set(
    req,
    new Promise<boolean>((resolve) => {
      if (req.complete) return resolve(true);
      let discarded = 0;
      const finish = (ended: boolean): void => {
        clearTimeout(timer);
        req.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
        resolve(ended);
      };
      const onData = (chunk: Buffer): void => {
        discarded += chunk.length;
        if (discarded > LINGER_MAX_BYTES) finish(false);
      };
      const onEnd = (): void => finish(true);
      const onClose = (): void => finish(req.complete);
      const timer = setTimeout(() => finish(false), LINGER_MAX_MS).unref();
      req.on('data', onData).once('end', onEnd).once('close', onClose).once('error', onClose);
      req.resume();
    }),
  );
}

/**
 * Reads the body up to `limitBytes`, with or without Content-Length. Past the limit it throws
 * 413 with the given code and keeps nothing; the rest of the body is read and discarded (bounded)
 * while the 413 goes out, so the client reads the answer instead of a connection reset.
 */
export function readBody(req: IncomingMessage, limitBytes: number, tooLargeCode: 'body_too_large' | 'sdp_too_large' = 'body_too_large'): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    discardRestOfBody(req);
    return Promise.reject(new OnairError(tooLargeCode, `The body is ${declared} bytes; the limit is ${limitBytes}.`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      req.off('data', onData).off('end', onEnd).off('close', onClose).off('error', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limitBytes) {
        stop();
        chunks.length = 0;
        discardRestOfBody(req);
        reject(new OnairError(tooLargeCode, `The body exceeds the limit of ${limitBytes} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(chunks));
    };
    // The client went away mid-body: nobody will read an answer, but the handler must not hang.
    const onClose = (): void => {
      stop();
      reject(new OnairError('bad_request', 'The request body ended before it was complete.'));
    };
    req.on('data', onData).once('end', onEnd).once('close', onClose).once('error', onClose);
  });
}

/** Reads and validates a JSON body with a zod-like schema; every problem is listed in the error. */
export async function readJson<T>(req: IncomingMessage, schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, limitBytes = 64 * 1024): Promise<T> {
  requireContentType(req, 'application/json');
  const raw = await readBody(req, limitBytes);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new OnairError('invalid_body', 'The body is not valid JSON.');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || 'body'}: ${issue.message}`);
    throw new OnairError('invalid_body', issues.join('; '), { extensions: { issues } });
  }
  return parsed.data;
}

/** `Authorization: Bearer <token>` → token, or throws 401 when absent or malformed. */
export function bearerToken(req: IncomingMessage): string {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new OnairError('missing_credentials', 'Send the credential as "Authorization: Bearer <token>".');
  return match[1];
}

/** Starts listening and resolves with the bound address (port 0 picks a free port). */
export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Closes the server and any idle or open connections (so shutdown never hangs on keep-alive). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
