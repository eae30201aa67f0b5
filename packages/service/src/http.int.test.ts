/**
 * An oversized body against a real server on loopback: the client must read the 413 problem,
 * not a connection reset. The clients here write their whole body before reading anything (as
 * simple clients and proxies do), the case where closing a socket with unread data makes the
 * kernel send RST and the answer is lost (RFC 9112 §9.6). And the server must not read forever:
 * a body that never ends is cut off after a bound.
 */
import { connect, type Socket } from 'node:net';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Router, closeServer, createHttpService, listen, readBody, sendJson, LINGER_MAX_BYTES } from './http';

const LIMIT = 64 * 1024;
let port: number;
let server: ReturnType<typeof createHttpService>;

beforeAll(async () => {
  const router = new Router().on('POST', '/upload', async ({ req, res }) => {
    const body = await readBody(req, LIMIT);
    sendJson(res, 200, { size: body.length });
  });
  server = createHttpService({ router, log: pino({ level: 'silent' }) });
  ({ port } = await listen(server, 0, '127.0.0.1'));
});

afterAll(async () => {
  await closeServer(server);
});

interface RawExchange {
  /** Everything the server sent. */
  received: string;
  /** The socket error the client saw, if any (ECONNRESET, EPIPE). */
  error?: string;
}

/**
 * Writes the request head and `bodyBytes` of body (framed by Content-Length or chunked) before
 * reading, then reads until the server closes. Resolves with what was read and any error.
 */
function writeAllThenRead(framing: 'length' | 'chunked', bodyBytes: number): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
    socket.on('close', () => resolve({ received: Buffer.concat(received).toString('latin1'), error }));
    socket.pause(); // read nothing until the body is written
    const head = framing === 'length' ? `Content-Length: ${bodyBytes}\r\n` : 'Transfer-Encoding: chunked\r\n';
    socket.write(`POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n${head}\r\n`);
    const piece = Buffer.alloc(16 * 1024, 0x61);
    let written = 0;
    const pump = (): void => {
      while (written < bodyBytes) {
        const size = Math.min(piece.length, bodyBytes - written);
        written += size;
        const data = framing === 'length' ? piece.subarray(0, size) : Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), piece.subarray(0, size), Buffer.from('\r\n')]);
        if (!socket.write(data)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.write(framing === 'chunked' ? '0\r\n\r\n' : '', () => socket.resume());
    };
    pump();
  });
}

function parseResponse(raw: string): { status: number; headers: string; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]), headers: raw.slice(0, split).toLowerCase(), body: raw.slice(split + 4) };
}

describe('a body over the limit', () => {
  it.each(['length', 'chunked'] as const)('framed by %s, written in full before reading: the client reads the 413 problem and a clean close', async (framing) => {
    const exchange = await writeAllThenRead(framing, 2 * 1024 * 1024);
    expect(exchange.error).toBeUndefined();
    const response = parseResponse(exchange.received);
    expect(response.status).toBe(413);
    expect(response.headers).toContain('content-type: application/problem+json');
    // The rest of the body was read and thrown away; the connection cannot be reused.
    expect(response.headers).toContain('connection: close');
    expect(JSON.parse(response.body)).toMatchObject({ status: 413, code: 'body_too_large' });
  });

  it.each(['length', 'chunked'] as const)('framed by %s, sent with node:http: the response arrives, no ECONNRESET', async (framing) => {
    const outcome = await new Promise<{ status?: number; body?: string; error?: string }>((resolve) => {
      const size = 3 * 1024 * 1024;
      const req = request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', agent: false, headers: framing === 'length' ? { 'Content-Length': size } : {} }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code }));
      const piece = Buffer.alloc(64 * 1024);
      let written = 0;
      const pump = (): void => {
        while (written < size) {
          written += piece.length;
          if (!req.write(piece)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe(413);
    expect(JSON.parse(outcome.body!)).toMatchObject({ code: 'body_too_large' });
  });

  it.each(['length', 'chunked'] as const)('framed by %s and never ending is read only up to a bound: the client has the 413, then the server closes', async (framing) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let discardedAtClose = 0;
    let written = 0;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => {}); // the reset at the end is expected: the client would not stop
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n${framing === 'length' ? 'Content-Length: 1000000000' : 'Transfer-Encoding: chunked'}\r\n\r\n`);
    const data = Buffer.alloc(0x4000, 0x62);
    const piece = framing === 'length' ? data : Buffer.concat([Buffer.from('4000\r\n'), data, Buffer.from('\r\n')]);
    const pump = (): void => {
      while (!socket.destroyed) {
        written += 0x4000;
        if (written > 64 * 1024 * 1024) return; // bounded: the server gave up long before this
        if (!socket.write(piece)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
    await closed;
    discardedAtClose = written;
    expect(parseResponse(received).status).toBe(413);
    // The server stopped reading near its bound (plus what sat in socket buffers), far below 64 MiB.
    expect(discardedAtClose).toBeGreaterThan(LIMIT);
    expect(discardedAtClose).toBeLessThan(LINGER_MAX_BYTES + 16 * 1024 * 1024);
  });

  it('keeps serving normal requests after all of that', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/upload`, { method: 'POST', body: 'x'.repeat(1000) });
    expect(await res.json()).toEqual({ size: 1000 });
  });
});

describe('a request target that is not a URL relative to the host', () => {
  /** Sends `target` raw (clients and proxies pass `//…` through as it is) and reads the answer. */
  function rawGet(target: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const received: Buffer[] = [];
      socket.on('data', (chunk) => received.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(received).toString('latin1')));
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
  }

  it('gets a problem answer, and the server goes on (`new URL("//", base)` threw outside the handler\'s catch: an unhandled rejection ends the process)', async () => {
    for (const target of ['//', '//%', '///', '//a:b@']) {
      const { status, body } = parseResponse(await rawGet(target));
      expect(status, target).toBe(404);
      expect(JSON.parse(body), target).toMatchObject({ code: 'not_found' });
    }
    const res = await fetch(`http://127.0.0.1:${port}/upload`, { method: 'POST', body: 'x' });
    expect(await res.json()).toEqual({ size: 1 });
  });
});
