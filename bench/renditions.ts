/**
 * Renditions per viewer over a shaped link, timed (issue 12's goals: a bandwidth drop → the
 * viewer on a rendition that fits ≤ 2 s; the longest freeze during the switch). The real
 * services (ingest, transcoder: 360p at 600 kbit/s and 180p at 200 under a 640×360 source at
 * 1.2 Mbit/s, 15 fps, from a werift publisher) and one headless Chromium WHEP viewer in a network
 * namespace of its own behind a veth pair whose `tc tbf` the bench changes, `rounds` times:
 * 3 Mbit/s (the viewer 4 s on the source) → 600 kbit/s (a 600 ms queue) → 3 Mbit/s.
 * - drop → on 180p (the rendition that fits), ms;
 * - the longest time without a new frame from the drop until 4 s on 180p, ms;
 * - lift → back on the source, ms.
 * Root only (network namespaces and tc): elsewhere it says so and writes nothing.
 *
 *   npx tsx bench/renditions.ts [--quick]   → prints the figures, writes bench/results/renditions.json
 *   (BENCH_ROUNDS=n: rounds; default 5, --quick 1)
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { launchBrowser, type TestBrowser } from '../test/support/browser';
import type { WeriftH264Publisher } from '../test/support/peers/werift-h264-publisher';
import { pollUntil } from '../test/support/poll';
import { canShapeLinks, createShapedLink, SHAPED_SCENARIO_FPS, type ShapedLink } from '../test/support/shaped-link';
import { startShapedScenario } from '../test/support/shaped-scenario';
import { startStack, type Stack } from '../test/support/stack';
import { longestFreeze, pageNow, watchWhep, type WhepPage } from '../test/support/whep-page';
import { distribution, loadAverage, machineRecord } from './lib/stats';

const quick = process.argv.includes('--quick');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 5));
const FPS = SHAPED_SCENARIO_FPS;
const QUEUE_MS = 600;

let link: ShapedLink | undefined;
let stack: Stack | undefined;
let publisher: WeriftH264Publisher | undefined;
let browser: TestBrowser | undefined;

/** Waits until the viewer has been on `name` for `forMs` in a row; returns when it first got there (performance.now). */
async function onFor(viewer: WhepPage, name: string, forMs: number, timeoutMs: number): Promise<number> {
  let since: number | undefined;
  let first: number | undefined;
  await pollUntil(`the viewer ${forMs} ms on ${name}`, async () => {
    if ((await viewer.layers()).active !== name) since = undefined;
    else {
      since ??= performance.now();
      first ??= since;
    }
    return since !== undefined && performance.now() - since >= forMs;
  }, { timeoutMs, intervalMs: 50 });
  return first!;
}

async function main(): Promise<void> {
  if (!canShapeLinks()) {
    console.log('renditions bench: skipped — it needs root (network namespaces and tc)');
    return;
  }
  const loadBefore = loadAverage();
  link = createShapedLink('onair-abr-b', '10.214.2');
  link.limit(3000, QUEUE_MS);
  stack = await startStack({ transcoder: true, ingestHost: link.hostAddress });
  const st = stack;
  ({ publisher } = await startShapedScenario(st, 'abr-bench'));
  browser = await launchBrowser([], { executablePath: link.chromiumPath });
  const viewer = await watchWhep(await browser.context.newPage(), st.ingestUrl, 'abr');
  await pollUntil('frames on the viewer', async () => (await longestFreeze(viewer.page)).frames > FPS, { timeoutMs: 20_000, intervalMs: 200 });

  const downMs: number[] = [];
  const freezeMs: number[] = [];
  const upMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await onFor(viewer, 'source', 4_000, 40_000);
    const droppedAt = await pageNow(viewer.page);
    const dropped = performance.now();
    link.limit(600, QUEUE_MS);
    const down = (await onFor(viewer, '180p', 4_000, 15_000)) - dropped;
    const freeze = (await longestFreeze(viewer.page, droppedAt)).longestMs;
    downMs.push(down);
    freezeMs.push(freeze);
    const lifted = performance.now();
    link.limit(3000, QUEUE_MS);
    const up = (await onFor(viewer, 'source', 0, 40_000)) - lifted;
    upMs.push(up);
    console.log(`round ${round + 1}/${ROUNDS}: 3 → 0.6 Mbit/s → on 180p after ${Math.round(down)} ms, longest freeze ${freeze} ms; 0.6 → 3 Mbit/s → on the source after ${Math.round(up)} ms (load ${loadAverage().join(' ')})`);
  }

  const result = {
    date: new Date().toISOString(),
    config: { quick, rounds: ROUNDS, source: '640×360 H.264 at 1.2 Mbit/s, 15 fps (werift)', rungs: '360p 600 kbit/s, 180p 200 kbit/s', link: `tbf 3000 → 600 → 3000 kbit/s, ${QUEUE_MS} ms queue` },
    machine: { ...machineRecord(), loadBefore, loadAfter: loadAverage() },
    dropToFittingMs: distribution(downMs, 0),
    longestFreezeMs: distribution(freezeMs, 0),
    liftToSourceMs: distribution(upMs, 0),
  };
  writeFileSync(resolve(import.meta.dirname, 'results/renditions.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ dropToFittingMs: result.dropToFittingMs, longestFreezeMs: result.longestFreezeMs, liftToSourceMs: result.liftToSourceMs }, null, 2));
}

try {
  await main();
} finally {
  await browser?.close().catch(() => undefined);
  await publisher?.stop({ delete: true }).catch(() => undefined);
  await stack?.close();
  link?.remove();
}
