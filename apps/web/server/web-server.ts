/**
 * The web site's HTTP server: Next's request handler behind a node:http server that onair
 * configures, because `next start` offers no caps and no way to say whose forwarded headers to
 * believe. What it adds, in front of every request:
 *
 * - timeouts: the whole request (headers and body) within `requestTimeoutMs` (30 s), headers
 *   within 10 s, an idle keep-alive connection closed after 5 s, a connection with no traffic
 *   either way after 60 s. Node checks them every second (its default is every 30 s);
 * - connection caps: `maxConnections` in all (1024) and `maxConnectionsPerClient` from one socket
 *   address (128; trusted proxies carry many clients and are exempt). Past a cap a new connection
 *   is closed at once, so one client's flood of unfinished requests cannot starve the others
 *   (300 never-ending POSTs held all 300 connections for 170 s before; 2 000 pushed a normal
 *   request to 10 s);
 * - a body cap for every route (`maxBodyBytes`, 1 MiB), counted as the bytes arrive: past it the
 *   server answers 413 itself. Routes bound their own bodies lower (lib/read-body.ts); this is for
 *   whatever reads a body before a handler can (Next's proxy.ts clones it, Server Action parsing);
 * - forwarded headers rewritten by the trusted-proxy rule (forwarded-headers.ts), so that route
 *   handlers can believe `X-Forwarded-For` (lib/forwarded.ts);
 * - linger: a request answered before its body was read (a route's 413, the cap above) gets its
 *   answer, and what the client still sends is read and dropped until it closes its side, for
 *   2 s or 64 MiB at most, then the connection is closed: closing while the client still sends
 *   would make its TCP stack drop our answer with a reset (RFC 9112 §9.6, nginx's lingering
 *   close), and reading on without a bound would let it hold the connection.
 */
import { createServer, IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '@onair/service/logger';
import type { WebServerConfig } from './config';
import { normalizeForwardedHeaders } from './forwarded-headers';

const CURRENT_REQUEST = Symbol('onair.currentRequest');
type GuardedSocket = Socket & { destroySoon(): void; [CURRENT_REQUEST]?: IncomingMessage };

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface WebServerStats {
  /** Connections open now. */
  connections: number;
  /** Connections closed at once because a cap was reached, since start. */
  refused: number;
  /** Requests whose body went past `maxBodyBytes`, since start. */
  overCap: number;
  /** Requests answered before their body was read, whose remainder was discarded, since start. */
  lingered: number;
}

export interface WebServer {
  readonly server: Server;
  listen(): Promise<AddressInfo>;
  stats(): WebServerStats;
  close(): Promise<void>;
}

function problemBody(status: number, code: string, title: string, detail: string): string {
  return JSON.stringify({ type: 'about:blank', title, status, code, detail });
}

export function createWebServer(config: WebServerConfig, handle: RequestHandler, log: Logger): WebServer {
  const perClient = new Map<string, number>();
  const counts = { refused: 0, overCap: 0, lingered: 0 };

  /**
   * A request that counts its body as the parser hands it over (`push`), and past the cap or
   * once answered early, discards the rest instead of buffering it.
   */
  class GuardedRequest extends IncomingMessage {
    received = 0;
    discarding = false;
    lingering = false;
    discarded = 0;
    /** Called once when the body passes `maxBodyBytes`. */
    onOverCap: (() => void) | undefined;
    /** Called when more than `lingerBytes` were dropped. */
    onDiscardLimit: (() => void) | undefined;

    /**
     * A reader giving up on a body that is still arriving does not close the connection: the
     * server does, after the answer and linger(). Next cancels a request body nobody finished
     * reading (its request signal aborts when the response closes), and IncomingMessage answers
     * that by destroying the socket: with the client's bytes still arriving, its TCP stack got a
     * reset and sometimes dropped our 413 unread.
     */
    override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
      if (this.discarding || (!this.complete && !this.socket.destroyed)) {
        // What still arrives of the body is dropped; the answer and then linger() end the connection.
        this.discarding = true;
        return callback(error);
      }
      super._destroy(error, callback);
    }

    override push(chunk: unknown, encoding?: BufferEncoding): boolean {
      // A body that was cut never ends for its reader: whoever still waits on it is abandoned
      // with the connection, not handed a truncated body as if it were whole.
      if (chunk === null) return this.discarding ? false : super.push(chunk, encoding);
      const size = (chunk as Buffer).length;
      if (this.discarding) {
        this.discarded += size;
        if (this.discarded > config.lingerBytes) this.onDiscardLimit?.();
        return true;
      }
      this.received += size;
      if (this.received > config.maxBodyBytes) {
        this.discarding = true;
        this.onOverCap?.();
        return true;
      }
      return super.push(chunk, encoding);
    }
  }

  /**
   * For a request answered before its body was read: reads and drops what the client still sends
   * until it closes its side, `lingerMs` pass or `lingerBytes` were dropped; then closes. Safe to
   * call twice. No half-close first: a client that ends its own side on our FIN (Node's does)
   * fails its pending writes and can lose the answer it had not parsed yet.
   */
  const linger = (req: GuardedRequest) => {
    if (req.lingering) return;
    req.lingering = true;
    req.discarding = true;
    counts.lingered++;
    const socket = req.socket;
    const close = () => {
      clearTimeout(timer);
      // Whatever of the answer is still queued goes out first.
      if (socket.writableLength > 0) socket.once('drain', () => socket.destroy());
      else socket.destroy();
    };
    const timer = setTimeout(close, config.lingerMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('end', close);
    req.onDiscardLimit = close;
    // What the parser had already handed over sits in the request's buffer (a paused socket
    // resumes only when that is read): read it out so that the socket flows into `push` again.
    while (req.read() !== null);
  };

  const server = createServer(
    {
      IncomingMessage: GuardedRequest,
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      // How often Node looks for requests past their timeouts (default 30 s: a 30 s limit became ~60 s).
      connectionsCheckingInterval: 1_000,
    },
    (incoming, res) => {
      const req = incoming as GuardedRequest;
      (req.socket as GuardedSocket)[CURRENT_REQUEST] = req;
      normalizeForwardedHeaders(req.headers, req.socket.remoteAddress, config.trustedProxies);
      // Next may still try to answer a request the cap ended; a write after our 413 is not a crash.
      res.on('error', () => undefined);
      req.onOverCap = () => {
        counts.overCap++;
        if (!res.headersSent) {
          const body = problemBody(413, 'body_too_large', 'Body too large', `Request bodies are limited to ${config.maxBodyBytes} bytes.`);
          // No `Connection: close`: Node would close the socket right after the answer, and the
          // client's bytes still arriving would make its TCP stack reset it and drop the answer.
          res.writeHead(413, { 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' }).end(body);
        }
        linger(req);
      };
      res.once('finish', () => {
        if (!req.complete) linger(req);
      });
      Promise.resolve(handle(req, res)).catch((error: unknown) => {
        log.error({ err: error, url: req.url }, 'request failed');
        if (res.headersSent) res.destroy();
        else {
          const body = problemBody(500, 'internal_error', 'Internal error', 'The web server failed to answer.');
          res.writeHead(500, { 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' }).end(body);
        }
      });
    },
  );
  server.maxConnections = config.maxConnections;
  server.timeout = config.idleTimeoutMs;
  server.on('drop', () => counts.refused++);
  server.on('connection', (socket: GuardedSocket) => {
    // Node closes a connection right after the answer when the client asked for it
    // (`Connection: close`, as Node's own client does) — with the rest of an oversized body still
    // arriving, a reset that loses the answer. Such a request lingers instead.
    const destroySoon = socket.destroySoon.bind(socket);
    socket.destroySoon = () => {
      const req = socket[CURRENT_REQUEST] as GuardedRequest | undefined;
      if (req && !req.complete) linger(req);
      else destroySoon();
    };
    const address = socket.remoteAddress ?? '';
    if (config.trustedProxies.trusts(address)) return;
    const open = (perClient.get(address) ?? 0) + 1;
    if (open > config.maxConnectionsPerClient) {
      counts.refused++;
      socket.destroy();
      return;
    }
    perClient.set(address, open);
    socket.once('close', () => {
      const left = (perClient.get(address) ?? 1) - 1;
      if (left > 0) perClient.set(address, left);
      else perClient.delete(address);
    });
  });

  return {
    server,
    listen: () =>
      new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    stats: () => ({ connections: [...perClient.values()].reduce((a, b) => a + b, 0), ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Long responses (the dashboard's event stream, blocked HLS reloads) end with the process.
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      }),
  };
}
