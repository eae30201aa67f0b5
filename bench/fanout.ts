/**
 * WebRTC fan-out capacity of the ingest (issue 5): how many WHEP viewers of a ~2.5 Mbps 720p30
 * H.264 stream one core of the ingest serves.
 *
 *   npx tsx bench/fanout.ts                 full ramp (~3 min)
 *   npx tsx bench/fanout.ts --quick         short ramp (~40 s)
 *   npx tsx bench/fanout.ts --steps=0,50,100 --window=3 --reps=3
 *   npx tsx bench/fanout.ts --profile=150   hold 150 viewers under `node --cpu-prof`, print where
 *                                           the ingest's time goes (bench/lib/fanout-profile.ts)
 *   npx tsx bench/fanout.ts --label=before  names the run in the results file
 *   npx tsx bench/fanout.ts --ingest-root=/tmp/onair-before   runs the ingest of another checkout
 *                                           (a `git worktree` of an older commit) for a before/after
 *
 * Processes: the ingest (`apps/ingest/src/main.ts`, temp data dir, ICE on 127.0.0.1) pinned to
 * core 0 with taskset; a synthetic publisher (bench/lib/fanout-publisher.ts: a pre-encoded clip
 * replayed over WHIP) and the load generator (bench/lib/fanout-viewers.ts: N werift WHEP viewers
 * that complete ICE/DTLS and count SRTP packets without decrypting) both pinned to core 1.
 *
 * Per step the viewers are ramped to N, then R windows of W seconds are measured: ingest CPU from
 * /proc/<pid>/stat (utime+stime deltas; independent of what else runs, except for cache and
 * frequency effects), packets and bytes out from the ingest's /metrics counters, packets the
 * viewers received vs expected from sequence numbers (loss). Medians over the windows are kept.
 * The ramp stops when the ingest's core passes 90 % or loss passes 2 %.
 *
 * Derived (least squares over all steps, baseline = the 0-viewer step in the same run):
 *   µs per forwarded packet = slope of ingest CPU-seconds per second vs packets out per second
 *   viewers per core at 2.5 Mbps = (1 core − baseline) / (µs per packet × packets/s of one
 *     2.5 Mbps viewer), also the same from the slope vs viewers
 *   packets/s per core, Mbps per core = 1 core / µs per packet, × mean packet size
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
import { summarizeProfile } from './lib/fanout-profile';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const TARGET_KBPS = 2500;
const CLK_TCK = 100;

const args = new Map(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k!, v ?? 'true'] as const; }));
const quick = args.has('quick');
const steps = (args.get('steps') ?? (quick ? '0,50,150,300' : '0,25,50,100,200,300,400,500,600')).split(',').map(Number);
const windowS = Number(args.get('window') ?? (quick ? 3 : 3));
const reps = Number(args.get('reps') ?? (quick ? 2 : 3));
const profileViewers = args.has('profile') ? Number(args.get('profile') === 'true' ? 150 : args.get('profile')) : undefined;
const label = args.get('label') ?? (profileViewers ? 'profile' : quick ? 'quick' : 'full');
/** Checkout whose apps/ingest runs (its node_modules may be a symlink to this one's). */
const ingestRoot = args.get('ingest-root') ?? ROOT;

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
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

/** Busy and total jiffies of one CPU from /proc/stat. */
function coreTicks(cpu: number): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `))!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3]! + v[4]!;
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[14 - 3]) + Number(fields[15 - 3]);
}

async function metrics(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(onair_ingest_\w+)(?:\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

function firstLine(child: ChildProcess): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => resolve(JSON.parse(line) as Record<string, unknown>));
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before it was ready`)));
  });
}

interface ViewerStats { viewers: number; received: number; expected: number; bytes: number; cpuMicros: number }

function ipc<T>(child: ChildProcess, message: object, reply: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (m: { cmd: string }) => {
      if (m.cmd !== reply) return;
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

/**
 * lossPct: packets the ingest sent that no viewer got (fan-out loss: 1 − delivered / sent);
 * e2eLossPct: sequence gaps at the viewers (includes packets lost before the ingest);
 * upstreamLossPct: packets the publisher sent that the ingest did not forward (1 − in / sent);
 * core0BusyPct: the whole core 0 (every process), to see contention from the rest of the machine.
 */
interface Window { cpuPct: number; pktsInPerS: number; pktsOutPerS: number; mbpsOut: number; deliveredPerS: number; lossPct: number; e2eLossPct: number; upstreamLossPct: number; loadgenCpuPct: number; core0BusyPct: number }
interface Step { viewers: number; connectFailures: number; rampMs: number; windows: Window[]; median: Window; usPerPacket: number | null; load1: number }

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
      env: { ...process.env, ONAIR_INGEST_PORT: String(port), ONAIR_DATA_DIR: dataDir, ONAIR_ADMIN_TOKEN: adminToken, ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    }));
    await pollUntil('ingest /healthz', async () => (await fetch(`${base}/healthz`)).ok, { timeoutMs: 30_000 });
    const created = await fetch(`${base}/api/streams`, { method: 'POST', headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'fanout' }) });
    if (created.status !== 201) throw new Error(`create stream: ${created.status} ${await created.text()}`);
    const stream = (await created.json()) as { streamKey: string };
    const whipUrl = `${base}/whip`;
    const whepUrl = `${base}/whep/fanout`;

    const publisher = track(spawn('taskset', ['-c', '1', NODE, '--import', 'tsx', 'bench/lib/fanout-publisher.ts', whipUrl, stream.streamKey, String(TARGET_KBPS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }));
    const pubInfo = (await firstLine(publisher)) as { packetsPerSecond: number; kbps: number };
    // The publisher prints {sent} on SIGUSR2: packets it handed to werift so far.
    let pubSent = 0;
    createInterface({ input: publisher.stdout! }).on('line', (line) => { const m = JSON.parse(line) as { sent?: number }; if (m.sent !== undefined) pubSent = m.sent; });
    const publisherSent = async () => { publisher.kill('SIGUSR2'); const before = pubSent; await pollUntil('publisher count', () => pubSent !== before, { timeoutMs: 2000, intervalMs: 5 }).catch(() => undefined); return pubSent; };
    console.log(`publisher: ${pubInfo.kbps.toFixed(0)} kbps, ${pubInfo.packetsPerSecond.toFixed(0)} packets/s (720p30 H.264 clip, replayed)`);
    const viewers = track(spawn('taskset', ['-c', '1', NODE, '--import', 'tsx', 'bench/lib/fanout-viewers.ts'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    await new Promise<void>((resolve) => viewers.once('message', () => resolve()));
    await pollUntil('stream live', async () => ((await metrics(base)).onair_ingest_live_streams ?? 0) >= 1, { timeoutMs: 15_000 });
    await sleep(1500);

    const ingestPid = ingest.pid!;
    let current = 0;
    const results: Step[] = [];
    const plan = profileViewers !== undefined ? [profileViewers] : steps;
    let profileWindow: { startUs: number; endUs: number } | undefined;
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
      let t0 = performance.now(), c0 = cpuTicks(ingestPid), k0 = coreTicks(0), m0 = await metrics(base), v0 = await ipc<ViewerStats>(viewers, { cmd: 'stats' }, 'stats'), p0 = await publisherSent();
      for (let r = 0; r < (profileViewers !== undefined ? Math.max(reps, 4) : reps); r += 1) {
        await sleep(windowS * 1000);
        const t1 = performance.now(), c1 = cpuTicks(ingestPid), k1 = coreTicks(0), m1 = await metrics(base), v1 = await ipc<ViewerStats>(viewers, { cmd: 'stats' }, 'stats'), p1 = await publisherSent();
        const s = (t1 - t0) / 1000;
        const d = (k: string) => (m1[k] ?? 0) - (m0[k] ?? 0);
        const expected = v1.expected - v0.expected;
        const received = v1.received - v0.received;
        windows.push({
          cpuPct: ((c1 - c0) / CLK_TCK / s) * 100,
          pktsInPerS: d('onair_ingest_packets_received_total') / s,
          pktsOutPerS: d('onair_ingest_packets_sent_total') / s,
          mbpsOut: (d('onair_ingest_bytes_sent_total') * 8) / s / 1e6,
          deliveredPerS: received / s,
          lossPct: d('onair_ingest_packets_sent_total') > 0 ? Math.max(0, (1 - received / d('onair_ingest_packets_sent_total')) * 100) : 0,
          e2eLossPct: expected > 0 ? Math.max(0, (1 - received / expected) * 100) : 0,
          upstreamLossPct: p1 > p0 ? Math.max(0, (1 - d('onair_ingest_packets_received_total') / (p1 - p0)) * 100) : 0,
          core0BusyPct: ((k1.busy - k0.busy) / Math.max(1, k1.total - k0.total)) * 100,
          loadgenCpuPct: ((v1.cpuMicros - v0.cpuMicros) / 1e6 / s) * 100,
        });
        t0 = t1; c0 = c1; k0 = k1; m0 = m1; v0 = v1; p0 = p1;
      }
      if (profileWindow) profileWindow.endUs = nowUs();
      const med = Object.fromEntries(Object.keys(windows[0]!).map((k) => [k, median(windows.map((w) => w[k as keyof Window]))])) as unknown as Window;
      const baseline = results[0]?.viewers === 0 ? results[0].median.cpuPct : undefined;
      const usPerPacket = baseline !== undefined && med.pktsOutPerS > 0 ? ((med.cpuPct - baseline) / 100 / med.pktsOutPerS) * 1e6 : null;
      const step: Step = { viewers: target, connectFailures, rampMs: Math.round(rampMs), windows, median: med, usPerPacket, load1: loadavg()[0]! };
      results.push(step);
      console.log(
        `N=${String(target).padStart(4)}  ingest CPU ${med.cpuPct.toFixed(1).padStart(5)} %  in ${med.pktsInPerS.toFixed(0).padStart(4)} pkt/s  out ${med.pktsOutPerS.toFixed(0).padStart(6)} pkt/s ${med.mbpsOut.toFixed(1).padStart(6)} Mbps  ` +
          `delivered ${med.deliveredPerS.toFixed(0).padStart(6)} pkt/s  loss ${med.lossPct.toFixed(2)} % (e2e ${med.e2eLossPct.toFixed(1)}, upstream ${med.upstreamLossPct.toFixed(1)})  µs/pkt ${usPerPacket?.toFixed(1) ?? '-'}  loadgen ${med.loadgenCpuPct.toFixed(0)} %  core0 ${med.core0BusyPct.toFixed(0)} %  (ramp ${(rampMs / 1000).toFixed(1)} s, load ${step.load1.toFixed(1)})`,
      );
      if (med.cpuPct > 90) { console.log('stop: ingest core above 90 %'); break; }
      if (med.lossPct > 2) { console.log(`stop: fan-out loss above 2 %${med.loadgenCpuPct > 85 ? ' (the load generator is saturated too: loss may be on its side)' : ''}`); break; }
      if (med.pktsInPerS === 0) { console.log('stop: the stream went offline (the ingest was starved long enough for its media timeout)'); break; }
      if (med.upstreamLossPct > 2) console.log(`  note: ${med.upstreamLossPct.toFixed(1)} % of the publisher's packets did not reach the ingest's router (core 0 busy ${med.core0BusyPct.toFixed(0)} % with other work: the ingest is descheduled and its socket buffer overflows)`);
    }

    viewers.send({ cmd: 'close' });
    await Promise.race([new Promise((r) => viewers.once('exit', r)), sleep(4000)]);
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
    const fit = (xs: number[], ys: number[]) => {
      const n = xs.length, mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
      const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0), sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
      const slope = sxy / sxx;
      return { slope, intercept: my - slope * mx };
    };
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
    const derived = {
      usPerForwardedPacket: usPerPacket,
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
    };
    console.log(
      `\nclean steps ${derived.cleanSteps.join(', ')}: µs per forwarded packet ${derived.usPerForwardedPacket.toFixed(1)} (median of steps ${derived.usPerForwardedPacketMedianOfSteps.toFixed(1)}), baseline ${derived.baselineCpuPct.toFixed(1)} %\n` +
        `per core: ${derived.packetsPerSecondPerCore.toFixed(0)} packets/s, ${derived.mbpsPerCore.toFixed(0)} Mbps, ${derived.viewersPerCoreAt2500kbps.toFixed(0)} viewers at 2.5 Mbps (${derived.viewersPerCoreFromViewerSlope.toFixed(0)} from the per-viewer slope; goal ≥ 300)`,
    );
    const outDir = join(ROOT, 'bench/results');
    await mkdir(outDir, { recursive: true });
    const file = join(outDir, 'fanout.json');
    const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { runs?: unknown[] }) : {};
    const werift = JSON.parse(readFileSync(join(ROOT, 'node_modules/werift/package.json'), 'utf8')) as { version: string };
    const nodeVersion = await new Promise<string>((resolve) => { const c = spawn(NODE, ['--version']); let o = ''; c.stdout.on('data', (d) => (o += d)); c.on('exit', () => resolve(o.trim())); });
    const commit = await new Promise<string>((resolve) => { const c = spawn('git', ['rev-parse', '--short', 'HEAD'], { cwd: ingestRoot }); let o = ''; c.stdout.on('data', (d) => (o += d)); c.on('exit', () => resolve(o.trim())); });
    const run = {
      when: new Date().toISOString(), label, commit, ingestRoot, quick,
      machine: { cores: cpus().length, model: cpus()[0]?.model, loadavg: loadavg(), node: nodeVersion, werift: werift.version },
      stream: { kbps: pubInfo.kbps, packetsPerSecond: pubInfo.packetsPerSecond, targetKbps: TARGET_KBPS, pinning: 'ingest core 0; publisher + viewers core 1' },
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
