/**
 * LL-HLS load generator for bench/hls-load.ts: many clients in one process (pinned by the caller),
 * each on its own keep-alive HTTP/1.1 connection (raw `net` sockets and a minimal response
 * reader: no fetch, no browser, so the generator costs little beside the server it loads).
 *
 * A client does what an LL-HLS player does for the live edge (RFC 8216bis §6.2.5.2): it reads the
 * media playlist once, then loops — a blocking playlist reload for the next part
 * (`_HLS_msn`/`_HLS_part`), then a GET of every part that reload newly lists (all of them, in order;
 * a client that fell more than the listed parts behind counts a gap) — one request at a time on its
 * connection.
 *
 * When a blocking reload is answered, its arrival time (wall clock, ms) is kept per requested
 * `msn.part`: the earliest here and a 1 ms histogram relative to it. The parent merges the
 * processes' (a key's reference is the first client of any process to get it): the spread is the
 * delay the load adds, from the first client answered to the last.
 *
 * IPC: {cmd:'add', url, count, perSecond} → {cmd:'added'} once all are connected and started
 *      {cmd:'take'} → {cmd:'taken', reloads: [{key, min, hist: [[ms, n]…]}] (keys older than 2 s),
 *        playlists, parts, bytes, errors, gaps, messages, cpuMicros, clients}
 *      {cmd:'close'} → exits
 */
import { connect, type Socket } from 'node:net';
import { readMediaPlaylist } from './soak-hls-clients';

interface Response { status: number; body: Buffer }
const CRLF2 = Buffer.from('\r\n\r\n');
const now = () => performance.timeOrigin + performance.now();

/** One keep-alive connection; one request at a time. */
class Connection {
  private socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: { resolve(r: Response): void; reject(e: Error): void } | undefined;
  private head: { status: number; length: number; headerBytes: number; close: boolean } | undefined;
  closed = false;

  constructor(private readonly host: string, private readonly port: number) {
    this.socket = this.open();
  }

  private open(): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed')));
    return socket;
  }

  private fail(error: Error): void {
    this.closed = true;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(error);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (!this.head) {
      const end = this.buffer.indexOf(CRLF2);
      if (end < 0) return;
      const text = this.buffer.subarray(0, end).toString('latin1');
      const status = Number(text.slice(9, 12));
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(text);
      if (!m) return this.fail(new Error(`HTTP ${status} without Content-Length`));
      // nginx ends a keep-alive connection after keepalive_requests (1000) answers with `Connection: close`.
      this.head = { status, length: Number(m[1]), headerBytes: end + 4, close: /\r\nconnection:\s*close/i.test(text) };
    }
    const total = this.head.headerBytes + this.head.length;
    if (this.buffer.length < total) return;
    const response = { status: this.head.status, body: this.buffer.subarray(this.head.headerBytes, total) };
    this.buffer = this.buffer.subarray(total);
    if (this.head.close) {
      // The next request opens a new connection; this one's close is no failure.
      for (const event of ['close', 'error', 'data']) this.socket.removeAllListeners(event);
      this.socket.on('error', () => undefined);
      this.socket.end();
      this.closed = true;
    }
    this.head = undefined;
    const p = this.pending;
    this.pending = undefined;
    p?.resolve(response);
  }

  get(path: string): Promise<Response> {
    if (this.closed) {
      this.closed = false;
      this.buffer = Buffer.alloc(0);
      this.head = undefined;
      this.socket = this.open();
    }
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nUser-Agent: onair-hls-load\r\n\r\n`);
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

const stats = { playlists: 0, parts: 0, bytes: 0, errors: 0, gaps: 0, messages: [] as string[] };
const reloads = new Map<string, { first: number; min: number; hist: Map<number, number> }>();
const connections: Connection[] = [];
let running = true;

function error(message: string): void {
  stats.errors += 1;
  if (stats.messages.length < 10) stats.messages.push(message);
}

function answered(key: string): void {
  const t = now();
  let entry = reloads.get(key);
  if (!entry) {
    entry = { first: t, min: t, hist: new Map() };
    reloads.set(key, entry);
  }
  if (t < entry.min) entry.min = t;
  const bucket = Math.floor(t - entry.first);
  entry.hist.set(bucket, (entry.hist.get(bucket) ?? 0) + 1);
}

async function client(url: URL, connection: Connection, started: () => void): Promise<void> {
  const dir = url.pathname.slice(0, url.pathname.lastIndexOf('/') + 1);
  let lastPart: string | undefined;
  let first = true;
  let path = url.pathname;
  while (running) {
    let res: Response;
    try {
      res = await connection.get(path);
    } catch (e) {
      if (running) error(`playlist: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
      path = url.pathname;
      continue;
    }
    if (res.status !== 200) {
      error(`playlist ${path} answered ${res.status}: ${res.body.toString().slice(0, 120)}`);
      await new Promise((r) => setTimeout(r, 200));
      path = url.pathname;
      continue;
    }
    stats.playlists += 1;
    stats.bytes += res.body.length;
    const key = /_HLS_msn=(\d+)&_HLS_part=(\d+)/.exec(path);
    if (key) answered(`${key[1]}.${key[2]}`);
    const view = readMediaPlaylist(res.body.toString('utf8'));
    if (first) {
      // The live edge: what is listed on arrival is history to this client.
      lastPart = view.parts.at(-1);
      first = false;
      started();
    } else {
      const from = lastPart === undefined ? -1 : view.parts.lastIndexOf(lastPart);
      if (from < 0 && lastPart !== undefined) stats.gaps += 1;
      for (const uri of view.parts.slice(from < 0 ? -1 : from + 1)) {
        if (!running) return;
        try {
          const part = await connection.get(uri.startsWith('/') ? uri : dir + uri);
          if (part.status !== 200) error(`part ${uri} answered ${part.status}`);
          else {
            stats.parts += 1;
            stats.bytes += part.body.length;
          }
        } catch (e) {
          if (running) error(`part: ${(e as Error).message}`);
        }
        lastPart = uri;
      }
    }
    if (view.ended) return;
    path = view.next ? `${url.pathname}?_HLS_msn=${view.next.msn}&_HLS_part=${view.next.part}` : url.pathname;
  }
}

async function add(url: URL, count: number, perSecond: number): Promise<void> {
  let started = 0;
  const all = new Promise<void>((resolve) => {
    const one = () => { started += 1; if (started === count) resolve(); };
    for (let i = 0; i < count; i++) {
      setTimeout(() => {
        const connection = new Connection(url.hostname, Number(url.port));
        connections.push(connection);
        void client(url, connection, one);
      }, (i * 1000) / perSecond);
    }
  });
  await all;
}

process.on('message', (message: { cmd: string; url?: string; count?: number; perSecond?: number }) => {
  if (message.cmd === 'add') {
    void add(new URL(message.url!), message.count!, message.perSecond ?? 1000).then(() => process.send!({ cmd: 'added' }));
  } else if (message.cmd === 'take') {
    const t = now();
    const done: Array<{ key: string; min: number; hist: Array<[number, number]> }> = [];
    for (const [key, entry] of reloads) {
      if (t - entry.first < 2000) continue;
      reloads.delete(key);
      // Buckets are relative to the first answer seen here; shift them to the earliest.
      const shift = entry.first - entry.min;
      done.push({ key, min: entry.min, hist: [...entry.hist].map(([ms, n]) => [ms + shift, n]) });
    }
    const cpu = process.cpuUsage();
    process.send!({ cmd: 'taken', reloads: done, ...stats, messages: stats.messages.splice(0), cpuMicros: cpu.user + cpu.system, clients: connections.length });
  } else if (message.cmd === 'close') {
    running = false;
    for (const c of connections) c.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ cmd: 'ready' });
