/**
 * Latency as a viewer sees it, on this machine, in headless Chromium:
 *
 *   glass-to-glass  a publisher page burns its clock into every canvas frame (bench/lib/timecode.ts)
 *                   and publishes over WHIP; viewer pages in the same browser (one clock) read the
 *                   code at requestVideoFrameCallback: display time − capture time, per frame, over
 *                   ≥ 30 s, for WHEP passthrough, LL-HLS (hls.js lowLatencyMode, multivariant and
 *                   each rendition) and plain HLS (hls.js, lowLatencyMode off).
 *   first frame     WHEP POST → 201 → ICE connected → first frame; the site's /watch page:
 *                   navigation → first frame (with its HTML, scripts and WHEP POST timed); HLS
 *                   page load → first frame; WHIP 201 → first media playlist listing a part at the
 *                   origin. Repeated.
 *   WebTransport    the same publisher page then publishes over WebTransport (Media over QUIC, the
 *                   site's own broadcaster code) in the same run: WHEP glass-to-glass and first
 *                   frame, publish → first playable part, and the ingest's CPU per ingested Mbps
 *                   beside the WHIP publisher's.
 *
 * The real services run as child processes (test/support/stack.ts), as `npm start` runs them.
 *
 *   npx tsx bench/latency.ts [--quick]   → bench/results/latency.json, bench/results/first-frame.json
 *   npx tsx bench/latency.ts --only=first-part
 *                                        → only WHIP 201 → first playable part (BENCH_REPS runs), to
 *                                          $BENCH_LOG_DIR/first-part.json; the results/ files are left as they are
 *   npx tsx bench/latency.ts --only=watch-page
 *                                        → only WHEP first frame and the /watch page's navigation →
 *                                          first frame (BENCH_REPS runs each, no transcoder), to
 *                                          $BENCH_LOG_DIR/watch-page.json
 *   npx tsx bench/latency.ts --only=transcoded
 *                                        → only what goes through the transcoder: glass-to-glass of a
 *                                          WHEP viewer pinned to the largest transcoded rung and of
 *                                          the site's LL-HLS player, beside WHEP on the source, and
 *                                          the browser's A/V offset on the rung against the source's
 *                                          (bench/lib/lip-sync.ts), to $BENCH_LOG_DIR/transcoded.json
 *   npx tsx bench/latency.ts --only=simulcast
 *                                        → only a simulcast publisher: glass-to-glass of a WHEP viewer
 *                                          left to the server (the top layer) and of one pinned to the
 *                                          layer below, to $BENCH_LOG_DIR/simulcast.json
 *
 * Env: BENCH_G2G_SECONDS (default 30, quick 10), BENCH_REPS (default 10, quick 3).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchBrowser, type TestBrowser } from '../test/support/browser';
import type { Stream } from '@onair/shared/api';
import { pollUntil } from '../test/support/poll';
import { startStack, type Stack } from '../test/support/stack';
import { PublisherPage } from './lib/bench-pages';
import { firstPlayable, hlsFirstFrame, publishToFirstSegment, transcoderStartup, waitEnded, watchPageFirstFrame, whepFirstFrame } from './lib/first-frame';
import { measureHls, measureWhep, type G2GOptions } from './lib/glass-to-glass';
import { measureIngestCost } from './lib/ingest-cost';
import { lipSyncOffset, meanHold } from './lib/lip-sync';
import { startPageServer, type PageServer } from './lib/page-server';
import { loadAverage, machineRecord } from './lib/stats';
import { selfCheck } from './lib/timecode';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const ALONE = ['first-part', 'watch-page', 'transcoded', 'simulcast'];
if (only !== undefined && !ALONE.includes(only)) throw new Error(`--only=${only}: the scenarios that run alone are ${ALONE.join(', ')}`);
const SECONDS = Number(process.env.BENCH_G2G_SECONDS ?? (quick ? 10 : 30));
const REPS = Number(process.env.BENCH_REPS ?? (quick ? 3 : 10));
const WARMUP_SECONDS = quick ? 2 : 3;
const STREAM = 'bench';
const CANVAS = { w: 1280, h: 720 };
const resultsDir = resolve(import.meta.dirname, 'results');
const LOG_DIR = process.env.BENCH_LOG_DIR ?? '/tmp/onair-bench-logs';

const started = Date.now();
const log = (line: string) => console.log(`[latency ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the multivariant playlist's set of resolutions has not changed for 5 s and offers
 * `resolution`, or, past the deadline, returns what it has. The transcoder re-plans (restarts) its
 * ladder while a WebRTC source ramps up, and a restart resets the HLS timeline under a player.
 */
async function waitForStableLadder(transcoderUrl: string, resolution: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let renditions: string[] = [];
  let since = Date.now();
  while (Date.now() < deadline) {
    const res = await fetch(`${transcoderUrl}/hls/${STREAM}/index.m3u8`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
    const text = res?.ok ? await res.text() : '';
    const shape = [...text.matchAll(/RESOLUTION=(\d+x\d+)/g)].map((m) => m[1]).join(',');
    if (shape !== last) {
      last = shape;
      since = Date.now();
      renditions = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.trim().split('/')[0]!);
    } else if (shape.includes(resolution) && Date.now() - since > 5_000) {
      break;
    }
    await sleep(250);
  }
  return renditions;
}

/**
 * The watch page's hls.js settings (apps/web/lib/hls-playback.ts), loaded at run time so the
 * bench follows the site; imported by URL so the root type-check does not pull in the web app.
 */
/** Until the ingest reports the stream live with its video measured (frames per second > 0). */
async function waitVideoFlowing(stack: Stack, streamId: string, timeoutMs: number): Promise<void> {
  await pollUntil('the stream live with video', async () => {
    const res = await stack.adminFetch(`/api/streams/${streamId}`);
    const state = res.ok ? ((await res.json()) as Stream).state : undefined;
    return state?.live === true && (state.video?.fps ?? 0) > 0;
  }, { timeoutMs, intervalMs: 200 });
}

async function siteHlsConfig(): Promise<Record<string, unknown>> {
  const url = pathToFileURL(resolve(import.meta.dirname, '../apps/web/lib/hls-playback.ts')).href;
  const mod = (await import(url)) as { HLS_CONFIG: Record<string, unknown> };
  return { ...mod.HLS_CONFIG };
}

async function main(): Promise<void> {
  selfCheck();
  const machine = machineRecord();
  log(`machine: ${machine.cpus} × ${machine.model}, load ${machine.loadBefore.join(' ')}`);
  let stack: Stack | undefined;
  let browser: TestBrowser | undefined;
  let pages: PageServer | undefined;
  const cleanup = async () => {
    if (stack) {
      // Service logs, for explaining a figure afterwards (not part of the results).
      await mkdir(LOG_DIR, { recursive: true }).catch(() => undefined);
      for (const service of ['ingest', 'transcoder']) await writeFile(resolve(LOG_DIR, `${service}.log`), `${stack.logs(service).join('\n')}\n`).catch(() => undefined);
    }
    await browser?.close().catch(() => undefined);
    await stack?.close().catch(() => undefined);
    await pages?.close().catch(() => undefined);
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    [stack, pages, browser] = await Promise.all([
      // The web app serves the /watch page (and proxies its WHEP POST to the ingest); the
      // transcoded and simulcast scenarios alone play from the ingest (and transcoder) directly.
      startStack({ transcoder: only !== 'watch-page' && only !== 'simulcast', web: only !== 'transcoded' && only !== 'simulcast' }),
      startPageServer(),
      // Several pages play at once: none of them may be throttled as a background tab.
      launchBrowser(['--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows']),
    ]);
    const stream = await stack.createStream(STREAM);
    const whip = { url: `${stack.ingestUrl}/whip`, key: stream.streamKey };
    const whepUrl = `${stack.ingestUrl}/whep/${STREAM}`;
    const hlsUrl = (path: string) => `${stack!.transcoderUrl}/hls/${STREAM}/${path}`;
    const publisher = await PublisherPage.open(browser.context, pages.url, CANVAS);
    const repeat = { context: browser.context, pagesUrl: pages.url, reps: REPS, log };
    const g2g: G2GOptions = { context: browser.context, pagesUrl: pages.url, publisher, warmupSeconds: WARMUP_SECONDS, seconds: SECONDS, log };
    /** A scenario run alone: its figures to $BENCH_LOG_DIR/<name>.json (bench/results/ is left as it is). */
    const writeAlone = async (name: string, config: Record<string, unknown>, figures: Record<string, unknown>) => {
      machine.loadAfter = loadAverage();
      await mkdir(LOG_DIR, { recursive: true });
      const file = resolve(LOG_DIR, `${name}.json`);
      await writeFile(file, `${JSON.stringify({ bench: name, date: new Date().toISOString(), machine, config, ...figures }, null, 2)}\n`);
      log(`wrote ${file}`);
    };
    log(`stack up (ingest ${stack.ingestUrl}, transcoder ${stack.transcoderUrl}), pages ${pages.url}`);

    if (only === 'watch-page') {
      await publisher.publish(whip.url, whip.key);
      await publisher.connected();
      await sleep(WARMUP_SECONDS * 1000);
      const whepStart = await whepFirstFrame(whepUrl, repeat);
      const watchPage = await watchPageFirstFrame(`${stack.webUrl}/watch/${STREAM}`, repeat);
      await writeAlone('watch-page', { reps: REPS }, { whep: whepStart, watchPage });
      return;
    }

    if (only === 'simulcast') {
      await publisher.publish(whip.url, whip.key, 'whip', { simulcast: true });
      await publisher.connected();
      await sleep(WARMUP_SECONDS * 1000);
      const whepTop = await measureWhep('WHEP, simulcast publisher (server\'s choice)', whepUrl, g2g);
      const whepLayer = await measureWhep('WHEP, simulcast layer', whepUrl, g2g, { layer: 'simulcast' });
      await writeAlone('simulcast', { seconds: SECONDS }, { whepTop, whepLayer });
      return;
    }

    if (only === 'transcoded') {
      await publisher.publish(whip.url, whip.key);
      await publisher.connected();
      const renditions = await waitForStableLadder(stack.transcoderUrl, `${CANVAS.w}x${CANVAS.h}`, 40_000);
      log(`ladder: ${renditions.join(', ') || 'none'}`);
      const whep = await measureWhep('WHEP', whepUrl, g2g);
      const whepRendition = await measureWhep('WHEP, transcoded rendition', whepUrl, g2g, { layer: 'transcoded' });
      const lipSync = lipSyncOffset(whep, whepRendition, meanHold(whepRendition.audioHoldMs));
      log(`lip sync on the transcoded rendition against the source (video − audio): ${JSON.stringify(lipSync)}`);
      const llhls = await measureHls('LL-HLS site player (multivariant)', hlsUrl('index.m3u8'), 'site', g2g);
      await writeAlone('transcoded', { seconds: SECONDS }, { ladder: renditions, whep, whepRendition: { ...whepRendition, lipSync }, llhls });
      return;
    }

    // Start-up of the HLS path first: it needs the stream to go live from offline every run.
    const publishToSegment = await publishToFirstSegment(publisher, whip, { url: stack.transcoderUrl, stream: STREAM }, repeat);
    if (only === 'first-part') {
      const startup = transcoderStartup(stack.logs('transcoder'));
      await writeAlone('first-part', { reps: REPS }, { publishToFirstSegment: publishToSegment, transcoderStartup: startup });
      log(`transcoder, ms after spawn (p50): ports bound ${startup.spawnToBound.p50}, keyframe request ${startup.spawnToKeyframeRequest.p50}, first fMP4 byte ${startup.spawnToFirstOutput.p50}; runs without a replayed keyframe: ${startup.withoutReplay}`);
      return;
    }

    // The transcoder drops a `live` event that arrives while the previous job is still stopping
    // (up to 3 s after offline): wait that out, or the steady stream gets no HLS at all.
    const previous = await waitEnded(stack.transcoderUrl, STREAM, 20_000);
    await sleep(4_000);
    await publisher.publish(whip.url, whip.key);
    await publisher.connected();
    const run = await firstPlayable(stack.transcoderUrl, STREAM, previous.epochs, Date.now() + 20_000);
    log(`publishing for the steady-state scenarios (HLS run ${run ? `started, epoch ${run.epoch}` : 'DID NOT START within 20 s'})`);

    // WebRTC scenarios while the publisher's bandwidth estimate ramps the source up to 720p.
    const whepStart = await whepFirstFrame(whepUrl, repeat);
    const watchPage = await watchPageFirstFrame(`${stack.webUrl}/watch/${STREAM}`, repeat);
    const whep = await measureWhep('WHEP', whepUrl, g2g);
    const whepVideoOnly = await measureWhep('WHEP video-only', whepUrl, g2g, { videoOnly: true });
    const ingestPid = stack.pid('ingest')!;
    const whipIngestCost = await measureIngestCost(stack.ingestUrl, ingestPid, quick ? 5 : 10);
    log(`ingest CPU with the WHIP publisher: ${whipIngestCost.cpuPercent} % of a core for ${whipIngestCost.ingestMbps} Mbps (${whipIngestCost.cpuPercentPerMbps} % per Mbps)`);

    // The transcoder re-plans its ladder as the source grows; measure HLS on the final ladder.
    const renditions = await waitForStableLadder(stack.transcoderUrl, `${CANVAS.w}x${CANVAS.h}`, 40_000);
    const source = (await publisher.stats()).find((s) => s.type === 'outbound-rtp' && s.kind === 'video');
    const sourceAtLadder = source ? { frame: `${source.frameWidth}x${source.frameHeight}`, fps: source.framesPerSecond, qualityLimitationReason: source.qualityLimitationReason, targetBitrate: source.targetBitrate } : undefined;
    log(`ladder: ${renditions.join(', ') || 'none'}; publisher sends ${JSON.stringify(sourceAtLadder)}`);

    // What a viewer of the site gets: the watch page's own HLS mode (its hls.js settings and its
    // latency hold), then hls.js's defaults with only lowLatencyMode on, each rendition on its
    // own in the site's mode, and plain HLS.
    const siteConfig = await siteHlsConfig();
    const llhls = await measureHls('LL-HLS site player (multivariant)', hlsUrl('index.m3u8'), 'site', g2g);
    const llhlsDefaults = await measureHls('LL-HLS hls.js defaults (multivariant)', hlsUrl('index.m3u8'), { lowLatencyMode: true }, g2g);
    const perRendition: Record<string, unknown> = {};
    for (const id of renditions) perRendition[id] = await measureHls(`LL-HLS ${id}`, hlsUrl(`${id}/index.m3u8`), 'site', g2g);
    const hls = await measureHls('HLS (lowLatencyMode off)', hlsUrl('index.m3u8'), { lowLatencyMode: false }, g2g);
    const hlsStart = await hlsFirstFrame('LL-HLS', hlsUrl('index.m3u8'), siteConfig, repeat);

    // Renditions over WebRTC (issue 12): a viewer pinned to the largest transcoded rung (the
    // transcoder's RTP back into the ingest), then the publisher sends simulcast and a viewer
    // pins the layer below the largest (no transcoding on the way).
    const whepRendition = await measureWhep('WHEP, transcoded rendition', whepUrl, g2g, { layer: 'transcoded' });
    const lipSync = lipSyncOffset(whep, whepRendition, meanHold(whepRendition.audioHoldMs));
    log(`lip sync on the transcoded rendition against the source (video − audio): ${JSON.stringify(lipSync)}`);
    await publisher.stop();
    await publisher.publish(whip.url, whip.key, 'whip', { simulcast: true });
    await publisher.connected();
    const whepSimulcast = await measureWhep('WHEP, simulcast layer', whepUrl, g2g, { layer: 'simulcast' });

    // The same page, publishing over WebTransport (Media over QUIC) instead: the WHIP figures
    // above are its baseline, measured on the same machine in the same run.
    const webTransport = { url: `${stack.ingestUrl}/api/webtransport`, key: stream.streamKey, transport: 'webtransport' as const };
    await publisher.stop();
    const wtToSegment = await publishToFirstSegment(publisher, webTransport, { url: stack.transcoderUrl, stream: STREAM }, { ...repeat, reps: Math.max(3, Math.round(REPS / 2)) });
    await waitEnded(stack.transcoderUrl, STREAM, 20_000);
    await sleep(4_000);
    await publisher.publish(webTransport.url, webTransport.key, 'webtransport');
    // Its first viewer must find the stream live with video: a page that is still starting its
    // encoder would make the first WHEP run a `stream_offline` or a wait for a keyframe.
    await waitVideoFlowing(stack, stream.id, 20_000);
    log('publishing over WebTransport for the steady-state scenarios');
    const wtWhepStart = await whepFirstFrame(whepUrl, repeat);
    const wtWhep = await measureWhep('WHEP, WebTransport publisher', whepUrl, g2g);
    const wtIngestCost = await measureIngestCost(stack.ingestUrl, ingestPid, quick ? 5 : 10);
    log(`ingest CPU with the WebTransport publisher: ${wtIngestCost.cpuPercent} % of a core for ${wtIngestCost.ingestMbps} Mbps (${wtIngestCost.cpuPercentPerMbps} % per Mbps)`);
    const wtSource = (await publisher.stats())[0];

    const finished = new Date().toISOString();
    machine.loadAfter = loadAverage();
    await mkdir(resultsDir, { recursive: true });
    const common = { date: finished, durationSeconds: Math.round((Date.now() - started) / 1000), machine, config: { canvas: `${CANVAS.w}x${CANVAS.h}@30`, seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, reps: REPS, quick } };
    await writeFile(
      resolve(resultsDir, 'latency.json'),
      `${JSON.stringify(
        {
          bench: 'latency',
          ...common,
          ladder: renditions,
          sourceAtLadder,
          whep,
          whepVideoOnly,
          siteHlsConfig: siteConfig,
          llhls,
          llhlsDefaults,
          llhlsRenditions: perRendition,
          hls,
          whepRendition: { ...whepRendition, lipSync },
          whepSimulcast,
          webTransport: { whep: wtWhep, source: wtSource, ingestCost: wtIngestCost, whipIngestCost },
          notes: 'glass-to-glass = rVFC expectedDisplayTime − the capture time burnt into the frame by the publisher page (same browser, one clock). whepRendition / whepSimulcast: a WHEP viewer pinned to the largest transcoded rung / the simulcast layer below the largest (WHEP layer extension). whepRendition.lipSync: the A/V offset the browser plays the rung with, against the source, video − audio (the glass-to-glass p50 change less the audio one: its hold in the ingest plus the change of its jitter buffer, bench/lib/lip-sync.ts). Breakdown: getStats deltas over the measured window.',
        },
        null,
        2,
      )}\n`,
    );
    await writeFile(
      resolve(resultsDir, 'first-frame.json'),
      `${JSON.stringify({ bench: 'first-frame', ...common, whep: whepStart, watchPage, llhls: hlsStart, publishToFirstSegment: publishToSegment, webTransport: { whep: wtWhepStart, publishToFirstSegment: wtToSegment } }, null, 2)}\n`,
    );
    log(`wrote ${resultsDir}/latency.json and first-frame.json`);
  } catch (error) {
    if (stack) {
      for (const service of ['ingest', 'transcoder']) console.error(`--- ${service} (last lines)\n${stack.logs(service).slice(-30).join('\n')}`);
    }
    throw error;
  } finally {
    await cleanup();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
