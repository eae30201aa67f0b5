/**
 * Starts the real onair services as child processes — the same entry points `npm start` runs —
 * on free loopback ports with a temporary data directory, for end-to-end tests and benchmarks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './ports';
import { pollUntil } from './poll';

const root = resolve(import.meta.dirname, '../..');

export interface StackOptions {
  web?: boolean;
  transcoder?: boolean;
  /**
   * The address the ingest listens on (default 127.0.0.1): one the test created, e.g. the host end
   * of a veth pair (shaped-link.ts), for viewers in network namespaces. The others reach it there.
   */
  ingestHost?: string;
  /** The address the web app listens on (default 127.0.0.1), e.g. the same veth end, for a browser in a namespace to open /watch. */
  webHost?: string;
  /** Extra environment for every service (e.g. shorter timeouts). */
  env?: Record<string, string>;
}

export interface Stack {
  ingestUrl: string;
  webUrl: string;
  transcoderUrl: string;
  adminToken: string;
  dataDir: string;
  /** Creates a stream through the admin API. */
  createStream(name: string): Promise<{ id: string; name: string; streamKey: string; whipUrl: string; whepUrl: string }>;
  adminFetch(path: string, init?: RequestInit): Promise<Response>;
  /** Lines the services printed (for diagnosing a failure). */
  logs(service: string): string[];
  /** Process id of a running service (its /proc entry), or undefined when it is down. */
  pid(service: 'ingest' | 'transcoder' | 'web'): number | undefined;
  /** Kills one service (SIGKILL) and starts it again on the same port. */
  restart(service: 'ingest' | 'transcoder' | 'web'): Promise<void>;
  /** Kills one service (SIGKILL) and leaves it down; resolves once it has exited. */
  kill(service: 'ingest' | 'transcoder' | 'web'): Promise<void>;
  /** Starts a killed service again on its port; resolves once it is healthy. */
  start(service: 'ingest' | 'transcoder' | 'web'): Promise<void>;
  close(): Promise<void>;
}

interface Running {
  spec: { name: string; args: string[]; cwd: string; health: string };
  child: ChildProcess;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'onair-stack-'));
  const adminToken = `test-admin-${Math.random().toString(36).slice(2)}-token`;
  const [ingestPort, transcoderPort, webPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const ingestHost = options.ingestHost ?? '127.0.0.1';
  const ingestUrl = `http://${ingestHost}:${ingestPort}`;
  const transcoderUrl = `http://127.0.0.1:${transcoderPort}`;
  const webHost = options.webHost ?? '127.0.0.1';
  const webUrl = `http://${webHost}:${webPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ONAIR_DATA_DIR: dataDir,
    ONAIR_ADMIN_TOKEN: adminToken,
    ONAIR_INGEST_HOST: ingestHost,
    ONAIR_INGEST_PORT: String(ingestPort),
    ONAIR_INGEST_URL: ingestUrl,
    ONAIR_ICE_HOSTS: ingestHost,
    // The WebTransport ingest on a UDP port of the OS's choice (GET /api/webtransport says which).
    ONAIR_WEBTRANSPORT_PORT: '0',
    ONAIR_TRANSCODER_HOST: '127.0.0.1',
    ONAIR_TRANSCODER_PORT: String(transcoderPort),
    ONAIR_TRANSCODER_URL: transcoderUrl,
    ONAIR_WEB_HOST: webHost,
    ONAIR_WEB_PORT: String(webPort),
    ONAIR_WEB_PUBLIC_URL: webUrl,
    ONAIR_LOG_LEVEL: process.env.ONAIR_LOG_LEVEL ?? 'info',
    NEXT_TELEMETRY_DISABLED: '1',
    ...options.env,
  };
  const tsx = (entry: string) => [process.execPath, '--disable-warning=ExperimentalWarning', '--import', 'tsx', entry];
  const specs = [
    { name: 'ingest', args: tsx('apps/ingest/src/main.ts'), cwd: root, health: `${ingestUrl}/healthz` },
    ...(options.transcoder ? [{ name: 'transcoder', args: tsx('apps/transcoder/src/main.ts'), cwd: root, health: `${transcoderUrl}/healthz` }] : []),
    ...(options.web
      ? [{ name: 'web', args: tsx('server/main.ts'), cwd: join(root, 'apps/web'), health: webUrl }]
      : []),
  ];
  if (options.web && !existsSync(join(root, 'apps/web/.next/BUILD_ID'))) {
    throw new Error('The web app is not built: run `npm run build -w @onair/web` (npm test does it).');
  }

  const output = new Map<string, string[]>();
  const running = new Map<string, Running>();
  const launch = (spec: Running['spec']) => {
    const child = spawn(spec.args[0]!, spec.args.slice(1), { cwd: spec.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = output.get(spec.name) ?? [];
    output.set(spec.name, lines);
    const collect = (chunk: Buffer) => {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (lines.length > 2000) lines.splice(0, lines.length - 2000);
      if (process.env.ONAIR_TEST_LOGS) process.stderr.write(chunk);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    running.set(spec.name, { spec, child });
    return child;
  };
  const waitHealthy = (spec: Running['spec']) =>
    pollUntil(`${spec.name} to be healthy`, async () => {
      const child = running.get(spec.name)?.child;
      if (child?.exitCode !== null && child?.exitCode !== undefined) {
        throw new Error(`${spec.name} exited with ${child.exitCode}:\n${(output.get(spec.name) ?? []).slice(-20).join('\n')}`);
      }
      const res = await fetch(spec.health, { signal: AbortSignal.timeout(2_000) });
      return res.ok;
    }, { timeoutMs: 60_000, intervalMs: 150 });

  const stop = async (name: string, signal: NodeJS.Signals) => {
    const entry = running.get(name);
    if (!entry || entry.child.exitCode !== null || entry.child.signalCode !== null) return;
    const exited = new Promise<void>((done) => entry.child.once('exit', () => done()));
    entry.child.kill(signal);
    const force = setTimeout(() => entry.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(force);
  };

  for (const spec of specs) launch(spec);
  const stack: Stack = {
    ingestUrl,
    webUrl,
    transcoderUrl,
    adminToken,
    dataDir,
    adminFetch: (path, init = {}) =>
      fetch(`${ingestUrl}${path}`, { ...init, headers: { Authorization: `Bearer ${adminToken}`, ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...init.headers } }),
    async createStream(name) {
      const res = await stack.adminFetch('/api/streams', { method: 'POST', body: JSON.stringify({ name }) });
      if (res.status !== 201) throw new Error(`creating stream ${name}: HTTP ${res.status} ${await res.text()}`);
      return res.json();
    },
    logs: (service) => output.get(service) ?? [],
    pid(service) {
      const child = running.get(service)?.child;
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async restart(service) {
      const entry = running.get(service);
      if (!entry) throw new Error(`${service} is not part of this stack`);
      await stop(service, 'SIGKILL');
      launch(entry.spec);
      await waitHealthy(entry.spec);
    },
    async kill(service) {
      if (!running.has(service)) throw new Error(`${service} is not part of this stack`);
      await stop(service, 'SIGKILL');
    },
    async start(service) {
      const entry = running.get(service);
      if (!entry) throw new Error(`${service} is not part of this stack`);
      if (entry.child.exitCode === null && entry.child.signalCode === null) throw new Error(`${service} is running`);
      launch(entry.spec);
      await waitHealthy(entry.spec);
    },
    async close() {
      await Promise.all([...running.keys()].map((name) => stop(name, 'SIGTERM')));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(specs.map(waitHealthy));
  } catch (error) {
    await stack.close();
    throw error;
  }
  return stack;
}
