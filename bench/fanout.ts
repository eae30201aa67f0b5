/**
 * WebRTC fan-out capacity of the ingest (issue 5): how many WHEP viewers of a ~2.5 Mbps 720p30
 * H.264 stream one core of the ingest serves.
 *
 *   npx tsx bench/fanout.ts                 full ramp (~3 min)
 *   npx tsx bench/fanout.ts --quick         short ramp (~40 s; ~10 s more with the canary)
 *   npx tsx bench/fanout.ts --steps=0,50,100 --window=3 --reps=3
 *   npx tsx bench/fanout.ts --profile=150   hold 150 viewers under `node --cpu-prof`, print where
 *                                           the ingest's time goes (bench/lib/fanout-profile.ts)
 *   npx tsx bench/fanout.ts --label=before  names the run in the results file
 *   npx tsx bench/fanout.ts --out=/tmp/f.json   writes there instead of bench/results/fanout.json
 *   npx tsx bench/fanout.ts --ingest-root=/tmp/onair-before   runs the ingest of another checkout
 *                                           (a `git worktree` of an older commit) for a before/after
 *   npx tsx bench/fanout.ts --ingest-env=KEY=VALUE[,KEY=VALUE]   adds to the ingest's environment
 *                                           (repeatable), to compare ingest configurations
 *   npx tsx bench/fanout.ts --canary-rise=50 --canary-freeze=500   the canary's stop thresholds (ms);
 *                                           --canary=off runs without it (--profile always does)
 *
 * Processes: the ingest (`apps/ingest/src/main.ts`, temp data dir, ICE on 127.0.0.1) pinned to
 * core 0 with taskset; a synthetic publisher (bench/lib/fanout-publisher.ts: a pre-encoded clip
 * replayed over WHIP) and the load generator (bench/lib/fanout-viewers.ts: N werift WHEP viewers
 * that complete ICE/DTLS and count SRTP packets without decrypting) both pinned to core 1, and
 * so is the canary (bench/lib/fanout-canary.ts): one headless Chromium watching the stream over
 * WHEP for the whole ramp, decoding like a person's browser. Its decode shares core 1 with the
 * load generator, so a canary figure at a step where core 1 is saturated (core1 % in the step
 * line) says as much about core 1 as about the ingest; the canary itself takes ~20 % of core 1
 * (its CPU is in the step line), which the load generator no longer has. The canary is one more
 * viewer of the ingest: the 0-viewer step forwards to it, so the baseline holds one viewer's cost.
 *
 * Per step the viewers are ramped to N, then R windows of W seconds are measured: ingest CPU from
 * /proc/<pid>/stat (utime+stime deltas; independent of what else runs, except for cache and
 * frequency effects), packets and bytes out from the ingest's /metrics counters, packets the
 * viewers received vs expected from sequence numbers (loss; the canary is credited with one
 * viewer's share less what its getStats counts lost). Medians over the windows are kept.
 *
 * The canary's latency: the publisher is no pixel clock, so it is measured relative to the ramp's
 * start (bench/lib/fanout-canary-latency.ts): display time − RTP media time at
 * requestVideoFrameCallback is latency + a constant; a step's rise = that per frame − its median
 * at the first (0-viewer) step, p50 and p95 over the step's windows; "arrival" is the same for
 * rVFC receiveTime (delay before Chrome). Before the first step the bench waits until the
 * canary's latency holds still. A freeze is a gap > 500 ms between displayed frames in the
 * windows; freezes while viewers joined (the ramp's DTLS burst) are printed and recorded apart
 * and do not stop the ramp: how fast viewers join is the bench's choice (10 at a time).
 *
 * The ramp stops when the ingest's core passes 90 %, loss passes 2 %, or the canary's p50 rise
 * passes 50 ms or it freezes.
 *
 * Derived (least squares over all steps, baseline = the 0-viewer step in the same run):
 *   µs per forwarded packet = slope of ingest CPU-seconds per second vs packets out per second
 *   viewers per core at 2.5 Mbps = (1 core − baseline) / (µs per packet × packets/s of one
 *     2.5 Mbps viewer), also the same from the slope vs viewers
 *   packets/s per core, Mbps per core = 1 core / µs per packet, × mean packet size
 *   × floor = µs per forwarded packet ÷ this machine's floor, measured in the same run before the
 *     ramp (bench/lib/fanout-floor.ts): a C loop sending the stream's packet size and rate to as
 *     many loopback sockets as a step has viewers, on core 0 with a reader on core 1 — `sendto`
 *     alone, and with node-datachannel's own libSRTP. The goal is ≤ 1.5 × the sendto floor.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/ports';
import { pollUntil } from '../test/support/poll';
import { CanaryClient, type CanaryTake } from './lib/fanout-canary-client';
import { canaryBaseline, DEFAULT_FREEZE_MS, mergeWindows, quantile, summarizeCanaryStep, type CanaryBaseline, type CanaryStep } from './lib/fanout-canary-latency';
import { buildFloorProgram, floorAt, floorRatios, floorSocketCounts, measureFloor, type FloorSample } from './lib/fanout-floor';
import { summarizeProfile } from './lib/fanout-profile';
import { packageVersion } from './lib/stats';
import { CLK_TCK, coreTicks, cpuTicks, firstLine, ingestMetrics, ipc, leastSquares, median } from './lib/proc-stats';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const TARGET_KBPS = 2500;

/** `--key=value` pairs in order (a value may hold '='); `--flag` is 'true'. */
const argv = process.argv.slice(2).map((a) => {
  const s = a.replace(/^--/, '');
  const i = s.indexOf('=');
  return (i < 0 ? [s, 'true'] : [s.slice(0, i), s.slice(i + 1)]) as [string, string];
});
const args = new Map(argv);
const quick = args.has('quick');
const steps = (args.get('steps') ?? (quick ? '0,50,150,300' : '0,25,50,100,200,300,400,500,600')).split(',').map(Number);
const windowS = Number(args.get('window') ?? (quick ? 3 : 3));
const reps = Number(args.get('reps') ?? (quick ? 2 : 3));
const profileViewers = args.has('profile') ? Number(args.get('profile') === 'true' ? 150 : args.get('profile')) : undefined;
const label = args.get('label') ?? (profileViewers ? 'profile' : quick ? 'quick' : 'full');
/** Checkout whose apps/ingest runs (its node_modules may be a symlink to this one's). */
const ingestRoot = args.get('ingest-root') ?? ROOT;
/** `--ingest-env=A=1,B=2` (repeatable): added to the ingest's environment. A comma starts a new pair only before `NAME=`. */
const ingestEnv: Record<string, string> = Object.fromEntries(
  argv.filter(([k]) => k === 'ingest-env').flatMap(([, v]) => v.split(/,(?=[A-Za-z_][A-Za-z0-9_]*=)/)).map((pair) => {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Error(`--ingest-env: expected KEY=VALUE, got "${pair}"`);
    return [pair.slice(0, i), pair.slice(i + 1)];
  }),
);
const canaryOn = args.get('canary') !== 'off' && args.get('canary') !== 'false' && profileViewers === undefined;
/** Stop when the canary's p50 latency rise over the first step passes this (ms). */
const canaryRiseMs = Number(args.get('canary-rise') ?? 50);
/** A gap between the canary's displayed frames above this is a freeze (ms). */
const canaryFreezeMs = Number(args.get('canary-freeze') ?? DEFAULT_FREEZE_MS);

const children: ChildProcess[] = [];
function track<T extends ChildProcess>(child: T): T {
  children.push(child);
  return child;
}
function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null && child.pid) {
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => { killAll(); process.exit(130); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
interface ViewerStats { viewers: number; received: number; expected: number; bytes: number; cpuMicros: number }

/**
 * lossPct: packets the ingest sent that no viewer got (fan-out loss: 1 − delivered / sent);
 * e2eLossPct: sequence gaps at the viewers (includes packets lost before the ingest);
 * upstreamLossPct: packets the publisher sent that the ingest did not forward (1 − in / sent);
 * core0BusyPct: the whole core 0 (every process), to see contention from the rest of the machine;
 * core1BusyPct: the whole core 1 (publisher, load generator, canary Chromium and anything else).
 */
interface Window { cpuPct: number; pktsInPerS: number; pktsOutPerS: number; mbpsOut: number; deliveredPerS: number; lossPct: number; e2eLossPct: number; upstreamLossPct: number; loadgenCpuPct: number; core0BusyPct: number; core1BusyPct: number }
/**
 * The canary at one step: latency figures over the measured windows (rise against the first
 * step), freezes while viewers joined (`ramp*`), and its getStats over the windows.
 */
interface CanaryAtStep extends CanaryStep {
  /** p50 of display − media per window, ms above the session's first frame. */
  windowP50: Array<number | null>;
  rampFreezes: number;
  rampMaxGapMs: number;
  /** getStats over the measured windows. */
  statsFreezes: number | null;
  statsFreezesMs: number | null;
  jitterBufferMs: number | null;
  packetsLost: number | null;
  framesDropped: number | null;
  nacks: number | null;
  plis: number | null;
  /** CPU of the canary's Chromium (and its driver) over the windows, % of one core (on core 1). */
  cpuPct: number | null;
  /** Windows the canary did not answer in time. */
  unanswered: number;
  connection: string;
}
/** usPerPacket: (step CPU − baseline) / packets out; floorUs / ofFloor: the sendto floor at the nearest socket count, and usPerPacket ÷ it. */
interface Step { viewers: number; connectFailures: number; rampMs: number; windows: Window[]; median: Window; usPerPacket: number | null; floorUs: number | null; ofFloor: number | null; load1: number; canary?: CanaryAtStep }

/** getStats differences between two canary takes (null when either has none). */
function canaryStatsDelta(a: CanaryTake | null, b: CanaryTake | null) {
  const x = a?.stats, y = b?.stats;
  if (!x || !y) return null;
  const emitted = y.jitterBufferEmittedCount - x.jitterBufferEmittedCount;
  return {
    packetsReceived: y.packetsReceived - x.packetsReceived,
    packetsLost: y.packetsLost - x.packetsLost,
    statsFreezes: y.freezeCount - x.freezeCount,
    statsFreezesMs: Math.round((y.totalFreezesDuration - x.totalFreezesDuration) * 1000),
    jitterBufferMs: emitted > 0 ? Math.round(((y.jitterBufferDelay - x.jitterBufferDelay) / emitted) * 10000) / 10 : null,
    framesDropped: y.framesDropped - x.framesDropped,
    nacks: y.nackCount - x.nackCount,
    plis: y.pliCount - x.pliCount,
  };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'onair-fanout-'));
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const adminToken = randomBytes(16).toString('hex');
    const profDir = join(dataDir, 'prof');
    const ingestArgs = ['-c', '0', NODE, ...(profileViewers ? [`--cpu-prof`, `--cpu-prof-dir=${profDir}`] : []), '--import', 'tsx', 'apps/ingest/src/main.ts'];
    const ingest = track(spawn('taskset', ingestArgs, {
      cwd: ingestRoot,
      env: { ...process.env, ONAIR_INGEST_PORT: String(port), ONAIR_DATA_DIR: dataDir, ONAIR_ADMIN_TOKEN: adminToken, ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_WEBTRANSPORT_PORT: 'off', ONAIR_LOG_LEVEL: 'warn',
        // Every viewer of the ramp comes from this one process: the per-client session caps would stop it.
        ONAIR_MAX_PENDING_PER_CLIENT: '2000', ONAIR_MAX_PENDING: '2000', ONAIR_MAX_SESSION_POSTS_PER_CLIENT: '100000', ...ingestEnv },
      stdio: ['ignore', 'inherit', 'inherit'],
    }));
    if (Object.keys(ingestEnv).length) console.log(`ingest env: ${Object.entries(ingestEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    // The canary's browser starts while the ingest does (Chromium launch + page bundle, ~2 s).
    const canaryReady = canaryOn
      ? CanaryClient.attach(track(spawn('taskset', ['-c', '1', NODE, '--import', 'tsx', 'bench/lib/fanout-canary.ts'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })))
      : undefined;
    canaryReady?.catch(() => undefined);
    await pollUntil('ingest /healthz', async () => (await fetch(`${base}/healthz`)).ok, { timeoutMs: 30_000 });
    const created = await fetch(`${base}/api/streams`, { method: 'POST', headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'fanout' }) });
    if (created.status !== 201) throw new Error(`create stream: ${created.status} ${await created.text()}`);
    const stream = (await created.json()) as { streamKey: string };
    const whipUrl = `${base}/whip`;
    const whepUrl = `${base}/whep/fanout`;

    const publisher = track(spawn('taskset', ['-c', '1', NODE, '--import', 'tsx', 'bench/lib/fanout-publisher.ts', whipUrl, stream.streamKey, String(TARGET_KBPS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }));
    const pubInfo = (await firstLine(publisher)) as { packetsPerSecond: number; kbps: number; bytesPerPacket: number };
    // The publisher prints {sent} on SIGUSR2: packets it handed to werift so far.
    let pubSent = 0;
    createInterface({ input: publisher.stdout! }).on('line', (line) => { const m = JSON.parse(line) as { sent?: number }; if (m.sent !== undefined) pubSent = m.sent; });
    const publisherSent = async () => { publisher.kill('SIGUSR2'); const before = pubSent; await pollUntil('publisher count', () => pubSent !== before, { timeoutMs: 2000, intervalMs: 5 }).catch(() => undefined); return pubSent; };
    console.log(`publisher: ${pubInfo.kbps.toFixed(0)} kbps, ${pubInfo.packetsPerSecond.toFixed(0)} packets/s (720p30 H.264 clip, replayed)`);
    const viewers = track(spawn('taskset', ['-c', '1', NODE, '--import', 'tsx', 'bench/lib/fanout-viewers.ts'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    await new Promise<void>((resolve) => viewers.once('message', () => resolve()));
    await pollUntil('stream live', async () => ((await ingestMetrics(base)).onair_ingest_live_streams ?? 0) >= 1, { timeoutMs: 15_000 });

    // The machine's floor, in this run, on the ingest's core, before any viewer: a C sendto loop
    // (and libSRTP) with the stream's packet size and rate, at the ramp's socket counts.
    const floorPlan = profileViewers !== undefined ? [] : floorSocketCounts(steps);
    const floorProgram = floorPlan.length ? buildFloorProgram() : { skipped: 'not measured in --profile runs' };
    const floorRun = { packetBytes: pubInfo.bytesPerPacket, packetsPerSecondPerSocket: pubInfo.packetsPerSecond, burst: Math.max(1, Math.round(pubInfo.packetsPerSecond / 30)), secondsPerPhase: 1, senderCpu: 0, readerCpu: 1 };
    let floorSamples: FloorSample[] = [];
    let floorSkipped: string | null = 'skipped' in floorProgram ? floorProgram.skipped : null;
    if ('path' in floorProgram) {
      floorSamples = await measureFloor(floorProgram, floorPlan, floorRun).catch((error: unknown) => { floorSkipped = String(error); return []; });
      for (const f of floorSamples) console.log(`floor at ${String(f.sockets).padStart(4)} sockets: sendto ${f.sendtoUs.toFixed(2)} µs/pkt${f.srtpError === null ? `, libSRTP AES-128-GCM ${f.srtpAes128GcmUs.toFixed(2)} (AES-CM + HMAC-SHA1-80 ${f.srtpAesCm128Sha1_80Us.toFixed(2)}), protect + sendto ${f.srtpAes128GcmSendtoUs.toFixed(2)}` : ''} (${Math.round(floorRun.packetBytes)}-byte packets, bursts of ${floorRun.burst})`);
      if (floorProgram.srtpSkipped) console.log(`floor: libSRTP not measured: ${floorProgram.srtpSkipped}`);
    }
    if (floorSkipped) console.log(`floor: not measured: ${floorSkipped}`);
    let canary = await canaryReady;
    let canaryStartError: string | null = null;
    // A Chromium that cannot play the stream at all (an ingest configuration under test that
    // breaks browsers) is a finding, not a reason to lose the capacity figures: ramp without it.
    const started = canary ? await canary.start(whepUrl, canaryFreezeMs).catch((error: unknown) => { canaryStartError = String(error); return undefined; }) : undefined;
    if (canary && !started) {
      console.log(`canary: could not play the stream (${canaryStartError}); ramping without it`);
      await canary.close();
      canary = undefined;
    }
    if (canary && started) {
      const { firstFrameMs } = started;
      console.log(`canary: headless Chromium viewer (WHEP, decoding, core 1) first frame after ${firstFrameMs} ms; stops the ramp at a p50 latency rise > ${canaryRiseMs} ms or a gap > ${canaryFreezeMs} ms between frames`);
      // Its baseline is the first step: wait until its latency holds still (two 1 s windows within
      // 5 ms, no gap > 200 ms; at most 10 s) rather than a fixed time, so start-up is not in it.
      const settleStart = performance.now();
      let previous: number | null = null;
      let steady = false;
      await canary.take();
      while (!steady && performance.now() - settleStart < 10_000) {
        await sleep(1000);
        const t = await canary.take();
        const p50 = t ? quantile(t.window.latencies, 0.5) : null;
        steady = t !== null && t.window.maxGapMs < 200 && p50 !== null && previous !== null && Math.abs(p50 - previous) < 5;
        previous = p50;
      }
      console.log(`canary: ${steady ? 'steady' : 'still not steady'} after ${((performance.now() - settleStart) / 1000).toFixed(1)} s`);
    } else {
      await sleep(1500);
    }

    const ingestPid = ingest.pid!;
    let current = 0;
    const results: Step[] = [];
    const plan = profileViewers !== undefined ? [profileViewers] : steps;
    let profileWindow: { startUs: number; endUs: number } | undefined;
    let stopReason: string | null = null;
    let canaryBase: CanaryBaseline | undefined;
    const canaryNotes: string[] = [];
    let noted = 0;
    for (const target of plan) {
      const rampStart = performance.now();
      let connectFailures = 0;
      if (target > current) {
        const added = await ipc<{ connected: number; failed: number; errors: string[] }>(viewers, { cmd: 'add', whepUrl, count: target - current, concurrency: 10 }, 'added');
        connectFailures = added.failed;
        if (added.failed) console.log(`  ${added.failed} viewers failed to connect: ${added.errors.join('; ')}`);
        current = target;
      }
      const rampMs = performance.now() - rampStart;
      await sleep(2000); // keyframe wait (GOP 1 s) and the DTLS/ICE tail settle
      const windows: Window[] = [];
      const nowUs = () => Number(process.hrtime.bigint() / 1000n);
      if (profileViewers !== undefined) profileWindow = { startUs: nowUs(), endUs: 0 };
      // The canary's frames from the step's start to here: shown while viewers joined and settled.
      const rampTake = await canary?.take();
      const canaryTakes: Array<CanaryTake | null> = [];
      let t0 = performance.now(), c0 = cpuTicks(ingestPid), k0 = coreTicks(0), q0 = coreTicks(1), m0 = await ingestMetrics(base), v0 = await ipc<ViewerStats>(viewers, { cmd: 'stats' }, 'stats'), p0 = await publisherSent();
      let a0: CanaryTake | null | undefined = rampTake;
      const windowsStart = performance.now();
      for (let r = 0; r < (profileViewers !== undefined ? Math.max(reps, 4) : reps); r += 1) {
        await sleep(windowS * 1000);
        const t1 = performance.now(), c1 = cpuTicks(ingestPid), k1 = coreTicks(0), q1 = coreTicks(1);
        // The canary's take runs beside the rest, which keep their order (metrics, then the load
        // generator's counts: the packets in flight between them count as delivered, as before).
        const canaryTake = canary?.take();
        const m1 = await ingestMetrics(base), v1 = await ipc<ViewerStats>(viewers, { cmd: 'stats' }, 'stats'), p1 = await publisherSent();
        const a1 = await canaryTake;
        if (canary) canaryTakes.push(a1 ?? null);
        const s = (t1 - t0) / 1000;
        const d = (k: string) => (m1[k] ?? 0) - (m0[k] ?? 0);
        // The canary is a viewer too: its packets are among the ingest's packets sent. Its getStats
        // snapshot is not taken at the same instant as /metrics (a page round trip later, more on a
        // busy core 1), which alone read as ~0.5 % loss at 0 viewers; so it is credited with one
        // viewer's share from the same /metrics snapshot (every packet in goes out to it once)
        // less the packets Chrome counted as lost.
        const canaryDelta = canaryStatsDelta(a0 ?? null, a1 ?? null);
        const canaryConnected = a1?.connection === 'connected';
        const received = v1.received - v0.received + (canaryDelta && canaryConnected ? d('onair_ingest_packets_received_total') - canaryDelta.packetsLost : 0);
        // e2e: sequence gaps, so the canary's own counts from one getStats snapshot each end.
        const e2eExpected = v1.expected - v0.expected + (canaryDelta ? canaryDelta.packetsReceived + canaryDelta.packetsLost : 0);
        const e2eReceived = v1.received - v0.received + (canaryDelta?.packetsReceived ?? 0);
        windows.push({
          cpuPct: ((c1 - c0) / CLK_TCK / s) * 100,
          pktsInPerS: d('onair_ingest_packets_received_total') / s,
          pktsOutPerS: d('onair_ingest_packets_sent_total') / s,
          mbpsOut: (d('onair_ingest_bytes_sent_total') * 8) / s / 1e6,
          deliveredPerS: received / s,
          lossPct: d('onair_ingest_packets_sent_total') > 0 ? Math.max(0, (1 - received / d('onair_ingest_packets_sent_total')) * 100) : 0,
          e2eLossPct: e2eExpected > 0 ? Math.max(0, (1 - e2eReceived / e2eExpected) * 100) : 0,
          upstreamLossPct: p1 > p0 ? Math.max(0, (1 - d('onair_ingest_packets_received_total') / (p1 - p0)) * 100) : 0,
          core0BusyPct: ((k1.busy - k0.busy) / Math.max(1, k1.total - k0.total)) * 100,
          core1BusyPct: ((q1.busy - q0.busy) / Math.max(1, q1.total - q0.total)) * 100,
          loadgenCpuPct: ((v1.cpuMicros - v0.cpuMicros) / 1e6 / s) * 100,
        });
        t0 = t1; c0 = c1; k0 = k1; q0 = q1; m0 = m1; v0 = v1; p0 = p1; a0 = a1;
      }
      if (profileWindow) profileWindow.endUs = nowUs();
      const med = Object.fromEntries(Object.keys(windows[0]!).map((k) => [k, median(windows.map((w) => w[k as keyof Window]))])) as unknown as Window;
      const baseline = results[0]?.viewers === 0 ? results[0].median.cpuPct : undefined;
      const usPerPacket = baseline !== undefined && med.pktsOutPerS > 0 ? ((med.cpuPct - baseline) / 100 / med.pktsOutPerS) * 1e6 : null;
      const floorUs = target > 0 ? (floorAt(floorSamples, target)?.sendtoUs ?? null) : null;
      const ofFloor = usPerPacket !== null && floorUs !== null ? usPerPacket / floorUs : null;
      const step: Step = { viewers: target, connectFailures, rampMs: Math.round(rampMs), windows, median: med, usPerPacket, floorUs, ofFloor, load1: loadavg()[0]! };
      if (canary) {
        const answered = canaryTakes.filter((t): t is CanaryTake => t !== null);
        const measured = mergeWindows(answered.map((t) => t.window));
        // The baseline is the first step's medians (the 0-viewer step when the ramp starts at 0).
        if (results.length === 0) canaryBase = canaryBaseline(measured);
        const statsDelta = canaryStatsDelta(rampTake ?? null, canaryTakes.at(-1) ?? null);
        step.canary = {
          ...summarizeCanaryStep(measured, canaryBase ?? null),
          windowP50: canaryTakes.map((t) => { const q = t ? quantile(t.window.latencies, 0.5) : null; return q === null ? null : Math.round(q * 10) / 10; }),
          rampFreezes: rampTake?.window.freezes.length ?? 0,
          rampMaxGapMs: Math.round(rampTake?.window.maxGapMs ?? 0),
          statsFreezes: statsDelta?.statsFreezes ?? null,
          statsFreezesMs: statsDelta?.statsFreezesMs ?? null,
          jitterBufferMs: statsDelta?.jitterBufferMs ?? null,
          packetsLost: statsDelta?.packetsLost ?? null,
          framesDropped: statsDelta?.framesDropped ?? null,
          nacks: statsDelta?.nacks ?? null,
          plis: statsDelta?.plis ?? null,
          cpuPct: rampTake && canaryTakes.at(-1) ? Math.round(((canaryTakes.at(-1)!.cpuTicks - rampTake.cpuTicks) / CLK_TCK / ((performance.now() - windowsStart) / 1000)) * 1000) / 10 : null,
          unanswered: canaryTakes.length - answered.length,
          connection: canaryTakes.at(-1)?.connection ?? 'no answer',
        };
      }
      results.push(step);
      const c = step.canary;
      // A baseline taken while the canary or the machine was disturbed makes every later rise smaller.
      if (c && results.length === 1 && (c.freezes > 0 || c.maxGapMs > 200 || med.core0BusyPct > 90 || med.core1BusyPct > 90 || (c.statsFreezes ?? 0) > 0)) {
        canaryNotes.push(`the canary's baseline (first step) was disturbed: max gap ${c.maxGapMs} ms, ${c.statsFreezes ?? '?'} getStats freezes, jitter buffer ${c.jitterBufferMs ?? '?'} ms, core 0 ${med.core0BusyPct.toFixed(0)} %, core 1 ${med.core1BusyPct.toFixed(0)} % busy: later rises are understated`);
      }
      if (c && c.riseP50 !== null && c.riseP50 < -20) canaryNotes.push(`N=${target}: the canary's latency is ${(-c.riseP50).toFixed(0)} ms below its baseline: the baseline was high (rises are understated)`);
      const fmt = (v: number | null | undefined, signed = true) => { if (v === null || v === undefined) return '-'; const r = Math.round(v) || 0; return `${signed && r >= 0 ? '+' : ''}${r}`; };
      console.log(
        `N=${String(target).padStart(4)}  ingest CPU ${med.cpuPct.toFixed(1).padStart(5)} %  in ${med.pktsInPerS.toFixed(0).padStart(4)} pkt/s  out ${med.pktsOutPerS.toFixed(0).padStart(6)} pkt/s ${med.mbpsOut.toFixed(1).padStart(6)} Mbps  ` +
          `delivered ${med.deliveredPerS.toFixed(0).padStart(6)} pkt/s  loss ${med.lossPct.toFixed(2)} % (e2e ${med.e2eLossPct.toFixed(1)}, upstream ${med.upstreamLossPct.toFixed(1)})  µs/pkt ${usPerPacket?.toFixed(1) ?? '-'}${ofFloor !== null ? ` (${ofFloor.toFixed(2)} × floor)` : ''}  loadgen ${med.loadgenCpuPct.toFixed(0)} %  core0 ${med.core0BusyPct.toFixed(0)} %  core1 ${med.core1BusyPct.toFixed(0)} %  (ramp ${(rampMs / 1000).toFixed(1)} s, load ${step.load1.toFixed(1)})` +
          (c
            ? `\n        canary: rise p50 ${fmt(c.riseP50)} ms p95 ${fmt(c.riseP95)} ms (arrival p50 ${fmt(c.arrivalRiseP50)} p95 ${fmt(c.arrivalRiseP95)})  freezes ${c.freezes}${c.freezes ? ` (${c.freezeMs.join(', ')} ms)` : ''}, while joining ${c.rampFreezes} (max gap ${c.rampMaxGapMs} ms)  max gap ${c.maxGapMs} ms  ` +
              `getStats freezes ${c.statsFreezes ?? '-'} (${c.statsFreezesMs ?? '-'} ms)  jitter buffer ${c.jitterBufferMs ?? '-'} ms  CPU ${c.cpuPct ?? '-'} %  receive→display p50 ${fmt(c.receiveToDisplayP50, false)} ms  lost ${c.packetsLost ?? '-'}  dropped ${c.framesDropped ?? '-'}  ${c.frames} frames` +
              `${c.discontinuities ? `  ${c.discontinuities} timestamp jumps rebased` : ''}${c.unanswered ? `  ${c.unanswered} windows unanswered` : ''}${c.connection !== 'connected' ? `  connection ${c.connection}` : ''}`
            : ''),
      );
      for (const note of canaryNotes.slice(noted)) console.log(`  note: ${note}`);
      noted = canaryNotes.length;
      // Every condition that holds is named, so a stop at loss also says whether the canary had suffered.
      const reasons: string[] = [];
      if (med.cpuPct > 90) reasons.push('ingest core above 90 %');
      if (med.lossPct > 2) reasons.push(`fan-out loss above 2 %${med.loadgenCpuPct > 85 || med.core1BusyPct >= 95 ? ` (the load generator's core is ${Math.round(med.core1BusyPct)} % busy: loss may be on its side)` : ''}`);
      if (med.pktsInPerS === 0) reasons.push('the stream went offline (the ingest was starved long enough for its media timeout)');
      if (c && c.riseP50 !== null && c.riseP50 > canaryRiseMs) reasons.push(`canary latency rose ${c.riseP50.toFixed(0)} ms (p50) over the first step, above ${canaryRiseMs} ms${med.core1BusyPct > 90 ? ` (core 1, where it decodes, was ${med.core1BusyPct.toFixed(0)} % busy)` : ''}`);
      if (c && c.freezes > 0) reasons.push(`canary froze: ${c.freezes} gap${c.freezes > 1 ? 's' : ''} > ${canaryFreezeMs} ms between frames (${c.freezeMs.join(', ')} ms)${med.core1BusyPct > 90 ? ` (core 1, where it decodes, was ${med.core1BusyPct.toFixed(0)} % busy)` : ''}`);
      if (c && c.frames === 0 && c.freezes === 0) reasons.push('canary showed no frame in the step\'s windows');
      if (reasons.length) {
        stopReason = reasons.join('; ');
        console.log(`stop: ${stopReason}`);
        break;
      }
      if (med.upstreamLossPct > 2) console.log(`  note: ${med.upstreamLossPct.toFixed(1)} % of the publisher's packets did not reach the ingest's router (core 0 busy ${med.core0BusyPct.toFixed(0)} % with other work: the ingest is descheduled and its socket buffer overflows)`);
    }

    if (stopReason === null) console.log('stop: end of the plan');
    viewers.send({ cmd: 'close' });
    await Promise.all([Promise.race([new Promise((r) => viewers.once('exit', r)), sleep(4000)]), canary?.close()]);
    publisher.kill('SIGTERM');

    if (profileViewers !== undefined) {
      process.kill(ingestPid, 'SIGINT');
      await new Promise((r) => ingest.once('exit', r));
      const files = existsSync(profDir) ? (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile')) : [];
      if (files.length === 0) throw new Error('no CPU profile written');
      const outDir = join(ROOT, 'bench/results');
      await mkdir(outDir, { recursive: true });
      const summary = await summarizeProfile(join(profDir, files[0]!), profileWindow!, results[0]!.median.pktsOutPerS);
      console.log(summary.text);
      await writeFile(join(outDir, `fanout-profile-${label}.json`), `${JSON.stringify({ when: new Date().toISOString(), label, viewers: profileViewers, step: results[0], ...summary.json }, null, 2)}\n`);
      return;
    }

    // Least squares: CPU (fraction of a core) against packets out per second, and against viewers.
    const fit = leastSquares;
    // Only clean steps enter the fit: the machine is shared, and a step where the ingest was
    // starved (upstream loss) or viewers did not all connect measures the neighbours, not us.
    const clean = results.filter((s, i) => i === 0 || (s.median.upstreamLossPct < 5 && s.median.lossPct < 2 && s.median.pktsOutPerS > 0));
    const cpu = clean.map((s) => s.median.cpuPct / 100);
    const byPacket = fit(clean.map((s) => s.median.pktsOutPerS), cpu);
    // Viewers actually served = packets out / packets in (a viewer that failed to connect costs nothing).
    const byViewer = fit(clean.map((s) => (s.median.pktsInPerS > 0 ? s.median.pktsOutPerS / s.median.pktsInPerS : 0)), cpu);
    const loaded = clean.filter((s) => s.median.pktsOutPerS > 0);
    const meanPacketBytes = loaded.reduce((a, s) => a + (s.median.mbpsOut * 1e6) / 8 / s.median.pktsOutPerS, 0) / Math.max(1, loaded.length);
    const pktsPerViewerAtTarget = (pubInfo.packetsPerSecond * TARGET_KBPS) / pubInfo.kbps;
    const usPerPacket = byPacket.slope * 1e6;
    const baseline = results[0]!.median.cpuPct / 100;
    const ratios = floorRatios(usPerPacket, floorSamples);
    const derived = {
      usPerForwardedPacket: usPerPacket,
      /** The same ÷ this machine's sendto floor (mean over the socket counts measured), and ÷ protect + sendto. */
      usPerForwardedPacketOfFloor: ratios?.ofSendto ?? null,
      usPerForwardedPacketOfSrtpFloor: ratios?.ofSrtpSendto ?? null,
      floorSendtoUs: ratios?.sendtoUs ?? null,
      floorSrtpSendtoUs: ratios?.srtpSendtoUs ?? null,
      usPerForwardedPacketMedianOfSteps: median(clean.map((s) => s.usPerPacket).filter((v): v is number => v !== null)),
      cleanSteps: clean.map((s) => s.viewers),
      baselineCpuPct: baseline * 100,
      packetsPerSecondPerCore: 1e6 / usPerPacket,
      mbpsPerCore: ((1e6 / usPerPacket) * meanPacketBytes * 8) / 1e6,
      viewersPerCoreAt2500kbps: (1 - baseline) / (byPacket.slope * pktsPerViewerAtTarget),
      viewersPerCoreFromViewerSlope: ((1 - baseline) / byViewer.slope) * (pubInfo.kbps / TARGET_KBPS),
      cpuPctPerViewer: byViewer.slope * 100,
      meanPacketBytes,
      maxLossPct: Math.max(...results.map((s) => s.median.lossPct)),
      maxUpstreamLossPct: Math.max(...results.map((s) => s.median.upstreamLossPct)),
      highestStep: results.at(-1)!.viewers,
      stopReason,
      /** The most viewers at which the canary's p50 rise stayed within the threshold with no freeze. */
      canaryHeldUpTo: canaryOn ? ([...results].reverse().find((s) => s.canary && s.canary.frames > 0 && s.canary.freezes === 0 && (s.canary.riseP50 ?? 0) <= canaryRiseMs)?.viewers ?? null) : null,
      canaryNotes,
      canaryAtHighestStep: results.at(-1)!.canary ? { viewers: results.at(-1)!.viewers, riseP50: results.at(-1)!.canary!.riseP50, riseP95: results.at(-1)!.canary!.riseP95, freezes: results.at(-1)!.canary!.freezes } : null,
    };
    console.log(
      `\nclean steps ${derived.cleanSteps.join(', ')}: µs per forwarded packet ${derived.usPerForwardedPacket.toFixed(1)} (median of steps ${derived.usPerForwardedPacketMedianOfSteps.toFixed(1)}), baseline ${derived.baselineCpuPct.toFixed(1)} %\n` +
        (ratios ? `floor (this machine, this run): sendto ${ratios.sendtoUs.toFixed(2)} µs${ratios.srtpSendtoUs !== null ? `, libSRTP + sendto ${ratios.srtpSendtoUs.toFixed(2)} µs` : ''}: the ingest costs ${ratios.ofSendto.toFixed(2)} × the sendto floor${ratios.ofSrtpSendto !== null ? `, ${ratios.ofSrtpSendto.toFixed(2)} × libSRTP + sendto` : ''} (goal ≤ 1.5 × sendto)\n` : `floor: no ratio (${floorSkipped ?? (floorSamples.length ? 'no cost per packet' : 'no floor sample')})\n`) +
        `per core: ${derived.packetsPerSecondPerCore.toFixed(0)} packets/s, ${derived.mbpsPerCore.toFixed(0)} Mbps, ${derived.viewersPerCoreAt2500kbps.toFixed(0)} viewers at 2.5 Mbps (${derived.viewersPerCoreFromViewerSlope.toFixed(0)} from the per-viewer slope; goal ≥ 300)` +
        (canaryOn && canaryStartError !== null ? `\ncanary: could not play the stream (${canaryStartError as string})` : '') +
        (canaryOn && canaryStartError === null ? `\ncanary: held (p50 rise ≤ ${canaryRiseMs} ms, no freeze) up to ${derived.canaryHeldUpTo ?? 'no step'} viewers; at ${derived.highestStep}: rise p50 ${derived.canaryAtHighestStep?.riseP50 ?? '-'} ms, p95 ${derived.canaryAtHighestStep?.riseP95 ?? '-'} ms, ${derived.canaryAtHighestStep?.freezes ?? '-'} freezes (its decode shares core 1 with the load generator)` : '') +
        `\nstopped: ${stopReason ?? 'end of the plan'}`,
    );
    const file = args.get('out') ?? join(ROOT, 'bench/results/fanout.json');
    await mkdir(dirname(file), { recursive: true });
    const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { runs?: unknown[] }) : {};
    const engineInfo = /^onair_ingest_info\{viewer_engine="([^"]+)"(?:,native_send="([^"]+)")?/m.exec(await (await fetch(`${base}/metrics`)).text());
    const viewerEngine = engineInfo ? `${engineInfo[1]}${engineInfo[2] === 'yes' ? ' + native send' : ''}` : 'unknown';
    const nodeVersion = await new Promise<string>((resolve) => { const c = spawn(NODE, ['--version']); let o = ''; c.stdout.on('data', (d) => (o += d)); c.on('exit', () => resolve(o.trim())); });
    const commit = await new Promise<string>((resolve) => { const c = spawn('git', ['rev-parse', '--short', 'HEAD'], { cwd: ingestRoot }); let o = ''; c.stdout.on('data', (d) => (o += d)); c.on('exit', () => resolve(o.trim())); });
    const run = {
      when: new Date().toISOString(), label, commit, ingestRoot, quick,
      machine: { cores: cpus().length, model: cpus()[0]?.model, loadavg: loadavg(), node: nodeVersion, werift: packageVersion('werift'), 'node-datachannel': packageVersion('node-datachannel') },
      viewerEngine,
      stream: { kbps: pubInfo.kbps, packetsPerSecond: pubInfo.packetsPerSecond, targetKbps: TARGET_KBPS, pinning: `ingest core 0; publisher + viewers${canaryOn ? ' + canary Chromium (its decode shares core 1)' : ''} core 1` },
      ingestEnv,
      canary: canaryOn ? { startError: canaryStartError, riseThresholdMs: canaryRiseMs, freezeGapMs: canaryFreezeMs, what: 'headless Chromium, site WHEP client, decoding; latency = display − RTP media time at rVFC, relative to the first step' } : null,
      floor: { samples: floorSamples, run: floorRun, skipped: floorSkipped, srtpSkipped: 'path' in floorProgram ? floorProgram.srtpSkipped : null, what: 'bench/native/fanout-floor.c: CPU µs per packet of a C sendto loop to one loopback socket per viewer, bursts per viewer at the stream\'s rate, a reader draining on core 1; libSRTP = node-datachannel\'s own, called in its addon' },
      windowSeconds: windowS, reps, steps: results, derived,
    };
    const runs = [...(previous.runs ?? []), run].slice(-12);
    await writeFile(file, `${JSON.stringify({ latest: run, runs }, null, 2)}\n`);
    console.log(`wrote ${file}`);
  } finally {
    killAll();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error);
  killAll();
  process.exit(1);
});
