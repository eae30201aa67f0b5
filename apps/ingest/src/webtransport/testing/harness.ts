/**
 * Helpers for the WebTransport integration tests: a server on a free loopback port with a fresh
 * certificate, sessions as a queue, and whole-stream reads and writes.
 */
import { pino } from 'pino';
import { generateCertificate, type GeneratedCertificate } from '../certificates';
import { connectWebTransport, type ClientWebTransport, type WebTransportConnectOptions } from '../quiche-client';
import { createWebTransportServer } from '../server';
import type { WebTransportServerOptions } from '../server-options';
import type { WebTransportServer, WebTransportSession } from '../transport';

/** Items pushed by a callback, taken in order by tests (with a timeout so a test never hangs). */
export class Queue<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(item: T) => void> = [];

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  get size(): number {
    return this.items.length;
  }

  next(timeoutMs = 10_000, what = 'queue item'): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(deliver), 1);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const deliver = (value: T) => {
        clearTimeout(timer);
        resolve(value);
      };
      this.waiters.push(deliver);
    });
  }
}

export interface TestServer {
  server: WebTransportServer;
  port: number;
  certificate: GeneratedCertificate;
  sessions: Queue<WebTransportSession>;
  url(path: string): string;
  connect(path: string, options?: WebTransportConnectOptions): Promise<ClientWebTransport>;
}

let sharedCertificate: Promise<GeneratedCertificate> | undefined;

export function testCertificate(): Promise<GeneratedCertificate> {
  sharedCertificate ??= generateCertificate({ hosts: ['127.0.0.1', 'localhost'] });
  return sharedCertificate;
}

/** `keepSessions: false` when the test takes sessions itself (the queue would hold every one). */
export async function startTestServer(options: Partial<WebTransportServerOptions> & { keepSessions?: boolean } = {}): Promise<TestServer> {
  const { keepSessions = true, ...serverOptions } = options;
  const certificate = await testCertificate();
  const server = createWebTransportServer({
    port: 0,
    certificate,
    paths: ['/moq', '/echo/'],
    authorize: () => ({ status: 200 }),
    logger: pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' }),
    ...serverOptions,
  });
  const sessions = new Queue<WebTransportSession>();
  if (keepSessions) server.on('session', (session) => sessions.push(session));
  const { port } = await server.listen();
  const url = (path: string) => `https://127.0.0.1:${port}${path}`;
  return {
    server,
    port,
    certificate,
    sessions,
    url,
    connect: (path, connectOptions = {}) => connectWebTransport(url(path), { serverCertificateHashes: [certificate.sha256], ...connectOptions }),
  };
}

export async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of readable as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

export async function writeAll(writable: WritableStream<Uint8Array>, bytes: Uint8Array, chunkBytes = 64 * 1024, close = true): Promise<void> {
  const writer = writable.getWriter();
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) await writer.write(bytes.subarray(offset, offset + chunkBytes));
  if (close) await writer.close();
  else writer.releaseLock();
}

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
export const untext = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Reads the next item of a readable of streams (incomingUnidirectionalStreams…). */
export async function nextIncoming<T>(streams: ReadableStream<T>, timeoutMs = 10_000): Promise<T> {
  const reader = streams.getReader();
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([reader.read(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no incoming stream within ${timeoutMs} ms`)), timeoutMs)))]);
    if (result.done) throw new Error('incoming streams ended');
    return result.value;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}
