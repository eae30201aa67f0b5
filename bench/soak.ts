/**
 * Soak (issue 10): the real services under steady churn for a long time, watching for what only
 * time shows — memory, file descriptors or event-loop delay that creep up, errors that come once
 * in a thousand joins.
 *
 *   npx tsx bench/soak.ts            10 minutes
 *   npx tsx bench/soak.ts --quick    90 s (a smoke run; too short to see a slow leak)
 *   --seconds=N  --whep=N (viewers at a time)  --hls=N (LL-HLS clients at a time)  --no-web
 *
 * Running: ingest, transcoder and site as `npm start` runs them (test/support/stack.ts), one
 * publisher (bench/lib/fanout-publisher.ts: a pre-encoded 720p30 clip replayed over WHIP, so the
 * publisher costs no encoder), the default ladder transcoding it, and two crowds that never
 * settle: WHEP viewers (werift, bench/lib/soak-whep-viewers.ts) joining through the site, each
 * staying a few seconds and leaving with DELETE or vanishing, and LL-HLS clients
 * (bench/lib/soak-hls-clients.ts) doing blocking playlist reloads and part requests through the
 * site's /hls proxy, each leaving mid-request.
 *
 * Every few seconds each service is sampled (bench/lib/soak-sampler.ts): ingest and transcoder
 * from their /metrics (RSS, heap, open fds, event-loop delay p99/max since the last read), the
 * site from /proc (RSS, fds) and a diagnostic report it writes on SIGUSR2 (heap; every service
 * runs with the report options, only the site is signalled). After the churn stops, the ingest must let go
 * of every viewer session (vanished ones included) and come back to its descriptor count from
 * before the churn.
 *
 * Fails (exit 1) on growth beyond noise (bench/lib/soak-analysis.ts: first third against last
 * third after the warm-up), on any error — a viewer that did not connect or got no video, an HLS
 * answer other than 2xx, a service or the publisher gone, the transcode restarted — and on
 * sessions or descriptors the ingest kept after the drain.
 * Writes bench/results/soak.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pollUntil } from '../test/support/poll';
import { startStack, type Stack } from '../test/support/stack';
import { DEFAULT_LIMITS, judgeService, type GrowthLimits, type ServiceVerdict, type SoakSample } from './lib/soak-analysis';
import { HlsChurn } from './lib/soak-hls-clients';
import { reportNodeOptions, sampleByReport, sampleMetricsEndpoint } from './lib/soak-sampler';
import { WhepChurn } from './lib/soak-whep-viewers';
import { distribution, loadAverage, machineRecord } from './lib/stats';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Map(process.argv.slice(2).map((a) => {
  const [key, value] = a.replace(/^--/, '').split('=');
  return [key!, value ?? 'true'] as const;
}));
const quick = args.has('quick');
const SECONDS = Number(args.get('seconds') ?? (quick ? 90 : 600));
const WHEP_VIEWERS = Number(args.get('whep') ?? (quick ? 6 : 10));
const HLS_CLIENTS = Number(args.get('hls') ?? (quick ? 6 : 10));
const WITH_WEB = !args.has('no-web');
const SAMPLE_EVERY_S = quick ? 3 : 10;
const LIMITS: GrowthLimits = { ...DEFAULT_LIMITS, warmupS: quick ? 30 : 60 };
const PUBLISHER_KBPS = 1500;
const STREAM = 'soak';
type Service = 'ingest' | 'transcoder' | 'web';
const SERVICES: Service[] = WITH_WEB ? ['ingest', 'transcoder', 'web'] : ['ingest', 'transcoder'];

const started = Date.now();
const log = (line: string) => console.log(`[soak ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
/** Where the site writes the diagnostic reports its heap is read from. */
const REPORT_DIR = mkdtempSync(join(tmpdir(), 'onair-soak-reports-'));
const MiB = (bytes: number | undefined) => (bytes === undefined ? '—' : `${(bytes / 1024 / 1024).toFixed(0)}`);

interface JobRow { stream: string; state: string; restarts: number; startedAt: string | null }

async function job(stack: Stack): Promise<JobRow | undefined> {
  const res = await fetch(`${stack.transcoderUrl}/api/jobs`, { headers: { Authorization: `Bearer ${stack.adminToken}` }, signal: AbortSignal.timeout(5_000) });
  return ((await res.json()) as { jobs: JobRow[] }).jobs.find((j) => j.stream === STREAM);
}

/** The multivariant playlist's renditions once they have not changed for 5 s (the job may re-plan once it knows the size). */
async function stableLadder(stack: Stack): Promise<string> {
  let last = '';
  let since = Date.now();
  return pollUntil('a stable ladder', async () => {
    const res = await fetch(`${stack.transcoderUrl}/hls/${STREAM}/index.m3u8`, { signal: AbortSignal.timeout(5_000) });
    const shape = res.ok ? [...(await res.text()).matchAll(/RESOLUTION=(\d+x\d+)/g)].map((m) => m[1]).join(',') : '';
    if (shape !== last) {
      last = shape;
      since = Date.now();
      return undefined;
    }
    return shape && Date.now() - since > 5_000 ? shape : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
}

function startPublisher(stack: Stack, streamKey: string): Promise<{ child: ChildProcess; info: Record<string, unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/fanout-publisher.ts'), `${stack.ingestUrl}/whip`, streamKey, String(PUBLISHER_KBPS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, info: JSON.parse(line) as Record<string, unknown> }));
    child.once('exit', (code) => reject(new Error(`the publisher exited (${code}) before it was live`)));
  });
}

async function sample(stack: Stack, service: Service, t: number): Promise<SoakSample> {
  if (service === 'ingest') return sampleMetricsEndpoint(t, `${stack.ingestUrl}/metrics`);
  if (service === 'transcoder') return sampleMetricsEndpoint(t, `${stack.transcoderUrl}/metrics`);
  const pid = stack.pid(service);
  if (pid === undefined) throw new Error(`${service} is not running`);
  return sampleByReport(t, pid, REPORT_DIR);
}

async function main(): Promise<void> {
  const machine = machineRecord();
  log(`${SECONDS} s, ${WHEP_VIEWERS} WHEP viewers and ${HLS_CLIENTS} LL-HLS clients at a time${WITH_WEB ? ' through the site' : ''}; load ${machine.loadBefore.join(' ')}`);
  const nodeOptions = [process.env.NODE_OPTIONS, reportNodeOptions(REPORT_DIR)].filter(Boolean).join(' ');
  const stack = await startStack({ transcoder: true, web: WITH_WEB, env: { NODE_OPTIONS: nodeOptions } });
  let publisher: ChildProcess | undefined;
  const failures: string[] = [];
  try {
    const stream = await stack.createStream(STREAM);
    const pub = await startPublisher(stack, stream.streamKey);
    publisher = pub.child;
    log(`publisher live: ${JSON.stringify(pub.info)}`);
    const ladder = await stableLadder(stack);
    const before = await pollUntil('the transcode running', async () => ((await job(stack))?.state === 'running' ? job(stack) : undefined), { timeoutMs: 30_000 });
    log(`transcoding ${ladder}; sampling every ${SAMPLE_EVERY_S} s, warm-up ${LIMITS.warmupS} s`);

    const baseline = await sample(stack, 'ingest', 0);
    const origin = WITH_WEB ? stack.webUrl : stack.transcoderUrl;
    const whep = new WhepChurn({ whepUrl: `${WITH_WEB ? stack.webUrl : stack.ingestUrl}/whep/${STREAM}`, size: WHEP_VIEWERS, lifetimeMs: [3_000, 12_000] });
    const hls = new HlsChurn({ multivariantUrl: `${origin}/hls/${STREAM}/index.m3u8`, size: HLS_CLIENTS, lifetimeMs: [5_000, 20_000] });
    const samples: Record<Service, SoakSample[]> = { ingest: [], transcoder: [], web: [] };
    const churnStart = Date.now();
    whep.start();
    hls.start();
    let nextReport = 0;
    while (Date.now() - churnStart < SECONDS * 1000) {
      const t = (Date.now() - churnStart) / 1000;
      for (const service of SERVICES) {
        try {
          samples[service].push(await sample(stack, service, Math.round(t * 10) / 10));
        } catch (error) {
          failures.push(`${service} could not be sampled at ${t.toFixed(0)} s: ${String(error)}`);
        }
      }
      if (publisher.exitCode !== null) failures.push('the publisher exited');
      if (t >= nextReport) {
        nextReport += quick ? 15 : 60;
        const row = SERVICES.map((s) => {
          const last = samples[s].at(-1);
          return `${s} ${MiB(last?.rssBytes)} MiB${last?.heapUsedBytes ? ` (heap ${MiB(last.heapUsedBytes)})` : ''} ${last?.openFds ?? '—'} fds${last?.eldP99Ms !== undefined ? ` ELD p99 ${last.eldP99Ms} ms` : ''}`;
        });
        log(`${row.join(' | ')} | WHEP ${whep.stats.joined} joined ${whep.stats.failed} failed | HLS ${hls.stats.clients} clients ${hls.stats.parts} parts ${hls.stats.errors} errors`);
      }
      if (failures.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, churnStart + (t + SAMPLE_EVERY_S) * 1000 - Date.now())));
    }
    const churnSeconds = (Date.now() - churnStart) / 1000;
    await Promise.all([whep.stop(), hls.stop()]);

    // Drain: every viewer gone, vanished ones included, and the ingest back to its descriptors.
    const drainStart = Date.now();
    const drained = await pollUntil('the ingest to drop every WHEP session', async () => {
      const res = await stack.adminFetch(`/api/streams/${STREAM}`);
      return ((await res.json()) as { state: { viewers: { whep: number } } }).state.viewers.whep === 0;
    }, { timeoutMs: 90_000, intervalMs: 500 }).then(() => Date.now() - drainStart, () => null);
    const afterDrain = await pollUntil('the ingest back to its descriptors', async () => {
      const now = await sample(stack, 'ingest', churnSeconds);
      return (now.openFds ?? Infinity) <= (baseline.openFds ?? 0) + 2 ? now : undefined;
    }, { timeoutMs: 15_000, intervalMs: 500 }).catch(() => sample(stack, 'ingest', churnSeconds));
    const after = await job(stack);

    const verdicts = new Map<Service, ServiceVerdict>(SERVICES.map((s) => [s, judgeService(s, samples[s], LIMITS)]));
    for (const verdict of verdicts.values()) failures.push(...verdict.failures);
    if (whep.stats.failed) failures.push(`${whep.stats.failed} WHEP viewers failed to join: ${whep.stats.errors.slice(0, 3).join('; ')}`);
    if (whep.stats.starved) failures.push(`${whep.stats.starved} WHEP viewers got no video`);
    if (hls.stats.errors) failures.push(`${hls.stats.errors} LL-HLS errors: ${hls.stats.messages.slice(0, 3).join('; ')}`);
    if (drained === null) failures.push('the ingest still held WHEP sessions 90 s after the churn stopped');
    if ((afterDrain.openFds ?? 0) > (baseline.openFds ?? 0) + 2) failures.push(`the ingest kept ${afterDrain.openFds! - baseline.openFds!} file descriptors after the drain (${baseline.openFds} → ${afterDrain.openFds})`);
    if (after?.state !== 'running') failures.push(`the transcode is ${after?.state ?? 'gone'} at the end`);
    else if (after.restarts !== before.restarts || after.startedAt !== before.startedAt) failures.push(`the transcode restarted during the soak (${after.restarts - before.restarts} restarts)`);
    for (const service of SERVICES) if (stack.pid(service) === undefined) failures.push(`${service} is not running at the end`);

    const table = SERVICES.map((s) => {
      const v = verdicts.get(s)!;
      return `  ${s.padEnd(10)} RSS ${v.rssMiB ? `${v.rssMiB.first} → ${v.rssMiB.last} MiB (${v.rssMiB.growth >= 0 ? '+' : ''}${v.rssMiB.growth}, ${v.rssMiB.slopeMiBPerMin} MiB/min)` : '—'}` +
        `  heap troughs ${v.heapMiB ? `${v.heapMiB.first} → ${v.heapMiB.last} MiB` : '—'}  fds ${v.fds ? `${v.fds.first} → ${v.fds.last}` : '—'}` +
        `  ELD p99 ${v.eldP99Ms ? `${v.eldP99Ms.first} → ${v.eldP99Ms.last} ms, max ${v.eldMaxMs} ms` : '—'}`;
    });
    console.log(`\nsoak: ${churnSeconds.toFixed(0)} s of churn (first third after the ${LIMITS.warmupS} s warm-up → last third)\n${table.join('\n')}`);
    console.log(`  WHEP: ${whep.stats.joined} joins (${whep.stats.vanished} vanished without DELETE), ${whep.stats.failed} failed, ${whep.stats.starved} without video, connect p50 ${distribution(whep.stats.connectMs).p50} ms; LL-HLS: ${hls.stats.clients} clients, ${hls.stats.playlists} playlists, ${hls.stats.parts} parts, ${hls.stats.errors} errors`);
    console.log(`  drain: WHEP sessions gone ${drained === null ? 'never' : `after ${(drained / 1000).toFixed(1)} s`}; ingest fds ${baseline.openFds} before the churn, ${afterDrain.openFds} after`);
    console.log(failures.length ? `FAILED:\n  ${failures.join('\n  ')}` : 'passed: no growth beyond noise, no error');

    const result = {
      date: new Date().toISOString(),
      config: { quick, seconds: SECONDS, churnSeconds: Math.round(churnSeconds), whepViewers: WHEP_VIEWERS, hlsClients: HLS_CLIENTS, throughSite: WITH_WEB, sampleEveryS: SAMPLE_EVERY_S, limits: LIMITS, publisher: pub.info, ladder },
      machine: { ...machine, loadAfter: loadAverage() },
      services: Object.fromEntries(SERVICES.map((s) => [s, { verdict: verdicts.get(s), samples: samples[s] }])),
      whep: { ...whep.stats, connectMs: distribution(whep.stats.connectMs) },
      hls: hls.stats,
      drain: { whepSessionsGoneAfterMs: drained, ingestFdsBefore: baseline.openFds, ingestFdsAfter: afterDrain.openFds },
      transcode: { before, after },
      failures,
      passed: failures.length === 0,
    };
    const file = join(ROOT, 'bench/results/soak.json');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${file}`);
  } finally {
    publisher?.kill('SIGTERM');
    await stack.close();
    rmSync(REPORT_DIR, { recursive: true, force: true });
  }
  if (failures.length) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
