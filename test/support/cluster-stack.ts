/**
 * An onair cluster on loopback: ingest nodes, transcoders and web nodes as child processes (the
 * same entry points `npm start` runs) sharing one Redis, each with its own port, data directory
 * and id (ONAIR_NODE_ID, ONAIR_TRANSCODER_ID). A process can be SIGKILLed, frozen (SIGSTOP) and
 * thawed, and started again on its port. Web nodes need the built web app (npm test builds it).
 *
 *   const redis = await startRedisServer();
 *   const cluster = await startClusterStack({ redisUrl: redis.url, nodes: ['a', 'b', 'c'] });
 *   cluster.node('a').url … await cluster.kill('b') … await cluster.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pollUntil } from './poll';
import { freePort } from './ports';

const root = resolve(import.meta.dirname, '../..');

export interface ClusterNodeHandle {
  id: string;
  kind: 'ingest' | 'transcoder' | 'web';
  url: string;
  port: number;
  dataDir: string;
}

export interface ClusterStack {
  adminToken: string;
  node(id: string): ClusterNodeHandle;
  adminFetch(id: string, path: string, init?: RequestInit): Promise<Response>;
  /** Creates a stream through one node's admin API. */
  createStream(id: string, name: string): Promise<{ id: string; name: string; streamKey: string }>;
  /** `GET /api/cluster` of a node. */
  describe(id: string): Promise<ClusterDescription>;
  logs(id: string): string[];
  pid(id: string): number | undefined;
  kill(id: string): Promise<void>;
  /** SIGSTOP: the process keeps its sockets and leases but does nothing (a long pause, a partition). */
  freeze(id: string): void;
  thaw(id: string): void;
  start(id: string): Promise<void>;
  close(): Promise<void>;
}

export interface ClusterDescription {
  node: { id: string; url: string };
  origin: Array<{ streamId: string; token: number | undefined; session: string }>;
  /** `renditions`: the stream's renditions pulled along (edge-renditions.ts). */
  pulls: Array<{ streamId: string; upstream: string; connected: boolean; renditions: string[] }>;
  pullStats: { started: number; moved: number; failed: number; idleClosed: number };
  edgesServed: Record<string, string[]>;
}

export interface ClusterStackOptions {
  redisUrl: string;
  /** Ingest node ids. */
  nodes: string[];
  /** Transcoder ids (ONAIR_TRANSCODER_ID). */
  transcoders?: string[];
  /** Web node ids (the site; ONAIR_INGEST_URL is the first ingest node, for the dashboard's admin calls). */
  webs?: string[];
  /** Extra environment per node id, or for all (`*`). */
  env?: Record<string, Record<string, string>>;
}

export async function startClusterStack(options: ClusterStackOptions): Promise<ClusterStack> {
  const adminToken = `cluster-admin-${Math.random().toString(36).slice(2)}-token`;
  const handles = new Map<string, ClusterNodeHandle>();
  if ((options.webs ?? []).length > 0 && !existsSync(join(root, 'apps/web/.next/BUILD_ID'))) {
    throw new Error('The web app is not built: run `npm run build -w @onair/web` (npm test does it).');
  }
  for (const [kind, ids] of [['ingest', options.nodes], ['transcoder', options.transcoders ?? []], ['web', options.webs ?? []]] as const) {
    for (const id of ids) {
      const port = await freePort();
      handles.set(id, { id, kind, port, url: `http://127.0.0.1:${port}`, dataDir: mkdtempSync(join(tmpdir(), `onair-${kind}-${id}-`)) });
    }
  }
  const output = new Map<string, string[]>();
  const children = new Map<string, ChildProcess>();

  const launch = (handle: ClusterNodeHandle) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ONAIR_REDIS_URL: options.redisUrl,
      ONAIR_ADMIN_TOKEN: adminToken,
      ONAIR_DATA_DIR: handle.dataDir,
      ONAIR_LOG_LEVEL: process.env.ONAIR_LOG_LEVEL ?? 'info',
      ...(handle.kind === 'ingest'
        ? { ONAIR_NODE_ID: handle.id, ONAIR_INGEST_HOST: '127.0.0.1', ONAIR_INGEST_PORT: String(handle.port), ONAIR_INGEST_PUBLIC_URL: handle.url, ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_WEBTRANSPORT_PORT: 'off' }
        : handle.kind === 'transcoder'
          ? { ONAIR_TRANSCODER_ID: handle.id, ONAIR_TRANSCODER_HOST: '127.0.0.1', ONAIR_TRANSCODER_PORT: String(handle.port) }
          : { ONAIR_WEB_HOST: '127.0.0.1', ONAIR_WEB_PORT: String(handle.port), ONAIR_WEB_PUBLIC_URL: handle.url, ONAIR_INGEST_URL: handles.get(options.nodes[0]!)!.url, NEXT_TELEMETRY_DISABLED: '1' }),
      ...options.env?.['*'],
      ...options.env?.[handle.id],
    };
    const entry = { ingest: 'apps/ingest/src/main.ts', transcoder: 'apps/transcoder/src/main.ts', web: 'server/main.ts' }[handle.kind];
    const cwd = handle.kind === 'web' ? join(root, 'apps/web') : root;
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--import', 'tsx', entry], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = output.get(handle.id) ?? [];
    output.set(handle.id, lines);
    const collect = (chunk: Buffer) => {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (lines.length > 3000) lines.splice(0, lines.length - 3000);
      if (process.env.ONAIR_TEST_LOGS) process.stderr.write(chunk);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    children.set(handle.id, child);
  };
  const waitHealthy = (handle: ClusterNodeHandle) =>
    pollUntil(`node ${handle.id} to be healthy`, async () => {
      const child = children.get(handle.id);
      if (child && child.exitCode !== null) throw new Error(`node ${handle.id} exited with ${child.exitCode}:\n${(output.get(handle.id) ?? []).slice(-20).join('\n')}`);
      const res = await fetch(handle.kind === 'web' ? handle.url : `${handle.url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      return res.ok;
    }, { timeoutMs: 60_000, intervalMs: 150 });
  const stop = async (id: string, signal: NodeJS.Signals) => {
    const child = children.get(id);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.kill('SIGCONT');
    child.kill(signal);
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(force);
  };
  const handle = (id: string) => {
    const found = handles.get(id);
    if (!found) throw new Error(`no node ${id} in this cluster`);
    return found;
  };

  for (const node of handles.values()) launch(node);
  const stack: ClusterStack = {
    adminToken,
    node: handle,
    adminFetch: (id, path, init = {}) =>
      fetch(`${handle(id).url}${path}`, { ...init, headers: { Authorization: `Bearer ${adminToken}`, ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...init.headers } }),
    async createStream(id, name) {
      const res = await stack.adminFetch(id, '/api/streams', { method: 'POST', body: JSON.stringify({ name }) });
      if (res.status !== 201) throw new Error(`creating stream ${name} on ${id}: HTTP ${res.status} ${await res.text()}`);
      return res.json();
    },
    async describe(id) {
      const res = await stack.adminFetch(id, '/api/cluster', { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`GET /api/cluster on ${id}: HTTP ${res.status}`);
      return res.json();
    },
    logs: (id) => output.get(id) ?? [],
    pid(id) {
      const child = children.get(id);
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    kill: (id) => stop(id, 'SIGKILL'),
    freeze: (id) => void children.get(id)?.kill('SIGSTOP'),
    thaw: (id) => void children.get(id)?.kill('SIGCONT'),
    async start(id) {
      launch(handle(id));
      await waitHealthy(handle(id));
    },
    async close() {
      await Promise.all([...children.keys()].map((id) => stop(id, 'SIGTERM')));
      for (const node of handles.values()) rmSync(node.dataDir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all([...handles.values()].map(waitHealthy));
  } catch (error) {
    await stack.close();
    throw error;
  }
  return stack;
}
