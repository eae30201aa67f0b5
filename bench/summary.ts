/**
 * Folds bench/results/*.json into bench/results/summary.md (figures against goals and published
 * anchors, with the breakdowns) and refreshes README.md's Performance table between
 * `<!-- bench:start -->` and `<!-- bench:end -->`. Missing result files are shown as not measured.
 * Appends the run's headline figures to bench/results/history/<cpu model>.jsonl (once per run)
 * and shows that model's recent runs: figures only compare on the same machine model; ratios to
 * the machine's own floor (measured in the fan-out run) compare across them.
 *
 *   npx tsx bench/summary.ts
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { appendHistory, historySlug, readHistory, type HistoryRecord } from './lib/bench-history';

const root = resolve(import.meta.dirname, '..');
const resultsDir = resolve(root, 'bench/results');
// Result files are JSON written by the bench scripts; read loosely, every field may be missing.
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function load(name: string): Json | undefined {
  const path = resolve(resultsDir, `${name}.json`);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    console.error(`summary: ${name}.json is not valid JSON (${String(error)})`);
    return undefined;
  }
}

const latency = load('latency');
const firstFrame = load('first-frame');
const transcode = load('transcode');
const fanout = load('fanout');
const soak = load('soak');
const cluster = load('cluster');
const edge = load('edge');
const hlsLoad = load('hls-load');
const renditions = load('renditions');

const ms = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`) : '—');
const x = (v: unknown, unit = '') => (typeof v === 'number' && Number.isFinite(v) ? `${v}${unit}` : '—');

interface Row {
  metric: string;
  p50: string;
  p95: string;
  max?: string;
  goal: string;
  met?: boolean;
  anchor: string;
  readme?: boolean;
}

function distRow(metric: string, d: Json, goal: string, goalMs: number | undefined, anchor: string, readme = true): Row {
  const p50 = d?.p50;
  return {
    metric: d?.n !== undefined ? `${metric} (n=${d.n})` : metric,
    p50: ms(p50),
    p95: ms(d?.p95),
    max: ms(d?.max),
    goal,
    met: goalMs === undefined || typeof p50 !== 'number' || !Number.isFinite(p50) ? undefined : p50 <= goalMs,
    anchor,
    readme,
  };
}

/** Finds the first numeric field whose key matches `pattern` anywhere in `value` (depth-first). */
function findNumber(value: Json, pattern: RegExp): number | undefined {
  if (!value || typeof value !== 'object') return undefined;
  for (const [key, v] of Object.entries(value)) if (pattern.test(key) && typeof v === 'number') return v;
  for (const v of Object.values(value)) {
    const found = findNumber(v, pattern);
    if (found !== undefined) return found;
  }
  return undefined;
}

const rows: Row[] = [];
const audioJitter = latency?.whep?.viewer?.audio?.jitterBufferMs;
rows.push(distRow('WHEP glass-to-glass, with audio', latency?.whep?.glassToGlass, '≤ 50 ms p50', 50, `SRS 80 ms, Broadcast Box ~120 ms${typeof audioJitter === 'number' ? `; audio jitter buffer ${audioJitter} ms` : ''}`));
rows.push(distRow('WHEP glass-to-glass, viewer without audio (no lip sync)', latency?.whepVideoOnly?.glassToGlass, 'diagnostic', undefined, '—', false));
const pinned = (w: Json) => (w?.layer ? ` ${w.layer.encodingId} (${w.layer.width}×${w.layer.height})` : '');
rows.push(distRow(`WHEP glass-to-glass, transcoded rendition${pinned(latency?.whepRendition)}`, latency?.whepRendition?.glassToGlass, '≤ 200 ms p50', 200, `issue 12; the source, same run: ${ms(latency?.whep?.glassToGlass?.p50)} p50${typeof latency?.whepRendition?.lipSync?.offsetMs === 'number' ? `; lip sync (video − audio, against the source's) ${ms(latency.whepRendition.lipSync.offsetMs)}` : ''}`));
rows.push(distRow(`WHEP glass-to-glass, simulcast layer${pinned(latency?.whepSimulcast)}`, latency?.whepSimulcast?.glassToGlass, '≤ 50 ms p50', 50, 'issue 12; no transcoding on the way'));
rows.push(distRow('LL-HLS glass-to-glass (site player, multivariant)', latency?.llhls?.glassToGlass, '≤ 1.0 s p50', 1000, 'Apple 1–2 s target, OvenMediaEngine 2–5 s'));
rows.push(distRow('LL-HLS glass-to-glass (hls.js defaults + lowLatencyMode, multivariant)', latency?.llhlsDefaults?.glassToGlass, 'diagnostic', undefined, 'Apple 1–2 s target, OvenMediaEngine 2–5 s', false));
for (const [id, r] of Object.entries<Json>(latency?.llhlsRenditions ?? {})) {
  rows.push(distRow(`LL-HLS glass-to-glass, rendition ${id}`, r?.glassToGlass, '≤ 1.0 s p50', 1000, 'the site player on this rendition alone', false));
}
rows.push(distRow('HLS glass-to-glass (hls.js, lowLatencyMode off)', latency?.hls?.glassToGlass, '—', undefined, 'regular HLS 6–30 s', true));
/**
 * A WHEP start-up's two figures: from the POST leaving, and from the player's start (the browser
 * making its offer first). Results written before 2026-12-03 have no `startToFirstFrame`: their
 * `postToFirstFrame` was timed from the player's start.
 */
function startUp(whep: Json): { post: Json; start: Json } {
  return whep?.startToFirstFrame ? { post: whep.postToFirstFrame, start: whep.startToFirstFrame } : { post: undefined, start: whep?.postToFirstFrame };
}
const whepStartUp = startUp(firstFrame?.whep);
const wtStartUp = startUp(firstFrame?.webTransport?.whep);
const ff = whepStartUp.post;
rows.push({ ...distRow('WHEP time to first frame (POST → frame)', ff, '≤ 150 ms p50, ≤ 300 ms p95', 150, 'werift here earlier: 300–470 ms'), met: typeof ff?.p50 === 'number' && typeof ff?.p95 === 'number' ? ff.p50 <= 150 && ff.p95 <= 300 : undefined });
rows.push(distRow('WHEP time to first frame (player start → frame: the browser\'s offer included)', whepStartUp.start, 'diagnostic', undefined, 'new RTCPeerConnection → offer → POST → ICE → DTLS → keyframe', false));
rows.push(distRow('watch page opened → first frame (WHEP, navigation → frame)', firstFrame?.watchPage?.navigationToFirstFrame, '≤ 1 s p50', 1000, 'the site\'s /watch page as a viewer opens it'));
rows.push(distRow('LL-HLS page load → first frame', firstFrame?.llhls?.pageLoadToFirstFrame, '—', undefined, '—'));
rows.push(distRow('publish (WHIP 201) → first playable HLS part', firstFrame?.publishToFirstSegment?.answerToFirstPlayable, '≤ 1.2 s p50', 1200, 'ffmpeg here: first segment 1.4–2 s after spawn'));
// The same page publishing over WebTransport (Media over QUIC), in the same run.
const wt = latency?.webTransport;
rows.push(distRow('WebTransport publish → WHEP glass-to-glass', wt?.whep?.glassToGlass, '≤ 50 ms p50', 50, `WHIP publisher, same run: ${ms(latency?.whep?.glassToGlass?.p50)} p50`));
rows.push(distRow('WebTransport publish → WHEP first frame (POST → frame)', wtStartUp.post, '≤ 300 ms p50', 300, `WHIP publisher, same run: ${ms(whepStartUp.post?.p50)} p50; from the player's start ${ms(wtStartUp.start?.p50)} p50 (WHIP: ${ms(whepStartUp.start?.p50)})`));
rows.push(distRow('publish (WebTransport session up) → first playable HLS part', firstFrame?.webTransport?.publishToFirstSegment?.answerToFirstPlayable, '≤ 1.2 s p50', 1200, `WHIP, same run: ${ms(firstFrame?.publishToFirstSegment?.answerToFirstPlayable?.p50)} p50`));
if (wt?.ingestCost) {
  rows.push({
    metric: 'ingest CPU per ingested Mbps, WebTransport publisher (no viewers)',
    p50: `${wt.ingestCost.cpuPercentPerMbps} % of a core`,
    p95: `${wt.ingestCost.cpuPercent} % at ${wt.ingestCost.ingestMbps} Mbps`,
    goal: '—',
    anchor: wt.whipIngestCost ? `WHIP publisher, same run: ${wt.whipIngestCost.cpuPercentPerMbps} % per Mbps (${wt.whipIngestCost.cpuPercent} % at ${wt.whipIngestCost.ingestMbps} Mbps)` : '—',
    readme: true,
  });
}

const ladder = (transcode?.offline ?? []).find((r: Json) => /default ladder \(veryfast\)/.test(r?.name ?? ''));
const ladderSpeed = ladder?.speedX;
rows.push({
  metric: 'default ladder speed (720/480/360p veryfast, offline)',
  p50: ladderSpeed !== undefined ? `${ladderSpeed}× realtime` : '—',
  p95: ladder ? `${ladder.cpuSecondsPerMediaSecond} CPU s / media s` : '—',
  goal: '≥ 3× realtime',
  met: typeof ladderSpeed === 'number' ? ladderSpeed >= 3 : undefined,
  anchor: 'FIELD-NOTES: ~3× veryfast on an idle 2-core box',
  readme: true,
});
const viewersPerCoreRaw = findNumber(fanout?.latest ?? fanout, /^viewersPerCore/i);
const viewersPerCore = viewersPerCoreRaw === undefined ? undefined : Math.round(viewersPerCoreRaw);
// The ingest's cost per packet against this machine's own floor (bench/lib/fanout-floor.ts): the
// figure that means the same on every machine.
const fd = (fanout?.latest ?? fanout)?.derived ?? {};
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const round1 = (v: number) => Math.round(v * 10) / 10;
const floorViewers = num(fd.floorSendtoUs) && num(fanout?.latest?.stream?.packetsPerSecond) ? Math.round(1e6 / fd.floorSendtoUs / ((fanout.latest.stream.packetsPerSecond * 2500) / fanout.latest.stream.kbps)) : undefined;
rows.push({
  metric: 'WHEP ingest CPU per forwarded packet (against this machine\'s sendto floor, same run)',
  p50: num(fd.usPerForwardedPacket) ? `${round1(fd.usPerForwardedPacket)} µs` : '—',
  p95: num(fd.usPerForwardedPacketOfFloor) ? `${fd.usPerForwardedPacketOfFloor.toFixed(2)} × floor (sendto ${fd.floorSendtoUs.toFixed(2)} µs${num(fd.floorSrtpSendtoUs) ? `; + libSRTP ${fd.floorSrtpSendtoUs.toFixed(2)} µs, ${fd.usPerForwardedPacketOfSrtpFloor.toFixed(2)} ×` : ''})` : 'floor not measured',
  goal: '≤ 1.5 × floor',
  met: num(fd.usPerForwardedPacketOfFloor) ? fd.usPerForwardedPacketOfFloor <= 1.5 : undefined,
  anchor: 'bench/native/fanout-floor.c: a C sendto loop, same packet size, rate and socket count',
  readme: true,
});
rows.push({
  metric: 'WHEP viewers per core at 2.5 Mbps',
  p50: viewersPerCore !== undefined ? `${viewersPerCore}` : '—',
  p95: floorViewers !== undefined ? `the floor allows ${floorViewers}` : '',
  goal: '≥ 300',
  met: viewersPerCore === undefined ? undefined : viewersPerCore >= 300,
  anchor: 'mediasoup ~500/core, LiveKit ~190/core, SRS 1000/core at 600 kbps',
  readme: true,
});
// The fan-out canary: one Chromium viewer watching the ramp; its latency rise over the first step.
const fanoutRun = fanout?.latest ?? fanout;
const canaryTop = fanoutRun?.derived?.canaryAtHighestStep;
const rise = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${Math.round(v)} ms` : '—');
rows.push({
  metric: canaryTop ? `WHEP canary viewer (Chromium) latency rise at ${canaryTop.viewers} viewers, ${canaryTop.freezes} freezes; held up to ${fanoutRun.derived.canaryHeldUpTo ?? 'no step'}` : 'WHEP canary viewer (Chromium) latency rise at the top fan-out step',
  p50: rise(canaryTop?.riseP50),
  p95: rise(canaryTop?.riseP95),
  goal: `≤ ${fanoutRun?.canary?.riseThresholdMs ?? 50} ms, no freeze`,
  met: canaryTop ? canaryTop.freezes === 0 && (canaryTop.riseP50 ?? 0) <= (fanoutRun?.canary?.riseThresholdMs ?? 50) : undefined,
  anchor: 'issue 5: the ramp stops there; its decode shares core 1 with the load generator',
  readme: true,
});

// Renditions per viewer over a shaped link (bench/renditions.ts): the move down and its freeze.
if (renditions) {
  rows.push(distRow('renditions: 3 → 0.6 Mbit/s → the viewer on the rendition that fits', renditions.dropToFittingMs, '≤ 2 s', 2_000, 'issue 12', true));
  rows.push(distRow('renditions: longest freeze from the drop to 4 s on it', renditions.longestFreezeMs, '≤ 200 ms', 200, 'issue 12: no frame gap > 200 ms during the switch', true));
  rows.push(distRow('renditions: 0.6 → 3 Mbit/s → back on the source', renditions.liftToSourceMs, '—', undefined, 'trials up one rung at a time', false));
}

// Cluster faults (bench/cluster.ts): how long a stream's HLS is without a transcoder, and Redis restarts.
if (cluster) {
  const f = cluster.transcoderFailover ?? {};
  const r = cluster.redisRestart ?? {};
  rows.push(distRow('cluster: transcoder SIGKILL → the other serves the playlist', f.servingMs, '≤ 10 s', 10_000, 'issue 13: another takes the job within ~10 s; lease TTL 5 s', true));
  rows.push(distRow('cluster: transcoder SIGKILL → the other holds the job lease', f.leaseMovedMs, '—', undefined, 'lease TTL 5 s, renewed every 1 s', false));
  rows.push(distRow(`cluster: Redis SIGKILL + restart (down p50 ${ms(r.downMs?.p50)}) → job lease renewed by its holder`, r.jobLeaseRenewedMs, '≤ 1 s', 1_000, 'reconnect backoff 50 ms doubling to 1 s', true));
  rows.push(distRow('cluster: Redis back → admin API lists every stream', r.adminApiMs, '—', undefined, '—', false));
  rows.push(distRow('cluster: Redis back → next LL-HLS part served', r.nextHlsPartMs, '—', undefined, 'HLS never waits for Redis', false));
}
// Edge fan-out (bench/edge.ts): two edges pulling from one origin against the origin alone, one run.
if (edge) {
  const d = edge.derived ?? {};
  const quickNote = edge.quick ? ' (--quick)' : '';
  const round = (v: unknown, digits = 0) => (num(v) ? (Math.round(v * 10 ** digits) / 10 ** digits).toString() : '—');
  // One run on a shared machine is one draw: the runs the results file keeps give the spread.
  const ratios: number[] = (edge.runs ?? []).map((r: Json) => r?.derived?.edgeOfSingleNode).filter(num);
  const ratioRange = ratios.length > 1 ? `${Math.round(Math.min(...ratios) * 100)}–${Math.round(Math.max(...ratios) * 100)} %` : undefined;
  rows.push({
    metric: `edge fan-out: viewers per core on an edge / on one node (${round(d.edge?.viewersPerCore)} / ${round(d.singleNode?.viewersPerCore)}${ratioRange ? `; ${ratioRange} over the ${edge.runs.length} runs kept` : ''})${quickNote}`,
    p50: num(d.edgeOfSingleNode) ? `${Math.round(d.edgeOfSingleNode * 100)} %` : '—',
    p95: '',
    goal: '≥ 90 %',
    met: num(d.edgeOfSingleNode) ? d.edgeOfSingleNode >= 0.9 : undefined,
    anchor: `issue 13; ingests pinned to core 0, load on core 1, load ${edge.machine?.loadBefore?.[0] ?? '?'} → ${edge.machine?.loadAfter?.[0] ?? '?'}`,
    readme: true,
  });
  rows.push({
    metric: `edge fan-out: the origin's cost per edge (one pull: ${round(d.originStreamsPerEdge, 2)} × the stream sent)${quickNote}`,
    p50: num(d.originCpuPctPerEdge) ? `${round(d.originCpuPctPerEdge, 1)} % of a core` : '—',
    p95: '',
    goal: '≈ one viewer, flat in the edges\' audience',
    anchor: `origin CPU against edge viewers: ${round(d.originCpuPctPerEdgeViewer, 4)} % per viewer`,
    readme: true,
  });
  rows.push({ ...distRow(`edge fan-out: latency an edge hop adds (probe viewers, same packet)${quickNote}`, { p50: d.hopP50Ms, p95: d.hopP95Ms }, '≤ 5 ms p50', 5, `origin viewer vs edge viewer, one process, matched by payload; median over the steps; with no other viewer p50 ${round(d.hopAtRestMs?.p50, 1)} ms`), p50: num(d.hopP50Ms) ? `${round(d.hopP50Ms, 1)} ms` : '—', p95: num(d.hopP95Ms) ? `${round(d.hopP95Ms, 1)} ms` : '—' });
}
// HLS origin load (bench/hls-load.ts): LL-HLS clients held on one transcoder, and through nginx.
if (hlsLoad) {
  const d = hlsLoad.derived ?? {};
  const quickNote = hlsLoad.quick ? ' (--quick)' : '';
  const top = (r: Json) => (r?.steps ?? []).filter((s: Json) => s.keptUp ?? s.held).at(-1) ?? r?.steps?.[0];
  const o = top(hlsLoad.origin), c = top(hlsLoad.cache);
  const load = `load ${hlsLoad.machine?.loadBefore?.[0] ?? '?'} → ${hlsLoad.machine?.loadAfter?.[0] ?? '?'}`;
  rows.push({
    metric: `LL-HLS clients held by one transcoder (≤ 1 core, p95 added delay ≤ 50 ms; kept up, delay aside: ${d.originKeptUpClients ?? '—'}, at which ${o ? `${Math.round(o.requestsPerS)} req/s, ${Math.round(o.originCpuPct)} % CPU, delay p50 ${o.addedDelayMs?.p50} / p95 ${o.addedDelayMs?.p95} ms` : '—'})${quickNote}`,
    p50: num(d.originHeldClients) ? String(d.originHeldClients) : '—',
    p95: '',
    goal: '≥ 10 000',
    met: num(d.originHeldClients) ? d.originHeldClients >= 10_000 : undefined,
    anchor: `stopped: ${d.originStop ?? '?'}; ${load}`,
    readme: true,
  });
  rows.push({
    metric: `LL-HLS clients held through nginx proxy_cache (kept up: ${d.cacheKeptUpClients ?? '—'}; origin saw ${num(d.cacheOriginShare) ? `${(d.cacheOriginShare * 100).toFixed(2)} %` : '—'} of the requests${c ? `; at ${c.clients}: delay p50 ${c.addedDelayMs?.p50} / p95 ${c.addedDelayMs?.p95} ms, nginx ${Math.round(c.proxyCpuPct ?? 0)} % CPU` : ''})${quickNote}`,
    p50: num(d.cacheHeldClients) ? String(d.cacheHeldClients) : '—',
    p95: '',
    goal: '≥ 10 000',
    met: num(d.cacheHeldClients) ? d.cacheHeldClients >= 10_000 : undefined,
    anchor: `stopped: ${d.cacheStop ?? '?'}; nginx's lock waiters poll every 500 ms (ngx_http_file_cache.c)`,
    readme: true,
  });
  const n = top(hlsLoad.cacheNoLock);
  if (hlsLoad.cacheNoLock) rows.push({
    metric: `LL-HLS clients held through nginx, proxy_cache_lock off (kept up: ${d.cacheNoLockKeptUpClients ?? '—'}; origin saw ${num(d.cacheNoLockOriginShare) ? `${(d.cacheNoLockOriginShare * 100).toFixed(1)} %` : '—'} of the requests${n ? `; at ${n.clients}: delay p50 ${n.addedDelayMs?.p50} / p95 ${n.addedDelayMs?.p95} ms, nginx ${Math.round(n.proxyCpuPct ?? 0)} %, origin ${Math.round(n.originCpuPct)} % CPU` : ''})${quickNote}`,
    p50: num(d.cacheNoLockHeldClients) ? String(d.cacheNoLockHeldClients) : '—',
    p95: '',
    goal: '≥ 10 000',
    met: num(d.cacheNoLockHeldClients) ? d.cacheNoLockHeldClients >= 10_000 : undefined,
    anchor: `stopped: ${d.cacheNoLockStop ?? '?'}`,
    readme: true,
  });
}

// The soak: growth of each service over its run, and whether anything failed.
if (soak) {
  const services: Array<[string, Json]> = Object.entries<Json>(soak.services ?? {});
  const growth = (v: Json) => (typeof v?.growth === 'number' ? `${v.growth >= 0 ? '+' : ''}${Math.round(v.growth)}` : '—');
  rows.push({
    metric: `soak ${Math.round((soak.config?.churnSeconds ?? 0) / 60 * 10) / 10} min${soak.config?.quick ? ' (--quick)' : ''}: ${soak.whep?.joined ?? '?'} WHEP joins, ${soak.hls?.clients ?? '?'} LL-HLS clients; RSS growth ${services.map(([name]) => name).join(' / ')}`,
    p50: `${services.map(([, s]) => growth(s.verdict?.rssMiB)).join(' / ')} MiB`,
    p95: `fds ${services.map(([, s]) => growth(s.verdict?.fds)).join(' / ')}; ELD p99 ${services.map(([, s]) => (s.verdict?.eldP99Ms ? `${Math.round(s.verdict.eldP99Ms.last)} ms` : '—')).join(' / ')}`,
    goal: 'no growth beyond noise, no error',
    met: typeof soak.passed === 'boolean' ? soak.passed : undefined,
    anchor: 'issue 10',
    readme: true,
  });
}

const mark = (met: boolean | undefined) => (met === undefined ? '' : met ? ' ✅' : ' ❌');
const machine = latency?.machine ?? firstFrame?.machine ?? transcode?.machine;
const loads = [
  ['latency + first frame', latency?.machine],
  ['transcode', transcode?.machine],
  ['fan-out (at start)', fanout?.latest?.machine ? { load: fanout.latest.machine.loadavg?.join(' ') } : undefined],
]
  .filter(([, m]) => m)
  .map(([name, m]: Json) => `${name}: ${m.loadBefore ? `${m.loadBefore.join(' ')} → ${m.loadAfter?.join(' ') ?? '?'}` : (m.load ?? m.loadAverage ?? 'not recorded')}`);

const md: string[] = [];
md.push('# onair benchmark summary', '');
if (latency?.config?.quick) md.push('**Smoke run (`--quick`): shortened scenarios, not figures to publish.**', '');
md.push(`Run ${latency?.date ?? firstFrame?.date ?? 'unknown'} on ${machine ? `${machine.cpus} × ${machine.model}` : 'an unrecorded machine'}.`);
if (latency?.machine?.versions) md.push(`Versions: ${Object.entries(latency.machine.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
md.push(`Load average (1/5/15 min) before → after: ${loads.join('; ') || 'not recorded'}.`);
md.push('', 'Glass-to-glass: a publisher page burns its clock into every canvas frame and publishes over WHIP; viewer pages in the same headless Chromium read it back at `requestVideoFrameCallback` (display − capture). Source: 1280×720 canvas at 30 fps, H.264 from Chromium, over loopback. Regenerate with `npm run bench`.', '');
md.push('| metric | p50 | p95 | max | goal | anchor |', '| --- | --- | --- | --- | --- | --- |');
for (const r of rows) md.push(`| ${r.metric} | ${r.p50} | ${r.p95} | ${r.max ?? ''} | ${r.goal}${mark(r.met)} | ${r.anchor} |`);

// ── breakdowns ──
for (const [title, w] of [['WHEP glass-to-glass breakdown', latency?.whep], ['WHEP without the audio m-line (diagnostic)', latency?.whepVideoOnly]] as Array<[string, Json]>) {
  if (!w) continue;
  md.push('', `## ${title}`, '');
  md.push(`Measured ${w.seconds} s, ${w.framesRead} frames read (${w.readFps} fps), ${w.framesMisread} unreadable; resolutions ${JSON.stringify(w.resolutions)}.`);
  md.push('', '| stage | p50 | p95 |', '| --- | --- | --- |');
  md.push(`| capture → last packet received (encode, pacing, network, ingest) | ${ms(w.captureToReceive?.p50)} | ${ms(w.captureToReceive?.p95)} |`);
  md.push(`| received → displayed (jitter buffer, decode, render) | ${ms(w.receiveToDisplay?.p50)} | ${ms(w.receiveToDisplay?.p95)} |`);
  const p = w.publisher ?? {};
  const v = w.viewer ?? {};
  md.push('', '| getStats (mean over the window) | value |', '| --- | --- |');
  md.push(`| publisher: encode time per frame | ${x(p.encodeMsPerFrame, ' ms')} (${p.frame ?? '?'}, ${x(p.fps)} fps, ${x(p.bitrateKbps)} kbps, limited by ${p.qualityLimitationReason ?? '?'}) |`);
  md.push(`| publisher: packet send delay (pacer) | ${x(p.packetSendDelayMs, ' ms')} |`);
  md.push(`| viewer: jitter buffer delay / target / minimum | ${x(v.jitterBufferMs, ' ms')} / ${x(v.jitterBufferTargetMs, ' ms')} / ${x(v.jitterBufferMinimumMs, ' ms')} |`);
  if (v.audio) md.push(`| viewer: audio jitter buffer delay / target / minimum (lip sync holds video to it) | ${x(v.audio.jitterBufferMs, ' ms')} / ${x(v.audio.jitterBufferTargetMs, ' ms')} / ${x(v.audio.jitterBufferMinimumMs, ' ms')} (concealed samples ${x(v.audio.concealedSamples)}) |`);
  md.push(`| viewer: decode time per frame | ${x(v.decodeMsPerFrame, ' ms')} |`);
  md.push(`| viewer: processing delay per frame (first packet → decoded) | ${x(v.processingMsPerFrame, ' ms')} |`);
  md.push(`| viewer: frame assembly (first → last packet) | ${x(v.assemblyMsPerFrame, ' ms')} |`);
  md.push(`| viewer: frames dropped / freezes / packets lost / NACK / PLI | ${x(v.framesDropped)} / ${x(v.freezes)} / ${x(v.packetsLost)} / ${x(v.nacks)} / ${x(v.plis)} |`);
  md.push(`| RTT (loopback) | ${x(p.rttMs, ' ms')} |`);
}
const hlsRuns: Array<[string, Json]> = [['LL-HLS multivariant, site player', latency?.llhls], ['LL-HLS multivariant, hls.js defaults', latency?.llhlsDefaults], ...Object.entries<Json>(latency?.llhlsRenditions ?? {}).map(([id, r]) => [`LL-HLS ${id}`, r] as [string, Json]), ['HLS (lowLatencyMode off)', latency?.hls]];
if (hlsRuns.some(([, r]) => r)) {
  md.push('', '## HLS breakdown (hls.js)', '');
  md.push('`hls.latency` is the player\'s distance behind the playlist\'s live edge; glass-to-glass adds what happens before the edge (ffmpeg encode, packaging into 200 ms parts).', '');
  if (latency?.siteHlsConfig) md.push(`Site config (apps/web/lib/hls-playback.ts): \`${JSON.stringify(latency.siteHlsConfig)}\`.`, '');
  md.push('| run | glass-to-glass p50 / p95 | hls.latency p50 / p95 | before the live edge (p50 difference) | hls.targetLatency | buffer ahead p50 | playback rate p50 | levels played | frames read (fps) | errors |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, r] of hlsRuns) {
    if (!r) continue;
    const h = r.hls ?? {};
    md.push(`| ${name} | ${ms(r.glassToGlass?.p50)} / ${ms(r.glassToGlass?.p95)} | ${ms(h.hlsLatencyMs?.p50)} / ${ms(h.hlsLatencyMs?.p95)} | ${ms(r.glassToGlass?.p50 - h.hlsLatencyMs?.p50)} | ${ms(h.hlsTargetLatencyMs?.p50)} | ${ms(h.bufferAheadMs?.p50)} | ${x(h.playbackRate?.p50)} | ${Object.keys(r.resolutions ?? {}).join(', ')} | ${r.framesRead} (${r.readFps}) | ${(h.errors ?? []).length ? [...new Set(h.errors)].join(', ') : 'none'} |`);
  }
}
if (firstFrame) {
  md.push('', '## Start-up breakdown', '');
  const s = firstFrame.whep?.steps ?? {};
  md.push('| step | p50 | p95 |', '| --- | --- | --- |');
  md.push(`| WHEP: POST → 201 answer | ${ms(s.postToAnswer?.p50)} | ${ms(s.postToAnswer?.p95)} |`);
  md.push(`| WHEP: 201 → ICE connected | ${ms(s.answerToIceConnected?.p50)} | ${ms(s.answerToIceConnected?.p95)} |`);
  md.push(`| WHEP: ICE connected → first frame shown | ${ms(s.iceConnectedToFirstFrame?.p50)} | ${ms(s.iceConnectedToFirstFrame?.p95)} |`);
  md.push(`| WHEP: … ICE connected → DTLS connected | ${ms(s.iceConnectedToDtlsConnected?.p50)} | ${ms(s.iceConnectedToDtlsConnected?.p95)} |`);
  md.push(`| WHEP: … DTLS connected → first frame shown (PLI → keyframe → decode) | ${ms(s.dtlsConnectedToFirstFrame?.p50)} | ${ms(s.dtlsConnectedToFirstFrame?.p95)} |`);
  md.push(`| WHEP: page load → first frame | ${ms(firstFrame.whep?.pageLoadToFirstFrame?.p50)} | ${ms(firstFrame.whep?.pageLoadToFirstFrame?.p95)} |`);
  const w = firstFrame.watchPage?.steps ?? {};
  md.push(`| /watch page: navigation → HTML first byte | ${ms(w.navigationToHtmlFirstByte?.p50)} | ${ms(w.navigationToHtmlFirstByte?.p95)} |`);
  md.push(`| /watch page: navigation → WHEP POST sent | ${ms(w.navigationToWhepPost?.p50)} | ${ms(w.navigationToWhepPost?.p95)} |`);
  md.push(`| /watch page: navigation → its scripts loaded | ${ms(w.navigationToScriptsLoaded?.p50)} | ${ms(w.navigationToScriptsLoaded?.p95)} |`);
  md.push(`| /watch page: WHEP POST → first frame shown | ${ms(w.whepPostToFirstFrame?.p50)} | ${ms(w.whepPostToFirstFrame?.p95)} |`);
  const h = firstFrame.llhls?.steps ?? {};
  md.push(`| LL-HLS: page load → multivariant loaded | ${ms(h.manifestLoaded?.p50)} | ${ms(h.manifestLoaded?.p95)} |`);
  md.push(`| LL-HLS: page load → media playlist loaded | ${ms(h.mediaPlaylistLoaded?.p50)} | ${ms(h.mediaPlaylistLoaded?.p95)} |`);
  md.push(`| LL-HLS: page load → first part buffered | ${ms(h.firstFragmentBuffered?.p50)} | ${ms(h.firstFragmentBuffered?.p95)} |`);
  const p = firstFrame.publishToFirstSegment?.steps ?? {};
  md.push(`| publish: WHIP POST → 201 | ${ms(p.postToAnswer?.p50)} | ${ms(p.postToAnswer?.p95)} |`);
  md.push(`| publish: 201 → multivariant served (every rendition's init) | ${ms(p.answerToMultivariant?.p50)} | ${ms(p.answerToMultivariant?.p95)} |`);
  const failures = [...(firstFrame.whep?.failures ?? []), ...(firstFrame.watchPage?.failures ?? []), ...(firstFrame.llhls?.failures ?? []), ...(firstFrame.publishToFirstSegment?.failures ?? [])];
  if (failures.length) md.push('', `Failed repetitions: ${failures.join('; ')}`);
}
if (transcode) {
  md.push('', '## Transcoder speed (bench/transcode.ts)', '');
  md.push('| run | rungs | speed × realtime | CPU s per media s |', '| --- | --- | --- | --- |');
  for (const r of transcode.offline ?? []) md.push(`| ${r.name} | ${r.rungs} | ${r.speedX} | ${r.cpuSecondsPerMediaSecond} |`);
  if (transcode.live) md.push('', `Live (RTP in at realtime): spawn → first fMP4 byte ${ms(transcode.live.firstOutputMs)}, ${transcode.live.cpuCores} cores, speed ${transcode.live.speed}.`);
}
if (fanout) {
  const run = fanout.latest ?? fanout;
  const d = run.derived ?? {};
  md.push('', '## Fan-out (bench/fanout.ts)', '');
  md.push(`Run "${run.label ?? '?'}"${run.quick ? ' (--quick)' : ''} at ${run.when ?? '?'}, load ${run.machine?.loadavg?.join(' ') ?? '?'}, ${run.stream?.pinning ?? ''}.`, '');
  md.push('| figure | value |', '| --- | --- |');
  for (const [key, label] of [
    ['viewersPerCoreAt2500kbps', 'viewers per core at 2.5 Mbps'],
    ['usPerForwardedPacket', 'µs of ingest CPU per forwarded packet'],
    ['packetsPerSecondPerCore', 'forwarded packets per second per core'],
    ['mbpsPerCore', 'Mbit/s out per core'],
    ['maxLossPct', 'worst loss at any step (the stop step included), %'],
    ['highestStep', 'most viewers ramped to'],
  ] as const) {
    if (typeof d[key] === 'number') md.push(`| ${label} | ${Math.round(d[key] * 10) / 10} |`);
  }
  if (run.canary?.startError) md.push(`| canary | could not play the stream: ${run.canary.startError} |`);
  else if (d.canaryHeldUpTo !== undefined) md.push(`| canary held (p50 rise ≤ ${run.canary?.riseThresholdMs ?? '?'} ms, no freeze) up to, viewers | ${d.canaryHeldUpTo ?? 'no step'} |`);
  if (d.stopReason !== undefined) md.push(`| ramp stopped | ${d.stopReason ?? 'end of the plan'} |`);
  if (typeof d.usPerForwardedPacketOfFloor === 'number') md.push(`| µs per forwarded packet ÷ this machine's sendto floor (same run) | ${d.usPerForwardedPacketOfFloor.toFixed(2)} × (floor ${d.floorSendtoUs.toFixed(2)} µs) |`);
  if (typeof d.usPerForwardedPacketOfSrtpFloor === 'number') md.push(`| µs per forwarded packet ÷ libSRTP protect + sendto floor | ${d.usPerForwardedPacketOfSrtpFloor.toFixed(2)} × (floor ${d.floorSrtpSendtoUs.toFixed(2)} µs) |`);
  if (run.floor?.skipped) md.push(`| floor | not measured: ${run.floor.skipped} |`);
  if (run.viewerEngine) md.push(`| WHEP viewer engine (ingest /metrics) | ${run.viewerEngine}${run.machine?.['node-datachannel'] ? ` (node-datachannel ${run.machine['node-datachannel']}, werift ${run.machine.werift})` : ''} |`);
  if (run.ingestEnv && Object.keys(run.ingestEnv).length) md.push(`| ingest environment | ${Object.entries(run.ingestEnv).map(([k, v]) => `\`${k}=${v}\``).join(' ')} |`);
  const floorSamples: Json[] = run.floor?.samples ?? [];
  if (floorSamples.length) {
    md.push('', `The machine's floor, measured before the ramp on the ingest's core (bench/native/fanout-floor.c): CPU µs per packet of a C loop sending ${Math.round(floorSamples[0].packetBytes)}-byte packets (the stream's mean) in bursts of ${floorSamples[0].burst} per socket at ${Math.round(floorSamples[0].packetsPerSecondPerSocket)} packets/s per socket, one loopback socket per viewer, a reader draining them on core 1; libSRTP is node-datachannel's own (its addon's libSRTP and OpenSSL)${run.floor?.srtpSkipped ? `, not measured here: ${run.floor.srtpSkipped}` : ''}.`, '');
    md.push('| sockets | sendto | libSRTP AES-128-GCM | libSRTP AES-CM-128 + HMAC-SHA1-80 | protect (GCM) + sendto | ingest µs/pkt at the nearest step (× sendto floor) |', '| --- | --- | --- | --- | --- | --- |');
    const us = (v: unknown) => (typeof v === 'number' && v > 0 ? `${v.toFixed(2)} µs` : '—');
    for (const f of floorSamples) {
      const near = (run.steps ?? []).filter((st: Json) => st.viewers > 0 && typeof st.usPerPacket === 'number').sort((a: Json, b: Json) => Math.abs(a.viewers - f.sockets) - Math.abs(b.viewers - f.sockets))[0];
      md.push(`| ${f.sockets} | ${us(f.sendtoUs)} | ${us(f.srtpAes128GcmUs)} | ${us(f.srtpAesCm128Sha1_80Us)} | ${us(f.srtpAes128GcmSendtoUs)} | ${near ? `${near.usPerPacket.toFixed(1)} µs at ${near.viewers} (${(near.usPerPacket / f.sendtoUs).toFixed(2)} ×)` : '—'} |`);
    }
  }
  const steps: Json[] = run.steps ?? [];
  if (steps.some((st) => st.canary)) {
    md.push('', 'Canary: one headless Chromium playing the stream over WHEP (decoding) for the whole ramp. The bench publisher is no pixel clock, so its latency is display − RTP media time at `requestVideoFrameCallback`, taken against the first step: a rise, not glass-to-glass. Chrome renders each frame at a time derived from its RTP timestamp plus its playout delay, so within a step the per-frame values hardly spread (p95 ≈ p50); they move when arrival delay or the jitter buffer\'s target moves. "Arrival" is the same for the frame\'s last packet (rVFC `receiveTime`): delay before Chrome; the rest of a rise is Chrome holding frames longer. A freeze is a gap > ' + `${run.canary?.freezeGapMs ?? 500} ms between displayed frames. Its decode shares core 1 with the publisher and the load generator (core 1 busy in the table).`, '');
    md.push('| viewers | ingest CPU % | loss % | core 1 busy % | canary rise p50 / p95 | of which arrival p50 / p95 | freezes (windows / while joining) | max gap | jitter buffer | receive → display p50 | canary CPU % |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const st of steps) {
      const c = st.canary ?? {};
      const m = st.median ?? {};
      const f1 = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(1) : '—');
      md.push(`| ${st.viewers} | ${f1(m.cpuPct)} | ${typeof m.lossPct === 'number' ? m.lossPct.toFixed(2) : '—'} | ${f1(m.core1BusyPct)} | ${rise(c.riseP50)} / ${rise(c.riseP95)} | ${rise(c.arrivalRiseP50)} / ${rise(c.arrivalRiseP95)} | ${c.freezes ?? '—'} / ${c.rampFreezes ?? '—'} | ${ms(c.maxGapMs)} | ${ms(c.jitterBufferMs)} | ${ms(c.receiveToDisplayP50)} | ${f1(c.cpuPct)} |`);
    }
    if ((d.canaryNotes ?? []).length) md.push('', ...d.canaryNotes.map((n: string) => `Note: ${n}.`));
    // A loss stop with the load generator's core saturated and a canary that lost nothing is
    // the load generator's loss, not the ingest's: say so from the step's own figures.
    const last = steps.at(-1);
    if (last && (last.median?.lossPct ?? 0) > 2 && (last.median?.core1BusyPct ?? 0) >= 95 && last.canary?.packetsLost === 0) {
      md.push('', `At ${last.viewers} viewers the load generator's core was ${Math.round(last.median.core1BusyPct)} % busy and the canary lost no packets: the ${last.median.lossPct.toFixed(1)} % loss is the synthetic viewers falling behind on core 1, not the ingest (its core: ${Math.round(last.median.cpuPct)} %).`);
    }
    // The canary joined first, so it is first in the ingest's send order; the router sends each
    // burst viewer by viewer (stream-router.ts), so the last viewer gets a frame later by about
    // packets per frame × viewers × cost per packet. Stated, so the canary is not read as everyone.
    const perFrame = (run.stream?.packetsPerSecond ?? 0) / 30;
    if (perFrame > 0 && typeof d.usPerForwardedPacket === 'number' && typeof d.highestStep === 'number') {
      md.push('', `The canary joined first and is first in the ingest's send order: a burst goes out viewer by viewer, so at ${d.highestStep} viewers the last viewer gets an average frame (${perFrame.toFixed(1)} packets) about ${((perFrame * d.highestStep * d.usPerForwardedPacket) / 1000).toFixed(1)} ms after the canary does (packets × viewers × ${d.usPerForwardedPacket.toFixed(1)} µs), a keyframe proportionally more.`);
    }
  }
}
if (soak) {
  const c = soak.config ?? {};
  md.push('', '## Soak (bench/soak.ts)', '');
  md.push(`${c.quick ? 'Smoke run (--quick), ' : ''}${c.churnSeconds ?? '?'} s of churn at ${soak.date ?? '?'}, load ${soak.machine?.loadBefore?.join(' ') ?? '?'} → ${soak.machine?.loadAfter?.join(' ') ?? '?'}: one publisher (${Math.round(c.publisher?.kbps ?? 0)} kbps 720p30) transcoded to ${c.ladder ?? '?'}, ${c.whepViewers ?? '?'} WHEP viewers and ${c.hlsClients ?? '?'} LL-HLS clients at a time${c.throughSite ? ' through the site' : ''}, each leaving after a few seconds. Samples every ${c.sampleEveryS ?? '?'} s; after a ${c.limits?.warmupS ?? '?'} s warm-up, the first third is compared with the last (RSS and fds by median, heap by its lowest value, event-loop delay p99 by median).`, '');
  md.push('| service | RSS first → last (MiB/min) | heap lowest first → last | open fds | event-loop delay p99 first → last, max | verdict |', '| --- | --- | --- | --- | --- | --- |');
  for (const [name, s] of Object.entries<Json>(soak.services ?? {})) {
    const v = s.verdict ?? {};
    const pair = (g: Json, unit = '') => (g ? `${g.first} → ${g.last}${unit}` : '—');
    md.push(`| ${name} | ${v.rssMiB ? `${pair(v.rssMiB)} MiB (${v.rssMiB.slopeMiBPerMin})` : '—'} | ${pair(v.heapMiB, ' MiB')} | ${pair(v.fds)} | ${v.eldP99Ms ? `${pair(v.eldP99Ms, ' ms')}, max ${v.eldMaxMs} ms` : '—'} | ${(v.failures ?? []).length ? 'grew ❌' : 'steady ✅'} |`);
  }
  const w = soak.whep ?? {};
  const h = soak.hls ?? {};
  md.push('', `WHEP: ${w.joined ?? '?'} joins (${w.vanished ?? '?'} left without DELETE), ${w.failed ?? '?'} failed, ${w.starved ?? '?'} without video, connect p50 ${ms(w.connectMs?.p50)} / p95 ${ms(w.connectMs?.p95)}. LL-HLS: ${h.clients ?? '?'} clients, ${h.playlists ?? '?'} playlists, ${h.parts ?? '?'} parts, ${h.errors ?? '?'} errors. Drain: the ingest dropped every WHEP session ${soak.drain?.whepSessionsGoneAfterMs == null ? 'never' : `${(soak.drain.whepSessionsGoneAfterMs / 1000).toFixed(1)} s after the churn`}; its open fds ${soak.drain?.ingestFdsBefore ?? '?'} before the churn, ${soak.drain?.ingestFdsAfter ?? '?'} after.`);
  md.push('', (soak.failures ?? []).length ? `Failed: ${soak.failures.join('; ')}.` : 'Passed: no growth beyond noise, no error.');
}
// ── history per machine model ──
const fanoutLatest = fanout?.latest ?? fanout;
const historyModel: string | undefined = machine?.model ?? fanoutLatest?.machine?.model ?? transcode?.machine?.model;
if (historyModel) {
  const p50 = (d: Json) => (num(d?.p50) ? d.p50 : null);
  const orNull = (v: unknown) => (num(v) ? v : null);
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    commit = null;
  }
  const record: HistoryRecord = {
    key: [latency?.date, firstFrame?.date, transcode?.date, fanoutLatest?.when].map((v) => v ?? '-').join('|'),
    date: latency?.date ?? fanoutLatest?.when ?? transcode?.date ?? new Date().toISOString(),
    commit: fanoutLatest?.commit ?? commit,
    machine: { cpus: machine?.cpus ?? fanoutLatest?.machine?.cores ?? null, model: historyModel },
    loadBefore: latency?.machine?.loadBefore ?? null,
    quick: Boolean(latency?.config?.quick || fanoutLatest?.quick),
    figures: {
      whepGlassToGlassMs: p50(latency?.whep?.glassToGlass),
      whepVideoOnlyGlassToGlassMs: p50(latency?.whepVideoOnly?.glassToGlass),
      audioJitterBufferMs: orNull(latency?.whep?.viewer?.audio?.jitterBufferMs),
      llhlsSiteGlassToGlassMs: p50(latency?.llhls?.glassToGlass),
      llhlsDefaultsGlassToGlassMs: p50(latency?.llhlsDefaults?.glassToGlass),
      // From the player's start, as every run before 2026-12-03 measured it; from the POST since.
      whepFirstFrameP50Ms: p50(whepStartUp.start),
      whepFirstFrameP95Ms: orNull(whepStartUp.start?.p95),
      whepPostToFirstFrameP50Ms: p50(whepStartUp.post),
      watchPageFirstFrameP50Ms: p50(firstFrame?.watchPage?.navigationToFirstFrame),
      ladderSpeedX: orNull(ladderSpeed),
      usPerForwardedPacket: orNull(fd.usPerForwardedPacket),
      floorSendtoUs: orNull(fd.floorSendtoUs),
      usPerForwardedPacketOfFloor: orNull(fd.usPerForwardedPacketOfFloor),
      viewersPerCore: viewersPerCore ?? null,
    },
  };
  const historyDir = resolve(resultsDir, 'history');
  const historyFile = resolve(historyDir, `${historySlug(historyModel)}.jsonl`);
  mkdirSync(historyDir, { recursive: true });
  const { text, appended } = appendHistory(existsSync(historyFile) ? readFileSync(historyFile, 'utf8') : '', record);
  if (appended) writeFileSync(historyFile, text);
  const recent = readHistory(text).slice(-8);
  const h = (v: number | null, unit = '') => (v === null ? '—' : `${Math.round(v * 100) / 100}${unit}`);
  md.push('', `## History on ${historyModel} (bench/results/history/${historySlug(historyModel)}.jsonl)`, '');
  md.push('Earlier runs on this machine model, newest last. Absolute figures compare only within a model; the fan-out ratio to the floor compares across models.', '');
  md.push('| date | commit | load | WHEP g2g (video-only) | audio jitter buffer | LL-HLS site | WHEP first frame p50 / p95 | watch page → frame | ladder | µs/pkt (× floor) | viewers/core |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of recent) {
    const f = r.figures;
    md.push(`| ${r.date.slice(0, 16).replace('T', ' ')}${r.quick ? ' (quick)' : ''} | ${r.commit ?? '—'} | ${r.loadBefore?.[0] ?? '—'} | ${h(f.whepGlassToGlassMs, ' ms')} (${h(f.whepVideoOnlyGlassToGlassMs, ' ms')}) | ${h(f.audioJitterBufferMs, ' ms')} | ${h(f.llhlsSiteGlassToGlassMs, ' ms')} | ${h(f.whepFirstFrameP50Ms)} / ${h(f.whepFirstFrameP95Ms, ' ms')} | ${h(f.watchPageFirstFrameP50Ms, ' ms')} | ${h(f.ladderSpeedX, '×')} | ${h(f.usPerForwardedPacket)} (${h(f.usPerForwardedPacketOfFloor, '×')}) | ${h(f.viewersPerCore)} |`);
  }
}

md.push('');
writeFileSync(resolve(resultsDir, 'summary.md'), md.join('\n'));

// ── README Performance table ──
const readmePath = resolve(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = '<!-- bench:start -->';
const end = '<!-- bench:end -->';
const i = readme.indexOf(start);
const j = readme.indexOf(end);
if (i >= 0 && j > i) {
  const table = [
    start,
    `${latency?.config?.quick ? '**Smoke run (`--quick`): shortened scenarios, not figures to publish.** ' : ''}Measured by \`npm run bench\` on **${machine ? `${machine.cpus} × ${machine.model}` : 'an unrecorded machine'}**, ${(latency?.date ?? '').slice(0, 10) || 'date unknown'}, load average ${latency?.machine?.loadBefore?.[0] ?? '?'} → ${latency?.machine?.loadAfter?.[0] ?? '?'}; details, breakdowns and earlier runs on this CPU model in [bench/results/summary.md](bench/results/summary.md). Absolute figures depend on the machine (the same commit gave a 3× higher cost per packet on 2 × AMD EPYC than on 2 × Intel Xeon); the fan-out is also given against this machine's own floor, a C \`sendto\` loop measured in the same run.`,
    '',
    '| metric | p50 | p95 | goal |',
    '| --- | --- | --- | --- |',
    ...rows.filter((r) => r.readme).map((r) => `| ${r.metric.replace(/ \(n=\d+\)$/, '')} | ${r.p50} | ${r.p95} | ${r.goal}${mark(r.met)} |`),
    end,
  ];
  writeFileSync(readmePath, readme.slice(0, i) + table.join('\n') + readme.slice(j + end.length));
} else {
  console.error('summary: README.md has no bench markers; Performance table not refreshed');
}
console.log(`wrote ${resolve(resultsDir, 'summary.md')}`);
