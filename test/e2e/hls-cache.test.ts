/**
 * LL-HLS behind a real HTTP cache: Debian's nginx with `proxy_cache` (the test's own config,
 * loopback, see test/support/nginx-cache.ts) in front of the transcoder's origin, and the site
 * pointing its players at it (ONAIR_HLS_PUBLIC_URL) — how a deployment puts a CDN in front.
 * What a person running it relies on:
 * - Chromium on the site plays the stream over LL-HLS fetched from the cache only;
 * - with a crowd of LL-HLS clients (blocking playlist reloads and parts, the bench's client loop)
 *   beside the page, the origin sees a fraction of the requests: parts once, and each blocking
 *   reload once per URL (the `_HLS_msn`/`_HLS_part` query is in the cache key; the cache lock
 *   holds the crowd on the first request), and nobody gets an error.
 * Figures (requests at the cache and at the origin) are printed with a [hls cache] prefix.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HlsChurn } from '../../bench/lib/soak-hls-clients';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startNginxCache, type NginxCache } from '../support/nginx-cache';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { decodedFrames, waitForAdvancingVideo } from '../support/playback';
import { pollUntil } from '../support/poll';
import { freePort } from '../support/ports';
import { startStack, type Stack } from '../support/stack';

const VIDEO = '[data-testid="video"]';
/** LL-HLS clients beside the page: enough for a crowd, few enough for 2 shared cores. */
const CROWD = 7;
const MEASURE_MS = 15_000;

let stack: Stack;
let cache: NginxCache;
let browser: TestBrowser;
let publisher: WeriftH264Publisher | undefined;
let churn: HlsChurn | undefined;
let page: Page;
let stream: { name: string; streamKey: string; whipUrl: string };

beforeAll(async () => {
  const cachePort = await freePort();
  stack = await startStack({ web: true, transcoder: true, env: { ONAIR_HLS_PUBLIC_URL: `http://127.0.0.1:${cachePort}` } });
  cache = await startNginxCache({ upstream: stack.transcoderUrl, port: cachePort });
  browser = await launchBrowser();
  stream = await stack.createStream('cached');
  publisher = await startWeriftH264Publisher({ whipUrl: stream.whipUrl, streamKey: stream.streamKey, width: 320, height: 180 });
  await publisher.connected;
  // A ladder planned before the ingest knew the picture size (a loaded machine) is re-planned
  // with a restart once it does — renditions come and go: measure on the settled one.
  await pollUntil('the job running on a ladder planned on the source size', async () => {
    const res = await fetch(`${stack.transcoderUrl}/api/jobs`, { headers: { Authorization: `Bearer ${stack.adminToken}` }, signal: AbortSignal.timeout(3_000) });
    if (!res.ok) return false;
    const body = (await res.json()) as JobList | { jobs: JobList };
    const job = (Array.isArray(body) ? body : body.jobs).find((entry) => entry.stream === stream.name);
    return job?.state === 'running' && job.renditions.length > 0 && job.renditions.every((rendition) => rendition.width !== undefined);
  }, { timeoutMs: 60_000, intervalMs: 250 });
}, 180_000);

type JobList = Array<{ stream: string; state: string; renditions: Array<{ id: string; width?: number }> }>;

afterAll(async () => {
  await churn?.stop();
  await publisher?.stop({ delete: true }).catch(() => undefined);
  await browser?.close();
  await cache?.close();
  await stack?.close();
}, 60_000);

describe('LL-HLS behind nginx proxy_cache', () => {
  it('Chromium plays the stream over LL-HLS from the cache', async () => {
    page = await browser.context.newPage();
    await page.addInitScript(() => performance.setResourceTimingBufferSize(20_000));
    await page.goto(`${stack.webUrl}/watch/${stream.name}?mode=hls`);
    const playback = await waitForAdvancingVideo(page, { selector: VIDEO, minFrames: 30, timeoutMs: 60_000 });
    const mode = await page.$eval('[data-testid="player"]', (el) => (el as HTMLElement).dataset.mode);
    expect(mode).toBe('hls');
    const hls = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/hls/')));
    expect(hls.some((n) => n.endsWith('.m4s'))).toBe(true);
    expect(hls.every((n) => n.startsWith(`${cache.url}/hls/`))).toBe(true);
    console.log(`[hls cache] Chromium: LL-HLS through nginx, frames after ${playback.waitedMs} ms`);
  }, 90_000);

  it('with a crowd of LL-HLS clients the origin sees a fraction of the requests; blocking reloads are shared, nobody errs', async () => {
    const before = cache.requests().length;
    churn = new HlsChurn({ multivariantUrl: `${cache.url}/hls/${stream.name}/index.m3u8`, size: CROWD, lifetimeMs: [MEASURE_MS * 4, MEASURE_MS * 4], rampMs: 1_000 });
    churn.start();
    const framesFrom = await decodedFrames(page, VIDEO);
    const until = Date.now() + MEASURE_MS;
    await pollUntil('the measurement window to pass', () => Date.now() >= until, { timeoutMs: MEASURE_MS + 5_000, intervalMs: 250 });
    await churn.stop();
    const frames = (await decodedFrames(page, VIDEO)) - framesFrom;
    // nginx writes the log line when a request ends; the crowd's were aborted by stop().
    const window = cache.requests().slice(before);
    const upstream = window.filter((r) => r.upstream);
    const parts = window.filter((r) => r.uri.endsWith('.m4s'));
    const reloads = window.filter((r) => r.uri.includes('_HLS_msn='));
    const sharedReloads = reloads.filter((r) => r.cacheStatus === 'HIT');
    const fraction = upstream.length / window.length;
    console.log(
      `[hls cache] ${CROWD} LL-HLS clients + 1 Chromium page for ${MEASURE_MS / 1000} s: ${window.length} requests at the cache, ${upstream.length} at the origin (${(fraction * 100).toFixed(1)} %); ` +
        `parts ${parts.length} (origin ${parts.filter((r) => r.upstream).length}), blocking reloads ${reloads.length} (origin ${reloads.filter((r) => r.upstream).length}, cache hits ${sharedReloads.length}); ` +
        `client loop: ${churn.stats.parts} parts, ${churn.stats.playlists} playlists, ${churn.stats.errors} errors`,
    );

    expect(churn.stats.messages).toEqual([]);
    expect(churn.stats.parts).toBeGreaterThan(CROWD * 10);
    // The page played on through the window (~30 fps source; half of it under load is plenty).
    expect(frames).toBeGreaterThan((MEASURE_MS / 1000) * 15);
    // Eight players, one origin fetch per part and per blocking reload URL: far below 1/2.
    expect(fraction).toBeLessThan(0.35);
    // Blocking reloads were answered from the cache — by their own URL (a reload for another
    // position would have been a hit on the wrong answer: players would stall, not play on).
    expect(sharedReloads.length).toBeGreaterThan(reloads.length / 2);
    // The origin saw each part at most once.
    const partsAtOrigin = parts.filter((r) => r.upstream).map((r) => r.uri.split('?')[0]);
    expect(new Set(partsAtOrigin).size).toBe(partsAtOrigin.length);
  }, 60_000);
});
