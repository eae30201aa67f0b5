/**
 * Records what a real Chromium WHEP viewer tells the rate controller while its link changes, as
 * fixtures for apps/ingest/src/router/rate-control/ (the replay tests). The shaped-link scenario
 * of the e2e test (real ingest and transcoder, a 640×360 source at 1.2 Mbit/s and rungs at 600
 * and 200 kbit/s, Chromium in a network namespace behind a veth pair), then, one after another:
 *
 *   step-up     3 → 0.6 Mbit/s until the viewer is on 180p, then back to 3: from 3 s before the
 *               lift to the viewer's first move up;
 *   loss-bursts a 3 Mbit/s link that collapses for 300 ms (to 300 kbit/s with a 5 ms queue: ~3/4
 *               of the packets dropped, a Wi-Fi fade), three times, 3 s apart.
 *
 * No RTT rise: this machine's kernel has `tbf` but no `netem` (nor `prio`, `gact`), so a delay
 * without a queue cannot be made here; the controller's RTT rule is tested on synthetic links.
 *
 * Each fixture: `{ limitAt, entries }`, times in ms from the trace's start, `limitAt` when the
 * link changed; entries `[at, 'remb', bitrate, sentBytes]` or `[at, 'rr', cumulativeLost,
 * highestSequence, rttMs, jitterMs, behindMs, deliveredOctets, sentOctets, sentBytes]` (the
 * ingest logs them at `trace` level as "viewer feedback"). Root only (namespaces and tc).
 *
 *   npx tsx scripts/record-feedback-traces.ts [outDir]   (default: the rate-control fixtures)
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { launchBrowser, type TestBrowser } from '../test/support/browser';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../test/support/peers/werift-h264-publisher';
import { pollUntil } from '../test/support/poll';
import { canShapeLinks, createShapedLink, SHAPED_SCENARIO_FPS, SHAPED_SCENARIO_LAVFI, shapedScenarioProfile, type ShapedLink } from '../test/support/shaped-link';
import { startStack, type Stack } from '../test/support/stack';
import { watchWhep, type WhepPage } from '../test/support/whep-page';

const OUT = resolve(process.argv[2] ?? resolve(import.meta.dirname, '../apps/ingest/src/router/rate-control/fixtures'));
const QUEUE_MS = 600;
const PROFILE = shapedScenarioProfile('abr-record', 'two rungs under a 640x360 source, for recording feedback traces');

type Entry = [number, 'remb', number, number] | [number, 'rr', number, number, number | null, number, number | null, number | null, number, number];
interface FeedbackLine {
  time: number;
  msg: string;
  viewer: string;
  sentBytes: number;
  feedback: { type: 'remb'; bitrate: number } | { type: 'report'; kind: string; cumulativeLost: number; highestSequence: number; rttMs: number | null; jitterMs: number; behindMs?: number | null; deliveredOctets?: number | null; sentOctets?: number };
}

let link: ShapedLink | undefined;
let stack: Stack | undefined;
let publisher: WeriftH264Publisher | undefined;
let browser: TestBrowser | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () => loadavg()[0]!.toFixed(0);

/** Every "viewer feedback" line so far (the stack keeps the last 2000 lines: read often). */
const seen = new Map<string, FeedbackLine>();
function collect(st: Stack): void {
  for (const line of st.logs('ingest')) {
    if (!line.includes('"viewer feedback"')) continue;
    const parsed = JSON.parse(line) as FeedbackLine;
    seen.set(line, parsed);
  }
}

/** The video feedback between `from` and `to` (epoch ms), as a fixture with times from `from`. */
function trace(from: number, changeAt: number, to: number): { limitAt: number; entries: Entry[] } {
  const entries: Entry[] = [];
  const lines = [...seen.values()].filter((l) => l.time >= from && l.time <= to).sort((a, b) => a.time - b.time);
  for (const { time, feedback: f, sentBytes } of lines) {
    const at = time - from;
    if (f.type === 'remb') entries.push([at, 'remb', f.bitrate, sentBytes]);
    else if (f.kind === 'video') entries.push([at, 'rr', f.cumulativeLost, f.highestSequence, f.rttMs, f.jitterMs, f.behindMs ?? null, f.deliveredOctets ?? null, f.sentOctets ?? 0, sentBytes]);
  }
  return { limitAt: changeAt - from, entries };
}

async function onFor(viewer: WhepPage, name: string, forMs: number, timeoutMs: number, st: Stack): Promise<void> {
  let since: number | undefined;
  await pollUntil(`the viewer ${forMs} ms on ${name}`, async () => {
    collect(st);
    if ((await viewer.layers()).active !== name) since = undefined;
    else since ??= Date.now();
    return since !== undefined && Date.now() - since >= forMs;
  }, { timeoutMs, intervalMs: 100 });
}

/** Collects for `ms`, returning early (true) if the viewer leaves `name`. */
async function watchFor(viewer: WhepPage, name: string, ms: number, st: Stack): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    collect(st);
    if ((await viewer.layers()).active !== name) return true;
    await sleep(100);
  }
  return false;
}

function save(name: string, fixture: { limitAt: number; entries: Entry[] }): void {
  const file = resolve(OUT, `${name}-load${load()}.json`);
  writeFileSync(file, `${JSON.stringify(fixture)}\n`);
  console.log(`${file}: ${fixture.entries.length} entries, change at ${fixture.limitAt} ms`);
}

async function main(): Promise<void> {
  if (!canShapeLinks()) throw new Error('recording needs root (network namespaces and tc)');
  link = createShapedLink('onair-abr-r', '10.214.3');
  stack = await startStack({ transcoder: true, ingestHost: link.hostAddress, env: { ONAIR_LOG_LEVEL: 'trace' } });
  const st = stack;
  const transcoder = (path: string, init: RequestInit) => fetch(`${st.transcoderUrl}${path}`, { ...init, headers: { Authorization: `Bearer ${st.adminToken}`, 'Content-Type': 'application/json' } });
  if ((await transcoder('/api/profiles', { method: 'POST', body: JSON.stringify(PROFILE) })).status !== 201) throw new Error('the profile was refused');
  if ((await transcoder('/api/jobs/abr/profile', { method: 'PUT', body: JSON.stringify({ profile: PROFILE.name }) })).status !== 200) throw new Error('the job profile was refused');
  const stream = await st.createStream('abr');
  publisher = await startWeriftH264Publisher({ whipUrl: `${st.ingestUrl}/whip`, streamKey: stream.streamKey, lavfi: SHAPED_SCENARIO_LAVFI, fps: SHAPED_SCENARIO_FPS, videoKbps: 1200 });
  await publisher.connected;
  await pollUntil('the 360p and 180p renditions in the ingest', async () => {
    const { sets } = (await (await st.adminFetch(`/api/streams/${stream.id}/renditions`)).json()) as { sets: Array<{ renditions: Array<{ name: string; packets: number }> }> };
    return sets[0]?.renditions.map((r) => r.name).join() === '360p,180p' && sets[0].renditions.every((r) => r.packets > 30);
  }, { timeoutMs: 45_000, intervalMs: 250 });
  browser = await launchBrowser([], { executablePath: link.chromiumPath });
  const viewer = await watchWhep(await browser.context.newPage(), st.ingestUrl, 'abr');

  // step-up
  await onFor(viewer, 'source', 6_000, 60_000, st);
  link.limit(600, QUEUE_MS);
  await onFor(viewer, '180p', 5_000, 20_000, st);
  const upFrom = Date.now();
  await sleep(3_000);
  const lifted = Date.now();
  link.limit(3000, QUEUE_MS);
  await watchFor(viewer, '180p', 40_000, st);
  save('chromium-step-up-600-3000', trace(upFrom, lifted, Date.now()));

  // loss-bursts
  await onFor(viewer, 'source', 6_000, 60_000, st);
  const lossFrom = Date.now();
  let firstBurst = 0;
  let moved = false;
  for (let burst = 0; burst < 3 && !moved; burst++) {
    moved = await watchFor(viewer, 'source', 3_000, st);
    if (moved) break;
    firstBurst ||= Date.now();
    link.limit(300, 5);
    await sleep(300);
    link.limit(3000, QUEUE_MS);
  }
  if (!moved) moved = await watchFor(viewer, 'source', 4_000, st);
  save('chromium-collapse-bursts-300ms', trace(lossFrom, firstBurst, Date.now()));
  console.log(`loss-bursts: the live controller ${moved ? 'moved the viewer' : 'kept the viewer on the source'}`);
}

try {
  await main();
} finally {
  await browser?.close().catch(() => undefined);
  await publisher?.stop({ delete: true }).catch(() => undefined);
  await stack?.close();
  link?.remove();
}
