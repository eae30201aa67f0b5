/**
 * The fan-out bench's canary viewer (its own process, pinned by the caller, so headless Chromium
 * and its renderer inherit the pinning): one real WHEP viewer that decodes, watched for the whole
 * ramp. Driven over IPC by bench/fanout.ts through bench/lib/fanout-canary-client.ts.
 *
 * It bundles bench/pages/fanout-canary.ts (esbuild, in memory), serves it on a loopback port,
 * opens it in headless Chromium (test/support/browser.ts) and plays the stream with the site's
 * WHEP client. Each `take` reads the frames displayed since the last one and folds them through
 * one CanaryLatencyTracker (bench/lib/fanout-canary-latency.ts), plus the video inbound-rtp stats.
 *
 * IPC: {cmd:'start', whepUrl, freezeMs} → {cmd:'started', firstFrameMs} | {cmd:'failed', error}
 *      {cmd:'take'} → {cmd:'taken', window, stats, connection, withoutRtp, cpuTicks}
 *      {cmd:'close'} → closes the browser, exits
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../../test/support/browser';
import { CanaryLatencyTracker, type CanaryFrame } from './fanout-canary-latency';
import { startPageServer } from './page-server';

/** The counters of the canary's video inbound-rtp that the bench reads (cumulative). */
export interface CanaryInboundStats {
  packetsReceived: number;
  packetsLost: number;
  framesDecoded: number;
  framesDropped: number;
  freezeCount: number;
  /** s */
  totalFreezesDuration: number;
  /** s, summed over emitted frames */
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  nackCount: number;
  pliCount: number;
  decoderImplementation: string | null;
}

/**
 * CPU time (jiffies, utime + stime) of this process and every descendant: Chromium's browser,
 * zygote, renderer (the decode), GPU and network processes. Children that already exited are
 * not counted.
 */
function treeTicks(root: number): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
    } catch {
      // exited meanwhile
    }
  }
  let sum = 0;
  for (const [pid, t] of ticks) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        sum += t;
        break;
      }
    }
  }
  return sum;
}

const n = (v: unknown) => (typeof v === 'number' ? v : 0);

async function inbound(page: Page): Promise<CanaryInboundStats | null> {
  const entries = (await page.evaluate(() => (window.bench.stats as unknown as () => Promise<Record<string, unknown>[]>)())) as Record<string, unknown>[];
  const s = entries[0];
  if (!s) return null;
  return {
    packetsReceived: n(s.packetsReceived),
    packetsLost: n(s.packetsLost),
    framesDecoded: n(s.framesDecoded),
    framesDropped: n(s.framesDropped),
    freezeCount: n(s.freezeCount),
    totalFreezesDuration: n(s.totalFreezesDuration),
    jitterBufferDelay: n(s.jitterBufferDelay),
    jitterBufferEmittedCount: n(s.jitterBufferEmittedCount),
    nackCount: n(s.nackCount),
    pliCount: n(s.pliCount),
    decoderImplementation: typeof s.decoderImplementation === 'string' ? s.decoderImplementation : null,
  };
}

async function main(): Promise<void> {
  const [served, browser] = await Promise.all([startPageServer(['fanout-canary']), launchBrowser()]);
  let tracker = new CanaryLatencyTracker();
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => console.error(`[canary page] ${error.message}`));
  await page.goto(`${served.url}/fanout-canary.html`);
  await page.waitForFunction(() => window.bench?.ready === (true as never), undefined, { timeout: 15_000 });

  let closing = false;
  const close = async (browserToClose: TestBrowser) => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(0), 4000).unref();
    await page.evaluate(() => (window.bench.stop as unknown as () => Promise<void>)()).catch(() => undefined);
    await browserToClose.close().catch(() => undefined);
    void served.close();
    process.exit(0);
  };

  process.on('message', (message: { cmd: string; whepUrl?: string; freezeMs?: number }) => {
    if (message.cmd === 'start') {
      tracker = new CanaryLatencyTracker(message.freezeMs);
      const started = performance.now();
      page
        .evaluate((url) => (window.bench.play as unknown as (u: string) => Promise<number>)(url), message.whepUrl!)
        .then(() => process.send!({ cmd: 'started', firstFrameMs: Math.round(performance.now() - started) }))
        .catch((error: unknown) => process.send!({ cmd: 'failed', error: String(error) }));
    } else if (message.cmd === 'take') {
      void (async () => {
        const taken = (await page.evaluate(() => (window.bench.take as unknown as () => unknown)())) as { frames: CanaryFrame[]; withoutRtp: number; now: number; connection: string };
        const stats = await inbound(page);
        process.send!({ cmd: 'taken', window: tracker.window(taken.frames, taken.now), stats, connection: taken.connection, withoutRtp: taken.withoutRtp, cpuTicks: treeTicks(process.pid) });
      })().catch((error: unknown) => process.send!({ cmd: 'taken', error: String(error) }));
    } else if (message.cmd === 'close') {
      void close(browser);
    }
  });
  process.on('disconnect', () => void close(browser));
  process.send!({ cmd: 'ready' });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
