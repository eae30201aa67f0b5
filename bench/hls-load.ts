/**
 * HLS origin load (issue 13): how many concurrent LL-HLS clients one transcoder node holds, and
 * the same through a caching proxy (Debian's nginx, test/support/nginx-cache.ts: the e2e's
 * proxy_cache config) in front of it — with proxy_cache_lock (the e2e's: one request per URL goes
 * upstream, the others wait, polling every 500 ms) and without (every concurrent miss goes upstream).
 *
 *   npx tsx bench/hls-load.ts            full ramp (~4 min)     --quick (~1.5 min)
 *   --steps=500,1000,2000 clients per step; --window=5 --reps=2; --generators=2
 *
 * Processes: Redis, one ingest, one transcoder (test/support/cluster-stack.ts), a werift publisher
 * (320×180 H.264, in this process) — all on core 0 (taskset -a), with the transcoder's ffmpeg; the
 * load generators (bench/lib/hls-load-clients.ts: raw keep-alive HTTP/1.1 clients, each a real
 * LL-HLS client loop: a blocking reload with `_HLS_msn`/`_HLS_part`, then every part it newly
 * lists) on core 1, their CPU accounted apart. The transcoder's CPU is its Node process's own
 * (utime + stime; ffmpeg is a child and not in it).
 *
 * Per step (clients added at ≤ 1000/s, settled, then `reps` windows): requests/s, errors, parts per
 * client per second against the stream's part rate, the transcoder's CPU, the generators' CPU, and
 * the added delay: per blocking reload (`msn.part`), each client's answer time − the first client's
 * answer to the same reload, p50 / p95 over every answer in the windows. A step is held when no
 * request failed, every client keeps the stream's part rate (≥ 90 %), p95 added delay ≤ 50 ms, and
 * the transcoder used ≤ 1 core; it kept up when all but the delay hold. The ramp goes on while
 * clients keep up (the delay is a figure, not a stop), and stops at the first step they do not,
 * when the generators' core is saturated (then the figure is the generator's limit, and it says
 * so), or after its time budget.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startClusterStack, type ClusterStack } from '../test/support/cluster-stack';
import { startNginxCache, type NginxCache } from '../test/support/nginx-cache';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../test/support/peers/werift-h264-publisher';
import { pollUntil } from '../test/support/poll';
import { startRedisServer, type TestRedis } from '../test/support/redis-server';
import { CLK_TCK, coreTicks, cpuTicks, ipc } from './lib/proc-stats';
import { loadAverage, machineRecord } from './lib/stats';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const args = new Map(process.argv.slice(2).map((a) => { const s = a.replace(/^--/, ''); const i = s.indexOf('='); return (i < 0 ? [s, 'true'] : [s.slice(0, i), s.slice(i + 1)]) as [string, string]; }));
const quick = args.has('quick');
const steps = (args.get('steps') ?? (quick ? '100,500' : '100,250,500,1000,2000,4000,7000,10000')).split(',').map(Number);
const windowS = Number(args.get('window') ?? (quick ? 4 : 4));
/** A ramp ends after this long whatever its plan (ms). */
const RAMP_BUDGET_MS = quick ? 60_000 : 150_000;
const reps = Number(args.get('reps') ?? (quick ? 1 : 2));
const generatorCount = Number(args.get('generators') ?? 2);
/** `--profile=DIR`: the transcoder runs under `node --cpu-prof` and writes its profile there on exit (origin ramp only). */
const profileDir = args.get('profile');
const DELAY_GOAL_MS = 50;
const CLIENTS_GOAL = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];
const pin = (pid: number, core: number) => new Promise<void>((resolve) => {
  spawn('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' }).once('exit', () => resolve());
});
const childPids = (pid: number) => new Promise<number[]>((resolve) => {
  const c = spawn('pgrep', ['-P', String(pid)]);
  let o = '';
  c.stdout.on('data', (d) => (o += d));
  c.on('exit', () => resolve(o.split('\n').filter(Boolean).map(Number)));
});

interface Taken { reloads: Array<{ key: string; min: number; hist: Array<[number, number]> }>; playlists: number; parts: number; bytes: number; errors: number; gaps: number; messages: string[]; cpuMicros: number; clients: number }
interface Step {
  clients: number; requestsPerS: number; partsPerClientPerS: number; errors: number; gaps: number;
  addedDelayMs: { n: number; p50: number; p95: number; max: number };
  originCpuPct: number; proxyCpuPct: number | null; originRequestsPerS: number | null; generatorCpuPct: number; core0BusyPct: number; core1BusyPct: number;
  /** Every client kept the stream's part rate with no failed request, within ≤ 1 core (delay aside). */
  keptUp: boolean;
  held: boolean; why: string[]; load1: number;
}

/** Percentiles of a histogram of whole milliseconds. */
function histQuantiles(hist: Map<number, number>) {
  const entries = [...hist].sort((a, b) => a[0] - b[0]);
  const n = entries.reduce((a, [, c]) => a + c, 0);
  const at = (q: number) => { let seen = 0; for (const [ms, c] of entries) { seen += c; if (seen >= q * n) return ms; } return Number.NaN; };
  return { n, p50: at(0.5), p95: at(0.95), max: entries.at(-1)?.[0] ?? Number.NaN };
}

/** Lines nginx logged since the last call, and how many went to the origin. */
function logReader(path: string) {
  let offset = 0;
  return () => {
    let size = 0;
    try { size = statSync(path).size; } catch { return { lines: 0, upstream: 0 }; }
    if (size <= offset) return { lines: 0, upstream: 0 };
    const fd = openSync(path, 'r');
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    closeSync(fd);
    const end = buf.lastIndexOf(10) + 1;
    offset += end;
    let lines = 0, upstream = 0;
    for (const line of buf.subarray(0, end).toString('latin1').split('\n')) {
      if (!line) continue;
      lines += 1;
      if (line.split('\t')[1] !== '-') upstream += 1;
    }
    return { lines, upstream };
  };
}

let redis: TestRedis | undefined;
let cluster: ClusterStack | undefined;
let publisher: WeriftH264Publisher | undefined;
let cache: NginxCache | undefined;

async function ramp(label: string, url: string, partRate: number, originPid: number, proxy?: { pids: () => Promise<number[]>; log: () => { lines: number; upstream: number } }): Promise<{ steps: Step[]; held: number; keptUp: number; stop: string }> {
  const generators = Array.from({ length: generatorCount }, () => {
    const child = spawn('taskset', ['-c', '1', NODE, '--import', 'tsx', 'bench/lib/hls-load-clients.ts'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    return child;
  });
  await Promise.all(generators.map((g) => new Promise<void>((resolve) => g.once('message', () => resolve()))));
  const take = () => Promise.all(generators.map((g) => ipc<Taken>(g, { cmd: 'take' }, 'taken')));
  const results: Step[] = [];
  let current = 0;
  let stop = 'end of the plan';
  const began = performance.now();
  try {
    for (const target of steps) {
      if (performance.now() - began > RAMP_BUDGET_MS) { stop = `the ramp's time budget (${RAMP_BUDGET_MS / 1000} s)`; break; }
      const more = target - current;
      await Promise.all(generators.map((g, i) => ipc(g, { cmd: 'add', url, count: Math.floor(more / generatorCount) + (i < more % generatorCount ? 1 : 0), perSecond: 1000 / generatorCount }, 'added')));
      current = target;
      await sleep(3000);
      await take();
      proxy?.log();
      const proxyPids = proxy ? await proxy.pids() : [];
      const cpuOf = (pids: number[]) => pids.reduce((a, p) => { try { return a + cpuTicks(p); } catch { return a; } }, 0);
      const t0 = performance.now(), o0 = cpuTicks(originPid), x0 = cpuOf(proxyPids), k0 = coreTicks(0), q0 = coreTicks(1);
      const g0 = await take();
      await sleep(windowS * reps * 1000);
      const t1 = performance.now(), o1 = cpuTicks(originPid), x1 = cpuOf(proxyPids), k1 = coreTicks(0), q1 = coreTicks(1);
      const g1 = await take();
      const origin = proxy?.log();
      const s = (t1 - t0) / 1000;
      const sum = (xs: Taken[], f: (t: Taken) => number) => xs.reduce((a, t) => a + f(t), 0);
      // Merge the generators' answer times per reload: the reference is the earliest of any.
      const byKey = new Map<string, Array<{ min: number; hist: Array<[number, number]> }>>();
      for (const t of g1) for (const r of t.reloads) (byKey.get(r.key) ?? byKey.set(r.key, []).get(r.key)!).push(r);
      const hist = new Map<number, number>();
      for (const list of byKey.values()) {
        const min = Math.min(...list.map((r) => r.min));
        for (const r of list) for (const [ms, n] of r.hist) { const d = Math.floor(r.min - min) + ms; hist.set(d, (hist.get(d) ?? 0) + n); }
      }
      const delay = histQuantiles(hist);
      const requests = sum(g1, (t) => t.playlists + t.parts) - sum(g0, (t) => t.playlists + t.parts);
      const parts = sum(g1, (t) => t.parts) - sum(g0, (t) => t.parts);
      const errors = sum(g1, (t) => t.errors) - sum(g0, (t) => t.errors);
      const step: Step = {
        clients: target, requestsPerS: requests / s, partsPerClientPerS: parts / s / target, errors, gaps: sum(g1, (t) => t.gaps) - sum(g0, (t) => t.gaps),
        addedDelayMs: delay,
        originCpuPct: ((o1 - o0) / CLK_TCK / s) * 100,
        proxyCpuPct: proxy ? ((x1 - x0) / CLK_TCK / s) * 100 : null,
        originRequestsPerS: origin ? origin.upstream / s : null,
        generatorCpuPct: ((sum(g1, (t) => t.cpuMicros) - sum(g0, (t) => t.cpuMicros)) / 1e6 / s) * 100,
        core0BusyPct: ((k1.busy - k0.busy) / Math.max(1, k1.total - k0.total)) * 100,
        core1BusyPct: ((q1.busy - q0.busy) / Math.max(1, q1.total - q0.total)) * 100,
        keptUp: false, held: false, why: [], load1: loadAverage()[0]!,
      };
      if (errors > 0) step.why.push(`${errors} failed requests (${[...g0, ...g1].flatMap((t) => t.messages).slice(0, 2).join('; ')})`);
      if (step.partsPerClientPerS < 0.9 * partRate) step.why.push(`clients got ${step.partsPerClientPerS.toFixed(2)} parts/s of the stream's ${partRate.toFixed(2)}`);
      if (step.originCpuPct > 100) step.why.push(`the origin used ${step.originCpuPct.toFixed(0)} % of a core`);
      step.keptUp = step.why.length === 0;
      if (!(delay.p95 <= DELAY_GOAL_MS)) step.why.push(`p95 added delay ${delay.p95} ms > ${DELAY_GOAL_MS} ms`);
      step.held = step.why.length === 0;
      results.push(step);
      console.log(`${label} ${String(target).padStart(5)} clients  ${step.requestsPerS.toFixed(0).padStart(6)} req/s  parts ${step.partsPerClientPerS.toFixed(2)}/s per client  added delay p50 ${delay.p50} p95 ${delay.p95} max ${delay.max} ms (${delay.n} answers)  errors ${errors}  gaps ${step.gaps}  ` +
        `transcoder CPU ${step.originCpuPct.toFixed(0)} %${proxy ? `  nginx CPU ${step.proxyCpuPct!.toFixed(0)} %  to origin ${step.originRequestsPerS!.toFixed(0)} req/s` : ''}  generators ${step.generatorCpuPct.toFixed(0)} %  core0 ${step.core0BusyPct.toFixed(0)} % core1 ${step.core1BusyPct.toFixed(0)} %  load ${step.load1.toFixed(1)}` +
        (step.held ? '' : `\n  not held: ${step.why.join('; ')}`));
      // The delay goal alone does not end the ramp: how many clients keep up is a figure too.
      if (!step.keptUp) {
        stop = step.why.join('; ') + (step.core1BusyPct > 90 ? ` (the generators' core 1 was ${step.core1BusyPct.toFixed(0)} % busy: this is as much the generator's limit as the server's)` : '');
        break;
      }
      // Core 1 may be busy with other work (a shared machine): only the generators' own CPU ends the ramp.
      if (step.generatorCpuPct > 85) { stop = `the generators use ${step.generatorCpuPct.toFixed(0)} % of their core: more clients would measure the generator`; break; }
    }
  } finally {
    for (const g of generators) { g.send({ cmd: 'close' }); }
    await Promise.all(generators.map((g) => Promise.race([new Promise((r) => g.once('exit', r)), sleep(3000)])));
  }
  const held = [...results].reverse().find((s) => s.held)?.clients ?? 0;
  const keptUp = [...results].reverse().find((s) => s.keptUp)?.clients ?? 0;
  console.log(`${label}: held ${held} clients (all goals), kept up ${keptUp} (delay aside) (stop: ${stop})`);
  return { steps: results, held, keptUp, stop };
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  await pin(process.pid, 0);
  redis = await startRedisServer();
  cluster = await startClusterStack({ redisUrl: redis.url, nodes: ['a'], transcoders: ['t1'], env: { '*': { ONAIR_LOG_LEVEL: 'warn' }, ...(profileDir ? { t1: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } } : {}) } });
  for (const id of ['a', 't1']) await pin(cluster.pid(id)!, 0);
  const stream = await cluster.createStream('a', 'load');
  publisher = await startWeriftH264Publisher({ whipUrl: `${cluster.node('a').url}/whip`, streamKey: stream.streamKey, width: 320, height: 180 });
  await publisher.connected;
  const origin = cluster.node('t1').url;
  const variant = await pollUntil('the transcoder to serve a media playlist', async () => {
    const master = await fetch(`${origin}/hls/load/index.m3u8`, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
    if (!master?.ok) return undefined;
    const v = (await master.text()).split('\n').find((l) => l.endsWith('/index.m3u8'));
    const media = v && (await fetch(`${origin}/hls/load/${v}`).then((r) => r.text()).catch(() => ''));
    return media && media.includes('#EXTINF') ? { path: `/hls/load/${v}`, media } : undefined;
  }, { timeoutMs: 60_000, intervalMs: 200 });
  const partTarget = Number(/PART-TARGET=([\d.]+)/.exec(variant.media)?.[1] ?? 0.2);
  const partRate = 1 / partTarget;
  const transcoderPid = cluster.pid('t1')!;
  for (const pid of await childPids(transcoderPid)) await pin(pid, 0);
  console.log(`stream: ${variant.path}, part target ${partTarget} s (${partRate.toFixed(1)} parts/s); transcoder, ingest, ffmpeg, Redis, publisher on core 0, load generators (${generatorCount}) on core 1`);

  const direct = await ramp('origin', `${origin}${variant.path}`, partRate, transcoderPid);
  if (profileDir) return;
  cache = await startNginxCache({ upstream: origin, workerConnections: Math.max(...steps) + 1024 });
  const nginxPids = async () => [cache!.pid, ...(await childPids(cache!.pid))];
  for (const pid of await nginxPids()) await pin(pid, 0);
  const viaCache = await ramp('cache', `${cache.url}${variant.path}`, partRate, transcoderPid, { pids: nginxPids, log: logReader(join(cache.dir, 'access.log')) });

  await cache.close();
  // nginx's cache lock makes waiters poll every 500 ms (ngx_http_file_cache.c): the same ramp with
  // the lock off, where every concurrent miss (each blocking reload) goes to the origin instead.
  cache = await startNginxCache({ upstream: origin, workerConnections: Math.max(...steps) + 1024, cacheLock: false });
  for (const pid of await nginxPids()) await pin(pid, 0);
  const viaCacheNoLock = await ramp('cache (lock off)', `${cache.url}${variant.path}`, partRate, transcoderPid, { pids: nginxPids, log: logReader(join(cache.dir, 'access.log')) });

  const topCache = viaCache.steps.at(-1);
  const topNoLock = viaCacheNoLock.steps.at(-1);
  const derived = {
    originHeldClients: direct.held, originKeptUpClients: direct.keptUp, originStop: direct.stop,
    cacheKeptUpClients: viaCache.keptUp, cacheNoLockKeptUpClients: viaCacheNoLock.keptUp,
    /** The transcoder's CPU per request at the highest step it kept up with, µs. */
    originUsPerRequest: (() => { const s = direct.steps.filter((x) => x.keptUp).at(-1); return s ? (s.originCpuPct / 100 / s.requestsPerS) * 1e6 : null; })(),
    cacheHeldClients: viaCache.held, cacheStop: viaCache.stop,
    clientsGoal: CLIENTS_GOAL, addedDelayGoalMs: DELAY_GOAL_MS, partTargetSec: partTarget,
    requestsPerClientPerS: direct.steps[0] ? direct.steps[0].requestsPerS / direct.steps[0].clients : null,
    originCpuPctPerThousandClients: (() => { const top = direct.steps.filter((s) => s.keptUp).at(-1); return top ? (top.originCpuPct / top.clients) * 1000 : null; })(),
    /** Through the cache, at its highest step: the share of client requests that reached the origin. */
    cacheOriginShare: topCache?.originRequestsPerS != null ? topCache.originRequestsPerS / topCache.requestsPerS : null,
    cacheOriginRequestsPerS: topCache?.originRequestsPerS ?? null,
    cacheNoLockHeldClients: viaCacheNoLock.held, cacheNoLockStop: viaCacheNoLock.stop,
    cacheNoLockOriginShare: topNoLock?.originRequestsPerS != null ? topNoLock.originRequestsPerS / topNoLock.requestsPerS : null,
  };
  console.log(`\norigin: held ${direct.held} clients (goal ≥ ${CLIENTS_GOAL} with ≤ 1 core, p95 added delay ≤ ${DELAY_GOAL_MS} ms); through nginx: held ${viaCache.held}, the origin saw ${derived.cacheOriginShare === null ? '-' : (derived.cacheOriginShare * 100).toFixed(2)} % of the requests; lock off: held ${viaCacheNoLock.held}, the origin saw ${derived.cacheNoLockOriginShare === null ? '-' : (derived.cacheNoLockOriginShare * 100).toFixed(1)} %`);
  const result = { date: new Date().toISOString(), quick, config: { steps, windowSeconds: windowS, reps, generators: generatorCount, source: '320×180 H.264 (werift)', pinning: 'core 0: transcoder, ffmpeg, ingest, Redis, publisher, nginx; core 1: load generators' }, machine: { ...machineRecord(), loadBefore, loadAfter: loadAverage() }, origin: direct, cache: viaCache, cacheNoLock: viaCacheNoLock, derived };
  const file = join(ROOT, 'bench/results/hls-load.json');
  await mkdir(dirname(file), { recursive: true });
  // The latest run's fields at the top (what the summary reads), earlier runs kept beside it: on a
  // shared machine one run's figure is read against the others'.
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { runs?: unknown[] }) : {};
  const { runs: _drop, ...latest } = result as typeof result & { runs?: unknown };
  await writeFile(file, `${JSON.stringify({ ...latest, runs: [...(previous.runs ?? []), latest].slice(-8) }, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

try {
  await main();
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } }
  await cache?.close();
  await publisher?.stop({ delete: true }).catch(() => undefined);
  await cluster?.close();
  await redis?.close();
}
