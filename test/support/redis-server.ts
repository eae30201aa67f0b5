/**
 * A test's own redis-server (Debian's package): a free loopback port, a temporary directory, AOF
 * on (`appendfsync always`, as a cluster is told to run it), never a shared instance. It can be
 * stopped cleanly, killed with SIGKILL and started again on the same port and directory, which
 * is how the cluster tests restart Redis under live streams.
 *
 *   const redis = await startRedisServer();  … redis.url … await redis.restart(); … await redis.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from './poll';
import { freePort } from './ports';

const REDIS_SERVER = '/usr/bin/redis-server';

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  /** Lines the server printed (for diagnosing a failure). */
  logs(): string[];
  /** SIGKILL (no shutdown, no final fsync), then the same port and directory again: what the AOF holds survives. */
  restart(): Promise<{ downMs: number }>;
  /** SIGKILL and leave it down. */
  kill(): Promise<void>;
  /** Starts a killed server again; resolves once it answers PING. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function redisServerInstalled(): boolean {
  return existsSync(REDIS_SERVER);
}

export async function startRedisServer(): Promise<TestRedis> {
  if (!redisServerInstalled()) throw new Error(`${REDIS_SERVER} is missing: apt-get install redis-server (npm test installs it)`);
  const dir = mkdtempSync(join(tmpdir(), 'onair-redis-'));
  const port = await freePort();
  const lines: string[] = [];
  let child: ChildProcess | undefined;

  const launch = () => {
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
      '--protected-mode', 'yes', '--daemonize', 'no', '--loglevel', 'warning',
    ];
    child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (lines.length > 500) lines.splice(0, lines.length - 500);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
  };
  const ready = () =>
    pollUntil('redis-server to answer PING', async () => {
      if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`redis-server exited with ${child.exitCode}: ${lines.slice(-10).join('\n')}`);
      return ping(port);
    }, { timeoutMs: 15_000, intervalMs: 50 });
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((done) => running.once('exit', () => done()));
    running.kill('SIGKILL');
    await exited;
  };

  launch();
  await ready();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    logs: () => lines,
    async restart() {
      const started = performance.now();
      await kill();
      launch();
      await ready();
      return { downMs: performance.now() - started };
    },
    kill,
    async start() {
      launch();
      await ready();
    },
    async close() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One PING over a raw socket: true on +PONG (RESP), false otherwise. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
