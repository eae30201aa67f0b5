/**
 * The web server's guards against a real socket, with a stand-in for Next's handler that reads
 * bodies the way Next's route handlers do (the IncomingMessage as a Web Request body): forwarded
 * headers, the route's 413 reaching the client of a chunked upload, the server's own body cap,
 * the per-client connection cap, and the request timeout against requests that never finish.
 */
import { request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { OnairError } from '@onair/shared/errors';
import { readBodyWithin } from '../lib/read-body';
import { loadWebServerConfig } from './config';
import { createWebServer, type RequestHandler, type WebServer } from './web-server';

const log = pino({ level: 'silent' });
let running: WebServer | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** Like a route handler: reads the body through a Web Request; `/small` allows 16 KiB, `/all` everything. */
const handler: RequestHandler = async (req, res) => {
  const headers = { 'content-type': 'application/json' };
  if (req.method === 'GET') {
    res.writeHead(200, headers).end(JSON.stringify({ xff: req.headers['x-forwarded-for'] ?? null, host: req.headers['x-forwarded-host'] ?? null, proto: req.headers['x-forwarded-proto'] ?? null, realIp: req.headers['x-real-ip'] ?? null }));
    return;
  }
  const web = new Request(`http://web.test${req.url}`, { method: req.method, headers: req.headers as Record<string, string>, body: req as unknown as ReadableStream, duplex: 'half' } as RequestInit);
  try {
    const body = req.url === '/all' ? new Uint8Array(await web.arrayBuffer()) : await readBodyWithin(web, 16 * 1024);
    res.writeHead(200, headers).end(JSON.stringify({ bytes: body.byteLength }));
  } catch (error) {
    if (!(error instanceof OnairError)) throw error;
    res.writeHead(error.status, { 'content-type': 'application/problem+json' }).end(JSON.stringify(error.toProblem()));
  }
};

async function start(env: Record<string, string> = {}): Promise<number> {
  const config = loadWebServerConfig({ ONAIR_WEB_PORT: '0', ONAIR_WEB_HOST: '127.0.0.1', ...env });
  running = createWebServer({ ...config, maxBodyBytes: 256 * 1024 }, handler, log);
  return (await running.listen()).port;
}

function getJson(port: number, headers: Record<string, string> = {}, localAddress?: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/', headers, localAddress, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve(JSON.parse(text)));
    })
      .on('error', reject)
      .end();
  });
}

/**
 * Uploads up to `totalBytes` chunked (no Content-Length) as fast as the server reads, stopping
 * when the answer comes. Returns the answer, how much had been sent by then, and whether the
 * connection ended with a reset before the answer arrived.
 */
function upload(port: number, path: string, totalBytes: number): Promise<{ status: number | null; body: string; sentBeforeAnswer: number; closedMs: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    let answer: { status: number; body: string; sentBeforeAnswer: number } | null = null;
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/sdp' } }, (res: IncomingMessage) => {
      let body = '';
      const sentBeforeAnswer = sent;
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => (answer = { status: res.statusCode!, body, sentBeforeAnswer }));
    });
    req.on('error', () => undefined);
    req.on('close', () => resolve({ status: answer?.status ?? null, body: answer?.body ?? '', sentBeforeAnswer: answer?.sentBeforeAnswer ?? sent, closedMs: performance.now() - started }));
    const write = () => {
      while (sent < totalBytes && !answer) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      if (!answer) req.end();
    };
    write();
  });
}

describe('web server', () => {
  it('believes X-Forwarded-* only from a trusted proxy', async () => {
    const spoof = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https', 'x-real-ip': '203.0.113.8' };
    let port = await start();
    expect(await getJson(port, spoof)).toEqual({ xff: '127.0.0.1', host: null, proto: null, realIp: null });
    await running!.close();
    port = await start({ ONAIR_TRUSTED_PROXIES: '127.0.0.0/8' });
    expect(await getJson(port, spoof)).toEqual({ xff: '203.0.113.7', host: 'evil.test', proto: 'https', realIp: null });
    // A second proxy hop inside the trusted block is walked past.
    expect((await getJson(port, { 'x-forwarded-for': '198.51.100.2, 127.0.0.9' })).xff).toBe('198.51.100.2');
  });

  it("delivers a route's 413 to a chunked upload, then closes the connection (50 MiB offered)", async () => {
    const port = await start();
    const result = await upload(port, '/small', 50 * 1024 * 1024);
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body)).toMatchObject({ code: 'body_too_large' });
    // Cut at the cap: what was sent before the answer is the cap plus socket buffers, not the upload.
    expect(result.sentBeforeAnswer).toBeLessThan(8 * 1024 * 1024);
    expect(running!.stats().lingered).toBe(1);
    console.log(`[web-server] route 413 after ${(result.sentBeforeAnswer / 1024).toFixed(0)} KiB sent of 50 MiB; connection closed ${result.closedMs.toFixed(0)} ms after the start`);
  });

  it('answers 413 itself past its own body cap when a handler would read everything', async () => {
    const port = await start();
    const result = await upload(port, '/all', 50 * 1024 * 1024);
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body)).toMatchObject({ code: 'body_too_large', status: 413 });
    expect(result.sentBeforeAnswer).toBeLessThan(8 * 1024 * 1024);
    expect(running!.stats().overCap).toBe(1);
    // A body under the cap is read whole.
    expect((await upload(port, '/all', 128 * 1024)).body).toBe(JSON.stringify({ bytes: 128 * 1024 }));
  });

  it('caps connections per client address and still serves others', async () => {
    const port = await start({ ONAIR_WEB_MAX_CONNECTIONS_PER_CLIENT: '20' });
    const sockets: Socket[] = [];
    const closedEarly: number[] = [];
    for (let i = 0; i < 30; i++) {
      const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
      socket.on('error', () => undefined);
      // Read, or the end of the connection is never seen.
      socket.resume();
      socket.on('close', () => closedEarly.push(i));
      // A request that never ends: headers, then nothing of its body.
      socket.write('POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
      sockets.push(socket);
    }
    const deadline = Date.now() + 5000;
    while (closedEarly.length < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(closedEarly.length).toBe(10);
    expect(running!.stats().connections).toBe(20);
    // Another address is served at once.
    const t0 = performance.now();
    expect((await getJson(port, {}, '127.0.0.1')).xff).toBe('127.0.0.1');
    expect(performance.now() - t0).toBeLessThan(1000);
    for (const socket of sockets) socket.destroy();
  });

  it('closes requests that never finish after the request timeout', async () => {
    const port = await start({ ONAIR_WEB_REQUEST_TIMEOUT_MS: '1500' });
    const closed: number[] = [];
    const statuses: string[] = [];
    const t0 = performance.now();
    const sockets = Array.from({ length: 50 }, () => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('error', () => undefined);
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('end', () => statuses.push(answer.split('\r\n')[0] ?? ''));
      socket.on('close', () => closed.push(performance.now() - t0));
      socket.write('POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
      return socket;
    });
    const deadline = Date.now() + 6000;
    while (closed.length < sockets.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(closed.length).toBe(50);
    expect(Math.min(...closed)).toBeGreaterThan(1400);
    expect(Math.max(...closed)).toBeLessThan(3500);
    expect(new Set(statuses)).toEqual(new Set(['HTTP/1.1 408 Request Timeout']));
  });
});
