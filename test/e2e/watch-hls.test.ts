/**
 * The player's HLS mode and its fallback, end to end: python3-aiortc publishes over WHIP, the
 * transcoder turns the stream into LL-HLS, and headless Chromium watches /watch/<stream>:
 * (1) forced to HLS (`?mode=hls`) through hls.js and the web origin's /hls proxy;
 * (2) automatically falling back to HLS when WebRTC cannot work — ICE never connects, and the
 *     WHEP POST answered 503;
 * (3) switched back to WebRTC by hand.
 * And the codec side: a browser without H.264 plays the transcoder's VP8 rendition over WebRTC;
 * one with neither codec goes straight to HLS, saying why.
 * Also measured: what the web origin's proxy adds to a blocking playlist reload; and the
 * transcoder's HLS viewer count (and the dashboard's "HLS 1") while the ?mode=hls page plays.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { cspViolations, launchBrowser, type TestBrowser } from '../support/browser';
import { waitForAdvancingVideo } from '../support/playback';
import { holdsFor, pollUntil } from '../support/poll';
import { startStack, type Stack } from '../support/stack';

const PUBLISHER = resolve(import.meta.dirname, '../support/peers/aiortc_whip_publisher.py');
/** Screenshots for people to look at (gitignored). */
const artifacts = resolve(import.meta.dirname, '../.artifacts');

let stack: Stack;
let browser: TestBrowser;
let publisher: ChildProcess | undefined;
let stream: { name: string; streamKey: string };
const publisherOutput: string[] = [];

function startAiortc(whipUrl: string, key: string): Promise<string> {
  const child = spawn('/usr/bin/python3', [PUBLISHER, whipUrl, key], { stdio: ['ignore', 'pipe', 'pipe'] });
  publisher = child;
  return new Promise<string>((resolveSession, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      publisherOutput.push(line);
      if (line.startsWith('PUBLISHING ')) resolveSession(line.slice('PUBLISHING '.length));
    });
    child.stderr!.on('data', (chunk: Buffer) => publisherOutput.push(chunk.toString()));
    child.once('exit', (code) => reject(new Error(`aiortc publisher exited with ${code}:\n${publisherOutput.join('\n')}`)));
  });
}

function dumpLogs(): string {
  return ['ingest', 'transcoder', 'web'].map((s) => `--- ${s}\n${stack.logs(s).slice(-25).join('\n')}`).join('\n');
}

async function player(page: Page): Promise<Record<string, string | undefined>> {
  return page.$eval('[data-testid="player"]', (el) => ({ ...(el as HTMLElement).dataset }));
}

async function waitForPlayer(page: Page, what: string, ok: (data: Record<string, string | undefined>) => boolean, timeoutMs: number): Promise<Record<string, string | undefined>> {
  try {
    return await pollUntil(what, async () => {
      const data = await player(page).catch(() => undefined);
      return data && ok(data) ? data : undefined;
    }, { timeoutMs, intervalMs: 50 });
  } catch (error) {
    const now = await player(page).catch(() => ({}));
    throw new Error(`${(error as Error).message}; player is ${JSON.stringify(now)}\n${dumpLogs()}`);
  }
}

/** Samples `data-latency` (hls.latency, s) for `ms` and returns the values seen. */
async function sampleLatency(page: Page, ms: number): Promise<number[]> {
  const values: number[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const latency = Number((await player(page)).latency);
    if (Number.isFinite(latency)) values.push(latency);
    await new Promise((r) => setTimeout(r, 250));
  }
  return values;
}

/** Scripts a page downloaded, with their decoded sizes. */
async function scripts(page: Page): Promise<Map<string, number>> {
  const entries = await page.evaluate(() =>
    (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter((e) => e.initiatorType === 'script' || e.name.endsWith('.js')).map((e) => [e.name, e.decodedBodySize] as const),
  );
  return new Map(entries);
}
/** Filled by the first test (the HLS page); the next compares a WebRTC page against it. */
let hlsPageScripts = new Map<string, number>();

/**
 * Records, in the page, when the player first showed each `mode:state` (ms since navigation
 * start, from the page's own clock), so fallback times do not include test polling.
 */
async function traceModes(page: Page): Promise<() => Promise<Record<string, number>>> {
  await page.addInitScript(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { __modes: Record<string, number> }).__modes = seen;
    const timer = setInterval(() => {
      const el = document.querySelector('[data-testid="player"]');
      if (!el) return;
      const key = `${el.getAttribute('data-mode')}:${el.getAttribute('data-state')}`;
      seen[key] ??= Math.round(performance.now());
      if (key === 'hls:live') clearInterval(timer);
    }, 10);
  });
  return () => page.evaluate(() => (window as unknown as { __modes: Record<string, number> }).__modes);
}

/** The transcoder's count of HLS viewers of the test stream (GET /api/jobs, admin). */
async function hlsViewers(): Promise<number> {
  const res = await fetch(`${stack.transcoderUrl}/api/jobs`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
  const body = (await res.json()) as { jobs: Array<{ stream: string; hlsViewers?: number }> };
  return body.jobs.find((job) => job.stream === stream.name)?.hlsViewers ?? -1;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  stack = await startStack({ web: true, transcoder: true });
  browser = await launchBrowser();
  stream = await stack.createStream('e2e-hls');
  await startAiortc(`${stack.ingestUrl}/whip`, stream.streamKey);
  // The transcoder starts its job when the ingest says the stream is live; wait for its playlist.
  await pollUntil('the LL-HLS multivariant playlist', async () => {
    const res = await fetch(`${stack.transcoderUrl}/hls/${stream.name}/index.m3u8`);
    return res.ok && (await res.text()).includes('#EXT-X-STREAM-INF');
  }, { timeoutMs: 60_000, intervalMs: 250 }).catch((error: Error) => {
    throw new Error(`${error.message}\n${dumpLogs()}`);
  });
});

afterAll(async () => {
  publisher?.kill('SIGTERM');
  await browser?.close();
  await stack?.close();
});

describe('/watch over LL-HLS', () => {
  it('plays through hls.js with ?mode=hls: picture, frames advancing, rendition and latency shown', async () => {
    const page = await browser.context.newPage();
    const opened = Date.now();
    await page.goto(`${stack.webUrl}/watch/${stream.name}?mode=hls`);
    const live = await waitForPlayer(page, 'HLS live', (d) => d.mode === 'hls' && d.state === 'live', 30_000);
    const liveMs = Date.now() - opened;
    const video = await waitForAdvancingVideo(page, { selector: '[data-testid="video"]', minFrames: 30 });
    expect(video.width).toBeGreaterThan(0);
    expect(live.pinned).toBe('true');

    const data = await waitForPlayer(page, 'a rendition and a latency', (d) => Boolean(d.rendition && d.latency), 10_000);
    expect(data.rendition).toMatch(/^\d+p · [\d.]+ (k|M)bps$/);
    const badge = await page.textContent('[data-testid="player-mode"]');
    expect(badge).toContain(`HLS · ${data.rendition}`);
    expect(await page.textContent('[data-testid="delivery"]')).toContain('LL-HLS');
    const latencies = await sampleLatency(page, 4000);
    console.log(
      `[e2e] HLS: live ${liveMs} ms after navigation (first frame ${live.firstFrameMs} ms after hls.js started); ${video.width}×${video.height}; ${data.rendition}; hls.latency median ${median(latencies).toFixed(2)} s, max ${Math.max(...latencies).toFixed(2)} s over ${latencies.length} samples`,
    );
    expect(median(latencies)).toBeLessThan(3);
    // Requests went to the web origin's proxy, not to the transcoder.
    const hlsRequests = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/hls/')));
    expect(hlsRequests.length).toBeGreaterThan(0);
    expect(hlsRequests.every((n) => n.startsWith(`${stack.webUrl}/hls/`))).toBe(true);
    // The sound is the stream's one audio rendition (EXT-X-MEDIA), fetched beside the video's parts, and decoded.
    expect(hlsRequests.some((n) => n.includes(`/hls/${stream.name}/audio/part-`))).toBe(true);
    await pollUntil('decoded audio', () => page.$eval('[data-testid="video"]', (el) => ((el as HTMLVideoElement & { webkitAudioDecodedByteCount?: number }).webkitAudioDecodedByteCount ?? 0) > 0), { timeoutMs: 5000 });
    hlsPageScripts = await scripts(page);
    await page.hover('[data-testid="player"]');
    await pollUntil('the controls to fade in', () => page.$eval('.player__controls', (el) => getComputedStyle(el).opacity === '1'), { timeoutMs: 3000 });
    // The stats overlay shows what hls.js knows.
    await page.click('[data-testid="stats-toggle"]');
    await pollUntil('hls.js latency in the stats', async () => /\d+ ms/.test((await page.textContent('[data-stat="latency (hls.js)"]')) ?? ''), { timeoutMs: 5000 });
    expect(await page.textContent('[data-stat="resolution"]')).toContain(`${video.width}×${video.height}`);
    await page.screenshot({ path: join(artifacts, 'watch-hls.png') });

    // The transcoder counts this page as an HLS viewer (through the proxy: X-Forwarded-For + User-Agent)…
    const watching = await pollUntil('the transcoder to count the HLS viewer', async () => {
      const n = await hlsViewers();
      return n >= 1 ? n : undefined;
    }, { timeoutMs: 5000 });
    // …and the dashboard shows it by protocol.
    const dashboard = await browser.context.newPage();
    await dashboard.goto(`${stack.webUrl}/dashboard`);
    await dashboard.waitForURL('**/dashboard/login');
    await dashboard.fill('input[aria-label="Admin token"]', stack.adminToken);
    await dashboard.click('button[type="submit"]');
    const protocols = dashboard.locator(`[data-testid="stream-${stream.name}"] [data-testid="stat-viewers-protocols"]`);
    await pollUntil('the dashboard to show "HLS 1"', async () => (await protocols.textContent({ timeout: 10_000 }))?.includes('HLS 1'), { timeoutMs: 15_000 });
    expect(await protocols.textContent()).toBe('WebRTC 0 · HLS 1');
    expect(await dashboard.textContent(`[data-testid="stream-${stream.name}"] [data-testid="stat-viewers"]`)).toBe('1');
    await dashboard.locator(`[data-testid="stream-${stream.name}"]`).screenshot({ path: join(artifacts, 'dashboard-hls-viewers.png') });
    // hls.js (its worker, MSE blob URLs, fetches) and the dashboard worked under their Content-Security-Policy.
    expect(await cspViolations(page)).toEqual([]);
    expect(await cspViolations(dashboard)).toEqual([]);
    await dashboard.close();

    await page.close();
    const closed = Date.now();
    await pollUntil('the HLS viewer to be forgotten after the page closed', async () => (await hlsViewers()) === 0, { timeoutMs: 10_000, intervalMs: 200 });
    console.log(`[e2e] HLS viewers: ${watching} while the page played; 0 again ${Date.now() - closed} ms after it closed (window 6 s)`);
  });

  it("goes straight to HLS, saying why, when the browser cannot decode the stream's codecs over WebRTC", async () => {
    const page = await browser.context.newPage();
    // A browser that can receive none of the codecs the stream has over WebRTC: the H.264 source
    // and the VP8 rendition the transcoder makes on demand (Debian's Firefox without OpenH264
    // still has VP8, and plays that over WebRTC: test/integration/vp8-viewer.test.ts).
    // (Only the capability is taken away: before the check, this page played WebRTC as usual.)
    await page.addInitScript(() => {
      const original = RTCRtpReceiver.getCapabilities.bind(RTCRtpReceiver);
      RTCRtpReceiver.getCapabilities = (kind: string) => {
        const capabilities = original(kind);
        if (capabilities && kind === 'video') capabilities.codecs = capabilities.codecs.filter((codec) => !['video/h264', 'video/vp8'].includes(codec.mimeType.toLowerCase()));
        return capabilities;
      };
    });
    // The VP8 rendition is offered once the transcoder's renditions are attached.
    const listed = await pollUntil('the live list offering H.264 and VP8 over WebRTC', async () => {
      const live = (await (await fetch(`${stack.webUrl}/api/streams/live`)).json()) as Array<{ name: string; video: { codec: string } | null; webrtcCodecs?: string[] }>;
      const entry = live.find((s) => s.name === stream.name);
      return entry?.webrtcCodecs?.includes('VP8') ? entry : undefined;
    }, { timeoutMs: 20_000 });
    expect(listed.video?.codec).toBe('H264');
    expect(listed.webrtcCodecs).toEqual(['H264', 'VP8']);
    const modes = await traceModes(page);
    await page.goto(`${stack.webUrl}/watch/${stream.name}`);
    const switched = await waitForPlayer(page, 'the switch to HLS', (d) => d.mode === 'hls', 10_000);
    expect(switched.fallback).toBe('codec_unsupported');
    await waitForPlayer(page, 'HLS live', (d) => d.state === 'live', 30_000);
    await waitForAdvancingVideo(page, { selector: '[data-testid="video"]', minFrames: 15 });
    const trace = await modes();
    const tried = trace['webrtc:connecting'] ?? 0;
    const switchedAt = Math.min(...Object.entries(trace).filter(([k]) => k.startsWith('hls:')).map(([, t]) => t));
    const listTimes = await page.evaluate(() => (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter((e) => e.name.includes('/api/streams/live') || e.name.includes('/whep/')).map((e) => `${e.name.split('/').slice(3).join('/')} ${Math.round(e.startTime)}→${Math.round(e.responseEnd)}`));
    console.log(`[e2e] no H.264 or VP8 receiver: switched to HLS ${switchedAt - tried} ms after the player started (${JSON.stringify(trace)}); ${listTimes.join(', ')}`);
    // Straight there: WebRTC never played a frame (the live list, which names the codec, answers
    // before a WHEP session gets its first keyframe), and the reason is the codec, not a failed
    // offer (a 406 would say webrtc_error, after a ~2 s detour on an idle machine).
    expect(Object.keys(trace)).not.toContain('webrtc:live');
    expect(await page.textContent('[data-testid="delivery"]')).toContain("cannot decode the stream's video codec");
    await page.close();
  });

  it('plays a VP8 rendition of the H.264 stream over WebRTC when the browser has VP8 but no H.264', async () => {
    const page = await browser.context.newPage();
    // Debian's Firefox without the OpenH264 download: no H.264 in its capabilities and none in
    // its offers. Chromium is made that browser before any page script runs: H.264 leaves what
    // getCapabilities reports and every video transceiver's codec list, so the early inline
    // exchange and the player both offer VP8 (with VP9, AV1) and no H.264.
    await page.addInitScript(() => {
      const withoutH264 = <T extends { mimeType: string }>(codecs: T[]) => codecs.filter((codec) => codec.mimeType.toLowerCase() !== 'video/h264');
      const capabilities = RTCRtpReceiver.getCapabilities.bind(RTCRtpReceiver);
      RTCRtpReceiver.getCapabilities = (kind: string) => {
        const caps = capabilities(kind);
        if (caps && kind === 'video') caps.codecs = withoutH264(caps.codecs);
        return caps;
      };
      const setCodecPreferences = RTCRtpTransceiver.prototype.setCodecPreferences;
      RTCRtpTransceiver.prototype.setCodecPreferences = function (codecs: RTCRtpCodec[]) {
        // An empty list would restore the browser's defaults, H.264 among them.
        const kept = withoutH264([...codecs]);
        return setCodecPreferences.call(this, kept.length > 0 ? kept : withoutH264(capabilities('video')!.codecs));
      };
      const addTransceiver = RTCPeerConnection.prototype.addTransceiver;
      RTCPeerConnection.prototype.addTransceiver = function (...args: Parameters<RTCPeerConnection['addTransceiver']>) {
        const transceiver = addTransceiver.apply(this, args);
        const video = args[0] === 'video' || (typeof args[0] !== 'string' && args[0].kind === 'video');
        if (video) setCodecPreferences.call(transceiver, withoutH264(capabilities('video')!.codecs));
        return transceiver;
      };
    });
    const modes = await traceModes(page);
    await page.goto(`${stack.webUrl}/watch/${stream.name}`);
    await waitForPlayer(page, 'WebRTC live', (d) => d.mode === 'webrtc' && d.state === 'live', 45_000);
    await waitForAdvancingVideo(page, { selector: '[data-testid="video"]', minFrames: 30 });
    // The ingest serves this viewer the VP8 rung the transcoder makes while it watches, and the
    // H.264 source to nobody.
    const renditions = await pollUntil('a VP8 rendition with this viewer on it', async () => {
      const streams = (await (await stack.adminFetch('/api/streams')).json()) as Array<{ name: string; state: { renditions?: Array<{ name: string; kind: string; codec: string | null; viewers: number }> } }>;
      const list = streams.find((s) => s.name === stream.name)?.state.renditions;
      return list?.some((r) => r.codec === 'VP8' && r.viewers === 1) ? list : undefined;
    }, { timeoutMs: 15_000, intervalMs: 250 });
    const vp8 = renditions.find((r) => r.codec === 'VP8')!;
    expect(renditions.filter((r) => r.codec !== 'VP8').map((r) => r.viewers)).toEqual(renditions.filter((r) => r.codec !== 'VP8').map(() => 0));
    const decoded = await page.evaluate(() => {
      const video = document.querySelector('[data-testid="video"]') as HTMLVideoElement;
      return { width: video.videoWidth, height: video.videoHeight };
    });
    const trace = await modes();
    console.log(`[e2e] VP8-only browser: ${vp8.name} over WebRTC, ${decoded.width}x${decoded.height}; player ${JSON.stringify(trace)}`);
    // It never went to HLS, and it shows pictures.
    expect(Object.keys(trace).filter((key) => key.startsWith('hls:'))).toEqual([]);
    expect((await player(page)).fallback).toBeUndefined();
    expect(decoded.width).toBeGreaterThan(0);
    await page.close();
  });

  it("the player's rendition menu pins a transcoded rendition over WebRTC, shows it, keeps it, and Auto gives the choice back", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${stack.webUrl}/watch/${stream.name}`);
    await waitForPlayer(page, 'WebRTC live', (d) => d.mode === 'webrtc' && d.state === 'live', 45_000);
    const menu = page.locator('[data-testid="rendition-select"]');
    await pollUntil('the rendition menu to list the ladder', async () => (await menu.locator('option[value="180p"]').count()) === 1, { timeoutMs: 20_000, intervalMs: 200 });
    expect(await menu.locator('option').allTextContents()).toEqual(['Auto (source 360p)', 'source 360p', '360p', '180p']);
    const videoHeight = () => page.$eval('[data-testid="video"]', (el) => (el as HTMLVideoElement).videoHeight);
    const frames = () => page.$eval('[data-testid="video"]', (el) => (el as HTMLVideoElement).getVideoPlaybackQuality().totalVideoFrames);

    await menu.selectOption('180p');
    const pinned = await waitForPlayer(page, 'the 180p rendition playing, pinned', (d) => d.rendition === '180p' && d.renditionPinned === '180p', 15_000);
    await pollUntil('180-line pictures', async () => (await videoHeight()) === 180, { timeoutMs: 10_000, intervalMs: 100 });
    expect(await page.textContent('[data-testid="player-mode"]')).toContain('WebRTC · 180p');
    // Pinned stays pinned: 3 s later it still plays 180p, and frames keep coming.
    const before = await frames();
    await holdsFor(async () => {
      expect((await player(page)).rendition).toBe('180p');
      expect(await videoHeight()).toBe(180);
    }, { forMs: 3_000 });
    expect(await frames()).toBeGreaterThan(before + 30);

    await menu.selectOption('auto');
    await waitForPlayer(page, 'the server choosing the source again', (d) => d.renditionPinned === undefined && d.rendition === 'source', 15_000);
    await pollUntil('the source size again', async () => (await videoHeight()) > 180, { timeoutMs: 10_000, intervalMs: 100 });
    console.log(`[e2e] rendition menu: pinned ${pinned.rendition}, back to ${(await player(page)).rendition} on Auto`);
    await page.close();
  });

  it('serves the site proxy\'s HLS to a player on another origin (CORS as the origin sends it)', async () => {
    const page = await browser.context.newPage();
    // Another origin: the ingest's port. Its page fetches the web origin's /hls, as a player embedded elsewhere would.
    await page.goto(`${stack.ingestUrl}/healthz`);
    const result = await page.evaluate(async ({ webUrl, name }) => {
      const master = await fetch(`${webUrl}/hls/${name}/index.m3u8`);
      const text = await master.text();
      const rendition = text.split('\n').find((l) => l.endsWith('index.m3u8'))!;
      const media = await fetch(`${webUrl}/hls/${name}/${rendition}`);
      const playlist = await media.text();
      const part = playlist.split('\n').find((l) => l.startsWith('#EXT-X-PART:'))?.match(/URI="([^"]+)"/)?.[1];
      const bytes = part ? (await (await fetch(`${webUrl}/hls/${name}/${rendition.replace(/index\.m3u8$/, '')}${part}`)).arrayBuffer()).byteLength : 0;
      const missing = await fetch(`${webUrl}/hls/no-such-stream/index.m3u8`);
      return { origin: location.origin, master: master.status, media: media.status, partBytes: bytes, missing: missing.status, missingCode: ((await missing.json()) as { code: string }).code };
    }, { webUrl: stack.webUrl, name: stream.name });
    expect(result.origin).not.toBe(stack.webUrl);
    expect(result).toMatchObject({ master: 200, media: 200, missing: 404, missingCode: 'stream_not_found' });
    expect(result.partBytes).toBeGreaterThan(0);
    const headers = (await fetch(`${stack.webUrl}/hls/${stream.name}/index.m3u8`, { headers: { origin: 'https://player.example' } })).headers;
    expect(headers.get('access-control-allow-origin')).toBe('*');
    await page.close();
  });

  it('does not make WebRTC viewers download hls.js', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${stack.webUrl}/watch/${stream.name}?mode=webrtc`);
    await waitForPlayer(page, 'WebRTC live', (d) => d.mode === 'webrtc' && d.state === 'live', 20_000);
    const webrtc = await scripts(page);
    expect(hlsPageScripts.size, 'runs after the ?mode=hls test').toBeGreaterThan(0);
    const onlyHls = [...hlsPageScripts].filter(([name]) => !webrtc.has(name));
    const hlsBytes = onlyHls.reduce((sum, [, size]) => sum + size, 0);
    const webrtcBytes = [...webrtc.values()].reduce((sum, size) => sum + size, 0);
    console.log(`[e2e] scripts: WebRTC page ${Math.round(webrtcBytes / 1024)} KiB; HLS mode loads ${onlyHls.length} more (${Math.round(hlsBytes / 1024)} KiB, hls.js)`);
    expect(hlsBytes).toBeGreaterThan(100 * 1024);
    await page.close();
  });

  it('falls back to HLS when ICE never connects (UDP to the server dropped)', async () => {
    const page = await browser.context.newPage();
    // What a UDP-blocking network looks like: the WHEP exchange works (it is HTTP) but no
    // connectivity check gets through in either direction — here because every candidate in
    // the offer and in the answer points at the discard port (both sides, or the ingest's checks
    // would reach the browser and the pair would form from a peer-reflexive candidate).
    const unreachable = (sdp: string) => sdp.replace(/^(a=candidate:\S+ \d+ udp \d+ \S+ )\d+/gim, '$19');
    await page.route('**/whep/**', async (route) => {
      // Trickled candidates (PATCH, RFC 8840) too.
      if (route.request().method() === 'PATCH') return route.continue({ postData: unreachable(route.request().postData() ?? '') });
      if (route.request().method() !== 'POST') return route.continue();
      const response = await route.fetch({ postData: unreachable(route.request().postData() ?? '') });
      const sdp = unreachable(await response.text());
      expect(sdp).toContain(' 9 typ host');
      await route.fulfill({ response, body: sdp });
    });
    const modes = await traceModes(page);
    await page.goto(`${stack.webUrl}/watch/${stream.name}`);
    const switched = await waitForPlayer(page, 'the switch to HLS', (d) => d.mode === 'hls', 15_000);
    expect(switched.fallback).toBe('connect_timeout');
    await waitForPlayer(page, 'HLS live', (d) => d.state === 'live', 30_000);
    const video = await waitForAdvancingVideo(page, { selector: '[data-testid="video"]', minFrames: 30 });
    expect(video.width).toBeGreaterThan(0);
    const trace = await modes();
    const tried = trace['webrtc:connecting']!;
    const switchedAt = Math.min(...Object.entries(trace).filter(([k]) => k.startsWith('hls:')).map(([, t]) => t));
    console.log(`[e2e] ICE never connects: WebRTC tried from ${tried} ms after navigation start, switched to HLS ${switchedAt - tried} ms later, live over HLS ${trace['hls:live']! - switchedAt} ms after the switch (${JSON.stringify(trace)})`);
    // Connected-but-waiting would get 10 s: 4 s means the policy saw ICE never connect.
    expect(switchedAt - tried).toBeGreaterThanOrEqual(3900);
    expect(switchedAt - tried).toBeLessThan(9000);
    expect(await page.textContent('[data-testid="delivery"]')).toContain('WebRTC could not connect');
    // No flapping: every mode change is recorded while ~3 s more of HLS video plays.
    await page.evaluate(() => {
      const changes: string[] = [];
      (window as unknown as { __modeChanges: string[] }).__modeChanges = changes;
      const el = document.querySelector('[data-testid="player"]')!;
      new MutationObserver(() => changes.push(el.getAttribute('data-mode') ?? '')).observe(el, { attributeFilter: ['data-mode'] });
    });
    await waitForAdvancingVideo(page, { selector: '[data-testid="video"]', minFrames: 90 });
    expect(await page.evaluate(() => (window as unknown as { __modeChanges: string[] }).__modeChanges)).toEqual([]);
    expect((await player(page)).mode).toBe('hls');
    await page.screenshot({ path: join(artifacts, 'watch-hls-fallback.png') });
    await page.close();
  });

  it('falls back to HLS when the WHEP POST fails, and plays WebRTC again when the viewer switches back', async () => {
    const page = await browser.context.newPage();
    let refused = 0;
    await page.route('**/whep/**', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      refused++;
      await route.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', code: 'unavailable', status: 503, title: 'Unavailable', detail: 'Overloaded.' }) });
    });
    const modes = await traceModes(page);
    await page.goto(`${stack.webUrl}/watch/${stream.name}`);
    await waitForPlayer(page, 'the switch to HLS', (d) => d.mode === 'hls', 15_000);
    await waitForPlayer(page, 'HLS live', (d) => d.state === 'live', 30_000);
    await waitForAdvancingVideo(page, { selector: '[data-testid="video"]', minFrames: 15 });
    expect(refused).toBeGreaterThan(0);
    const trace = await modes();
    const tried = trace['webrtc:connecting']!;
    const switchedAt = Math.min(...Object.entries(trace).filter(([k]) => k.startsWith('hls:')).map(([, t]) => t));
    console.log(`[e2e] WHEP 503: switched to HLS ${switchedAt - tried} ms after WebRTC started trying (${refused} refused POSTs), live over HLS ${trace['hls:live']! - switchedAt} ms after the switch`);

    // WebRTC works again; the viewer asks for it.
    await page.unroute('**/whep/**');
    await page.hover('[data-testid="player"]');
    const clicked = Date.now();
    await page.click('[data-testid="mode-webrtc"]');
    const back = await waitForPlayer(page, 'WebRTC live', (d) => d.mode === 'webrtc' && d.state === 'live', 20_000);
    // The HLS rendition's label ('360p · 928 kbps') is gone; WebRTC names its own (source, 360p…).
    expect(back.rendition ?? '').not.toMatch(/bps$/);
    expect(back.pinned).toBe('true');
    const video = await waitForAdvancingVideo(page, { selector: '[data-testid="video"]', minFrames: 30 });
    expect(video.width).toBeGreaterThan(0);
    expect(await page.getAttribute('[data-testid="mode-webrtc"]', 'aria-pressed')).toBe('true');
    console.log(`[e2e] switched back to WebRTC by hand: live ${Date.now() - clicked} ms after the click (WHEP answer ${back.answerMs} ms, connected ${back.connectedMs} ms, first frame ${back.firstFrameMs} ms after the attempt started)`);
    await page.close();
  });
});

describe('the /hls proxy on the web origin', () => {
  it('adds little to a blocking playlist reload (same request via proxy and direct, in parallel)', async () => {
    const master = await (await fetch(`${stack.transcoderUrl}/hls/${stream.name}/index.m3u8`)).text();
    const rendition = master.split('\n').find((l) => l.endsWith('index.m3u8'))!;
    const path = `/hls/${stream.name}/${rendition}`;

    // Errors and statuses come through.
    const missing = await fetch(`${stack.webUrl}/hls/no-such-stream/index.m3u8`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('problem+json');

    const overheads: number[] = [];
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      const playlist = await (await fetch(`${stack.transcoderUrl}${path}`)).text();
      const lines = playlist.split('\n');
      const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)![1]);
      const complete = lines.filter((l) => l.startsWith('#EXTINF')).length;
      const lastInf = lines.map((l) => l.startsWith('#EXTINF')).lastIndexOf(true);
      const partsAfter = lines.slice(lastInf + 1).filter((l) => l.startsWith('#EXT-X-PART:')).length;
      const query = `?_HLS_msn=${sequence + complete}&_HLS_part=${partsAfter}`;
      // The next part: both requests block until it exists, so the difference is the proxy's cost.
      const t0 = performance.now();
      const timed = async (url: string) => {
        const res = await fetch(url);
        const text = await res.text();
        expect(res.status, text).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
        return performance.now() - t0;
      };
      const [direct, proxied] = await Promise.all([timed(`${stack.transcoderUrl}${path}${query}`), timed(`${stack.webUrl}${path}${query}`)]);
      overheads.push(proxied - direct);
      waits.push(direct);
    }
    const sorted = [...overheads].sort((a, b) => a - b);
    console.log(`[e2e] /hls proxy on blocking reloads: direct answered after ${median(waits).toFixed(0)} ms (median wait for the next part); proxy added median ${median(overheads).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms over ${overheads.length} reloads`);
    expect(median(overheads)).toBeLessThan(50);
  });
});

describe('the HLS viewer count', () => {
  it('cannot be inflated by writing X-Forwarded-For, through the site proxy or to the origin from loopback', async () => {
    const master = await (await fetch(`${stack.transcoderUrl}/hls/${stream.name}/index.m3u8`)).text();
    const rendition = master.split('\n').find((l) => l.endsWith('index.m3u8'))!;
    const before = await hlsViewers();
    for (let i = 0; i < 60; i++) {
      const base = i % 2 === 0 ? stack.webUrl : stack.transcoderUrl;
      const res = await fetch(`${base}/hls/${stream.name}/${rendition}`, { headers: { 'x-forwarded-for': `198.51.100.${i}`, 'user-agent': 'spoofer' } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const after = await hlsViewers();
    console.log(`[e2e] 60 media playlist requests with 60 different X-Forwarded-For (half via the site proxy, half to the origin on loopback): HLS viewers ${before} → ${after}`);
    // This test process is one client (one address, one User-Agent), whichever way it came.
    expect(after - before).toBeLessThanOrEqual(1);
  });
});

describe('HLS when the broadcast ends and comes back', () => {
  it('shows offline after the playlist ends (EXT-X-ENDLIST) and plays again when the stream is back', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${stack.webUrl}/watch/${stream.name}?mode=hls`);
    await waitForPlayer(page, 'HLS live', (d) => d.mode === 'hls' && d.state === 'live', 30_000);
    await waitForAdvancingVideo(page, { selector: '[data-testid="video"]', minFrames: 15 });

    // The publisher leaves (DELETE of its WHIP session): the transcoder ends the playlist.
    const stopped = Date.now();
    const exited = new Promise((r) => publisher!.once('exit', r));
    publisher!.kill('SIGTERM');
    await exited;
    await waitForPlayer(page, 'offline', (d) => d.state === 'offline', 30_000);
    const offlineMs = Date.now() - stopped;
    expect(await page.textContent('[data-testid="player-overlay"]')).toContain('offline');

    const restarted = Date.now();
    await startAiortc(`${stack.ingestUrl}/whip`, stream.streamKey);
    await waitForPlayer(page, 'HLS live again', (d) => d.mode === 'hls' && d.state === 'live', 60_000);
    const video = await waitForAdvancingVideo(page, { selector: '[data-testid="video"]', minFrames: 30 });
    expect(video.width).toBeGreaterThan(0);
    console.log(`[e2e] HLS: offline ${offlineMs} ms after the publisher left; live again ${Date.now() - restarted} ms after it came back`);
    await page.close();
  });
});
