/**
 * Edge fan-out (issue 13): WHEP viewers spread over two edge ingests that pull the stream from one
 * origin, against viewers on the origin itself, in the same run; the origin's cost per edge; the
 * latency an edge hop adds.
 *
 *   npx tsx bench/edge.ts            full (~3 min)      npx tsx bench/edge.ts --quick   (~1.5 min)
 *   --steps=0,40,80,120 viewers per configuration (above ~150 on one core, shared with the load's
 *   neighbours, the origin starved and the stream dropped: the ramp stays below); --window=3 --reps=3
 *
 * Processes, on a 2-core machine: Redis and three ingest nodes of one cluster (origin `a`, edges
 * `b` and `c`, test/support/cluster-stack.ts); the three ingests pinned to core 0 (taskset -a, every
 * thread), Redis, the publisher (bench/lib/fanout-publisher.ts: the fan-out bench's 720p30 ~2.5 Mbps
 * clip over WHIP to `a`), the load generator (bench/lib/fanout-viewers.ts: the fan-out bench's
 * werift viewers that count SRTP packets without decrypting) and the hop probe
 * (bench/lib/edge-hop-probe.ts) pinned to core 1. Each ingest's CPU is its own utime + stime
 * (bench/lib/proc-stats.ts), so three processes sharing core 0 are still told apart; the ramp is
 * bounded so core 0 stays below saturation (its busy share is printed per step).
 *
 * Plan: (S0) publisher only: the origin's baseline. (S1) the probe joins — one viewer on `a`, one
 * on `b`, one on `c` — so each edge pulls the stream once: origin cost per edge = (a(S1) − a(S0) −
 * one viewer's cost) / 2. (A) the load generator's viewers on `a` at each step: single-node cost
 * per viewer (slope) → viewers per core = (1 core − S0) / slope, as bench/fanout.ts reports it.
 * Those viewers leave (WHEP DELETE). (B) the same counts spread half on `b`, half on `c`: an
 * edge's cost per viewer (slope) and its baseline (intercept: the pull, decrypted once, and the
 * probe's viewer) → an edge's viewers per core = (1 core − intercept) / slope; goal ≥ 90 % of
 * single-node. The origin's CPU across (B) must stay flat (slope ≈ 0): edges cost it one pull each
 * whatever their audience.
 *
 * Hop latency: the probe's packets matched by payload at the origin's viewer and the edges'
 * viewers (both in one process, one clock), p50 / p95 per step; goal ≤ 5 ms p50.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startClusterStack, type ClusterStack } from '../test/support/cluster-stack';
import { pollUntil } from '../test/support/poll';
import { startRedisServer, type TestRedis } from '../test/support/redis-server';
import { CLK_TCK, coreTicks, cpuTicks, firstLine, ingestMetrics, ipc, leastSquares, median } from './lib/proc-stats';
import { distribution, loadAverage, machineRecord, packageVersion } from './lib/stats';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const args = new Map(process.argv.slice(2).map((a) => { const s = a.replace(/^--/, ''); const i = s.indexOf('='); return (i < 0 ? [s, 'true'] : [s.slice(0, i), s.slice(i + 1)]) as [string, string]; }));
const quick = args.has('quick');
const steps = (args.get('steps') ?? (quick ? '0,40,80' : '0,40,80,120')).split(',').map(Number);
const windowS = Number(args.get('window') ?? (quick ? 2 : 3));
const reps = Number(args.get('reps') ?? (quick ? 2 : 3));
const HOP_GOAL_MS = 5;
const RATIO_GOAL = 0.9;
const NODES = ['a', 'b', 'c'] as const;

const children: ChildProcess[] = [];
const spawnPinned = (core: number, script: string, argv: string[], stdio: 'ipc' | 'pipe') =>
  children[children.push(spawn('taskset', ['-c', String(core), NODE, '--import', 'tsx', script, ...argv], { cwd: ROOT, stdio: stdio === 'ipc' ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'] })) - 1]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pin = (pid: number, core: number) => new Promise<void>((resolve, reject) => {
  spawn('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' }).once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`taskset -p ${pid}: ${code}`))));
});

interface ViewerStats { received: number; expected: number; cpuMicros: number }
/** One measured step: CPU % of one core per ingest, packets out per second per ingest, the load generator's loss, the hop delays. */
interface Step { phase: 'S0' | 'S1' | 'A' | 'B'; viewers: number; cpuPct: Record<string, number>; pktsOutPerS: Record<string, number>; pktsInPerS: number; lossPct: number; loadgenCpuPct: number; core0BusyPct: number; core1BusyPct: number; hopMs: ReturnType<typeof distribution> | null; load1: number }

let redis: TestRedis | undefined;
let cluster: ClusterStack | undefined;

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  redis = await startRedisServer();
  cluster = await startClusterStack({
    redisUrl: redis.url,
    nodes: [...NODES],
    // Every viewer of the ramp comes from one process: the per-client session caps would stop it (as in bench/fanout.ts).
    env: { '*': { ONAIR_LOG_LEVEL: 'warn', ONAIR_MAX_PENDING_PER_CLIENT: '2000', ONAIR_MAX_PENDING: '2000', ONAIR_MAX_SESSION_POSTS_PER_CLIENT: '100000' } },
  });
  const pids = Object.fromEntries(NODES.map((id) => [id, cluster!.pid(id)!]));
  for (const id of NODES) await pin(pids[id]!, 0);
  const redisPid = (await new Promise<string>((resolve) => { const c = spawn('pgrep', ['-f', `redis-server 127.0.0.1:${redis!.port}`]); let o = ''; c.stdout.on('data', (d) => (o += d)); c.on('exit', () => resolve(o.trim())); })).split('\n')[0];
  if (redisPid) await pin(Number(redisPid), 1);
  const url = (id: string) => cluster!.node(id).url;
  const stream = await cluster.createStream('a', 'edge');
  const publisher = spawnPinned(1, 'bench/lib/fanout-publisher.ts', [`${url('a')}/whip`, stream.streamKey, '2500'], 'pipe');
  const pubInfo = (await firstLine(publisher)) as { packetsPerSecond: number; kbps: number };
  console.log(`publisher: ${pubInfo.kbps.toFixed(0)} kbps, ${pubInfo.packetsPerSecond.toFixed(0)} packets/s (720p30 H.264 clip) → origin a; ingests a, b, c on core 0, everything else on core 1`);
  const viewers = spawnPinned(1, 'bench/lib/fanout-viewers.ts', [], 'ipc');
  const probe = spawnPinned(1, 'bench/lib/edge-hop-probe.ts', [], 'ipc');
  await Promise.all([viewers, probe].map((c) => new Promise<void>((resolve) => c.once('message', () => resolve()))));
  await pollUntil('stream live on a', async () => ((await ingestMetrics(url('a'))).onair_ingest_live_streams ?? 0) >= 1, { timeoutMs: 15_000 });
  // The publisher's first seconds (JIT warm-up, the first keyframes) are not the origin's baseline.
  await sleep(6000);

  const results: Step[] = [];
  let probing = false;
  const measure = async (phase: Step['phase'], count: number, windowsHere = reps): Promise<Step> => {
    await sleep(2000); // keyframe wait (GOP 1 s), the DTLS/ICE tail settle
    if (probing) await ipc(probe, { cmd: 'take' }, 'taken');
    const snap = async () => ({ t: performance.now(), cpu: Object.fromEntries(NODES.map((id) => [id, cpuTicks(pids[id]!)])), k0: coreTicks(0), k1: coreTicks(1), m: Object.fromEntries(await Promise.all(NODES.map(async (id) => [id, await ingestMetrics(url(id))] as const))), v: await ipc<ViewerStats>(viewers, { cmd: 'stats' }, 'stats') });
    const windows: Array<Omit<Step, 'phase' | 'viewers' | 'hopMs' | 'load1'>> = [];
    const hop: number[] = [];
    let s0 = await snap();
    for (let r = 0; r < windowsHere; r++) {
      await sleep(windowS * 1000);
      const s1 = await snap();
      if (probing) hop.push(...(await ipc<{ delaysMs: number[] }>(probe, { cmd: 'take' }, 'taken')).delaysMs);
      const s = (s1.t - s0.t) / 1000;
      const d = (id: string, k: string) => (s1.m[id]![k] ?? 0) - (s0.m[id]![k] ?? 0);
      const expected = s1.v.expected - s0.v.expected;
      windows.push({
        cpuPct: Object.fromEntries(NODES.map((id) => [id, ((s1.cpu[id]! - s0.cpu[id]!) / CLK_TCK / s) * 100])),
        pktsOutPerS: Object.fromEntries(NODES.map((id) => [id, d(id, 'onair_ingest_packets_sent_total') / s])),
        pktsInPerS: d('a', 'onair_ingest_packets_received_total') / s,
        lossPct: expected > 0 ? Math.max(0, (1 - (s1.v.received - s0.v.received) / expected) * 100) : 0,
        loadgenCpuPct: ((s1.v.cpuMicros - s0.v.cpuMicros) / 1e6 / s) * 100,
        core0BusyPct: ((s1.k0.busy - s0.k0.busy) / Math.max(1, s1.k0.total - s0.k0.total)) * 100,
        core1BusyPct: ((s1.k1.busy - s0.k1.busy) / Math.max(1, s1.k1.total - s0.k1.total)) * 100,
      });
      s0 = s1;
    }
    const med = (f: (w: (typeof windows)[number]) => number) => median(windows.map(f));
    const step: Step = {
      phase, viewers: count,
      cpuPct: Object.fromEntries(NODES.map((id) => [id, med((w) => w.cpuPct[id]!)])),
      pktsOutPerS: Object.fromEntries(NODES.map((id) => [id, med((w) => w.pktsOutPerS[id]!)])),
      pktsInPerS: med((w) => w.pktsInPerS), lossPct: med((w) => w.lossPct), loadgenCpuPct: med((w) => w.loadgenCpuPct),
      core0BusyPct: med((w) => w.core0BusyPct), core1BusyPct: med((w) => w.core1BusyPct),
      hopMs: hop.length ? distribution(hop, 2) : null, load1: loadAverage()[0]!,
    };
    results.push(step);
    console.log(`${phase} N=${String(count).padStart(3)}  CPU a ${step.cpuPct.a!.toFixed(1)} % b ${step.cpuPct.b!.toFixed(1)} % c ${step.cpuPct.c!.toFixed(1)} %  out a ${step.pktsOutPerS.a!.toFixed(0)} b ${step.pktsOutPerS.b!.toFixed(0)} c ${step.pktsOutPerS.c!.toFixed(0)} pkt/s  in ${step.pktsInPerS.toFixed(0)} pkt/s  loss ${step.lossPct.toFixed(2)} %  loadgen ${step.loadgenCpuPct.toFixed(0)} %  core0 ${step.core0BusyPct.toFixed(0)} % core1 ${step.core1BusyPct.toFixed(0)} %` +
      (step.hopMs ? `  hop p50 ${step.hopMs.p50} ms p95 ${step.hopMs.p95} ms (${step.hopMs.n} packets)` : '') + `  load ${step.load1.toFixed(1)}`);
    return step;
  };
  const add = async (whepUrl: string, count: number) => {
    if (count <= 0) return;
    const added = await ipc<{ failed: number; errors: string[] }>(viewers, { cmd: 'add', whepUrl, count, concurrency: 10 }, 'added');
    if (added.failed) console.log(`  ${added.failed} viewers failed to connect: ${added.errors.join('; ')}`);
  };

  // S0 and S1 differ by a few % of a core: twice the windows.
  const s0 = await measure('S0', 0, 2 * reps);
  const started = await ipc<{ error?: string }>(probe, { cmd: 'start', originWhepUrl: `${url('a')}/whep/edge`, edgeWhepUrls: [`${url('b')}/whep/edge`, `${url('c')}/whep/edge`] }, 'started');
  if (started.error) throw new Error(`hop probe: ${started.error}`);
  probing = true;
  const s1 = await measure('S1', 0, 2 * reps);
  const pulls = (await Promise.all(['b', 'c'].map((id) => cluster!.describe(id)))).map((d) => d.pulls.filter((p) => p.connected).length);
  if (pulls.some((n) => n !== 1)) throw new Error(`expected one connected pull per edge, got ${pulls.join(', ')}`);
  const originViewersAtS1 = (await ingestMetrics(url('a'))).onair_ingest_viewers;

  // A step is clean when no viewer lost ≥ 2 % and the origin got the publisher's whole stream (a
  // starved origin on a shared machine measures the neighbours); the ramp ends at the first that
  // is not, and the edges get the same counts the origin had.
  const inRate = s0.pktsInPerS;
  const isClean = (s: Step) => s.lossPct < 2 && Math.abs(s.pktsInPerS - inRate) < 0.05 * inRate;
  let current = 0;
  const single: Step[] = [];
  for (const n of steps) {
    await add(`${url('a')}/whep/edge`, n - current);
    current = n;
    const step = await measure('A', n);
    single.push(step);
    if (step.pktsInPerS < 0.5 * inRate) throw new Error(`the stream went offline at ${n} viewers (the origin got ${step.pktsInPerS.toFixed(0)} of ${inRate.toFixed(0)} packets/s): the machine starved it`);
    if (!isClean(step)) { console.log(`  the ramp ends here: loss ${step.lossPct.toFixed(1)} %, the origin's input ${step.pktsInPerS.toFixed(0)} of ${inRate.toFixed(0)} packets/s (core 0 ${step.core0BusyPct.toFixed(0)} % busy)`); break; }
  }
  const plan = single.map((s) => s.viewers);
  await ipc(viewers, { cmd: 'removeAll' }, 'removed');
  // Left: what S1 had (the probe's viewer and the two edges' pulls).
  await pollUntil(`the origin's load-generator viewers gone (${originViewersAtS1} left)`, async () => (await ingestMetrics(url('a'))).onair_ingest_viewers === originViewersAtS1, { timeoutMs: 15_000 });
  const perEdge = { b: 0, c: 0 };
  const spread: Step[] = [];
  for (const n of plan) {
    for (const id of ['b', 'c'] as const) {
      const target = id === 'b' ? Math.ceil(n / 2) : Math.floor(n / 2);
      await add(`${url(id)}/whep/edge`, target - perEdge[id]);
      perEdge[id] = target;
    }
    const step = await measure('B', n);
    spread.push(step);
    if (step.pktsInPerS < 0.5 * inRate) throw new Error(`the stream went offline at ${n} edge viewers (the origin got ${step.pktsInPerS.toFixed(0)} of ${inRate.toFixed(0)} packets/s): the machine starved it`);
  }
  await ipc(viewers, { cmd: 'removeAll' }, 'removed');

  // Only clean steps enter the fits (as in bench/fanout.ts): on a shared machine a step where the
  // origin was starved (its input fell short) or viewers lost packets measures the neighbours.
  const dropped = [...single, ...spread].filter((s) => !isClean(s)).map((s) => `${s.phase} N=${s.viewers}`);
  if (dropped.length) console.log(`left out of the fits (loss ≥ 2 % or the origin's input short): ${dropped.join(', ')}`);
  const singleFit = single.filter(isClean).length >= 2 ? single.filter(isClean) : single;
  const spreadFit = spread.filter(isClean).length >= 2 ? spread.filter(isClean) : spread;
  // Single node: the origin's CPU against its viewers; edges: each edge's CPU against its own viewers.
  const fitA = leastSquares(singleFit.map((s) => s.viewers), singleFit.map((s) => s.cpuPct.a! / 100));
  const edgePoints = spreadFit.flatMap((s) => [{ x: Math.ceil(s.viewers / 2), y: s.cpuPct.b! / 100 }, { x: Math.floor(s.viewers / 2), y: s.cpuPct.c! / 100 }]);
  const fitEdge = leastSquares(edgePoints.map((p) => p.x), edgePoints.map((p) => p.y));
  const fitOriginDuringB = leastSquares(spreadFit.map((s) => s.viewers), spreadFit.map((s) => s.cpuPct.a! / 100));
  const singlePerCore = (1 - s0.cpuPct.a! / 100) / fitA.slope;
  const edgePerCore = (1 - fitEdge.intercept) / fitEdge.slope;
  const originPerEdgePct = (s1.cpuPct.a! - s0.cpuPct.a! - fitA.slope * 100) / 2;
  const top = spread.at(-1)!, topSingle = single.at(-1)!;
  const hop = spread.concat(single).flatMap((s) => (s.hopMs ? [s.hopMs.p50] : []));
  const hopAll = [s1, ...single, ...spread].filter((s) => s.hopMs);
  const derived = {
    singleNode: { cpuPctPerViewer: fitA.slope * 100, baselineCpuPct: s0.cpuPct.a!, viewersPerCore: singlePerCore },
    edge: { cpuPctPerViewer: fitEdge.slope * 100, baselineCpuPct: fitEdge.intercept * 100, viewersPerCore: edgePerCore },
    edgeOfSingleNode: edgePerCore / singlePerCore,
    ratioGoal: RATIO_GOAL,
    /** At the highest step: viewers per core-second of every ingest involved (origin + both edges) against the origin alone. */
    atHighestStep: { viewers: top.viewers, cpuPctSingle: topSingle.cpuPct.a!, cpuPctCluster: top.cpuPct.a! + top.cpuPct.b! + top.cpuPct.c! },
    originCpuPctPerEdge: originPerEdgePct,
    originCpuPctPerEdgeViewer: fitOriginDuringB.slope * 100,
    /** What the origin sends per edge, in streams: (packets out at S1 − the probe's viewer's) ÷ 2 ÷ packets in. */
    originStreamsPerEdge: (s1.pktsOutPerS.a! - s1.pktsInPerS) / 2 / s1.pktsInPerS,
    originPacketsOutPerSDuringB: median(spread.map((s) => s.pktsOutPerS.a!)),
    hopP50Ms: hop.length ? median(hop) : null,
    hopP95Ms: hopAll.length ? median(hopAll.map((s) => s.hopMs!.p95)) : null,
    hopGoalMs: HOP_GOAL_MS,
    /** At S1: the probe alone, no load-generator viewer anywhere. */
    hopAtRestMs: s1.hopMs,
    leftOutOfFits: dropped,
    maxLossPct: Math.max(...results.map((s) => s.lossPct)),
    maxCore0BusyPct: Math.max(...results.map((s) => s.core0BusyPct)),
  };
  console.log(
    `\nsingle node: ${derived.singleNode.cpuPctPerViewer.toFixed(3)} % of a core per viewer, baseline ${derived.singleNode.baselineCpuPct.toFixed(1)} % → ${singlePerCore.toFixed(0)} viewers per core\n` +
    `edge: ${derived.edge.cpuPctPerViewer.toFixed(3)} % per viewer, baseline (its pull + the probe's viewer) ${derived.edge.baselineCpuPct.toFixed(1)} % → ${edgePerCore.toFixed(0)} viewers per core = ${(derived.edgeOfSingleNode * 100).toFixed(0)} % of single node (goal ≥ ${RATIO_GOAL * 100} %)\n` +
    `origin per edge: ${originPerEdgePct.toFixed(1)} % of a core, ${derived.originStreamsPerEdge.toFixed(2)} × the stream sent (one pull); its CPU against the edges' viewers: ${derived.originCpuPctPerEdgeViewer.toFixed(4)} % per viewer (flat = 0)\n` +
    `at ${top.viewers} viewers: origin alone ${derived.atHighestStep.cpuPctSingle.toFixed(1)} %, origin + two edges ${derived.atHighestStep.cpuPctCluster.toFixed(1)} % of a core\n` +
    `edge hop: p50 ${derived.hopP50Ms?.toFixed(2) ?? '-'} ms, p95 ${derived.hopP95Ms?.toFixed(2) ?? '-'} ms (medians over the steps; goal ≤ ${HOP_GOAL_MS} ms p50); with no other viewer p50 ${s1.hopMs?.p50 ?? '-'} ms, p95 ${s1.hopMs?.p95 ?? '-'} ms`,
  );
  const result = {
    date: new Date().toISOString(), quick,
    config: { steps, windowSeconds: windowS, reps, stream: pubInfo, pinning: 'ingests a (origin), b, c (edges) on core 0 (taskset -a); Redis, publisher, load generator, hop probe on core 1', viewerGenerator: 'bench/lib/fanout-viewers.ts (werift, SRTP counted not decrypted)' },
    machine: { ...machineRecord(), loadBefore, loadAfter: loadAverage(), werift: packageVersion('werift'), 'node-datachannel': packageVersion('node-datachannel') },
    steps: results, derived,
  };
  const file = join(ROOT, 'bench/results/edge.json');
  await mkdir(dirname(file), { recursive: true });
  // The latest run's fields at the top (what the summary reads), earlier runs kept beside it: on a
  // shared machine one run's figure is read against the others'.
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { runs?: unknown[] }) : {};
  const { runs: _drop, ...latest } = result as typeof result & { runs?: unknown };
  await writeFile(file, `${JSON.stringify({ ...latest, runs: [...(previous.runs ?? []), latest].slice(-8) }, null, 2)}\n`);
  console.log(`wrote ${file}`);
  viewers.send({ cmd: 'close' });
  probe.send({ cmd: 'close' });
  await Promise.all([viewers, probe].map((c) => Promise.race([new Promise((r) => c.once('exit', r)), sleep(4000)])));
  publisher.kill('SIGTERM');
}

const killAll = () => { for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) { try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ } } };
try {
  await main();
} finally {
  killAll();
  await cluster?.close();
  await redis?.close();
}
