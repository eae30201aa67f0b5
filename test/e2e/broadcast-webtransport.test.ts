/**
 * Going live over WebTransport, end to end in headless Chromium: /broadcast publishes the fake
 * camera and microphone as Media over QUIC (WebCodecs, native WebTransport over HTTP/3 to the
 * ingest's UDP port, the certificate pinned by hash from /api/webtransport), and /watch plays it
 * over WHEP with video and audio while the transcoder makes LL-HLS of it. A WHIP publisher takes
 * the stream over and the page takes it back, the viewer kept throughout; a wrong key is refused
 * and the page says so; closing the broadcaster's tab ends the stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { serveTestPage } from '../support/page-bundle';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { pollUntil } from '../support/poll';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;
let browser: TestBrowser;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  stack = await startStack({ web: true, transcoder: true });
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await browser?.close();
  await stack?.close();
});

function dumpLogs(): string {
  return ['ingest', 'web'].map((s) => `--- ${s}\n${stack.logs(s).slice(-30).join('\n')}`).join('\n');
}

async function attribute(page: Page, testId: string, name: string): Promise<string | null> {
  return page.getAttribute(`[data-testid="${testId}"]`, name, { timeout: 1000 });
}

async function waitForState(page: Page, testId: string, states: string[], timeoutMs: number): Promise<string> {
  try {
    return await pollUntil(`${testId} to be ${states.join('/')}`, async () => {
      const state = await attribute(page, testId, 'data-state');
      return state !== null && states.includes(state) ? state : undefined;
    }, { timeoutMs, intervalMs: 50 });
  } catch (error) {
    const now = await attribute(page, testId, 'data-state').catch(() => 'unknown');
    throw new Error(`${(error as Error).message}; it is ${now}\n${dumpLogs()}`);
  }
}

/** Rendered frames of the player's <video>, and audio the player's peer connection received. */
async function playback(page: Page): Promise<{ width: number; frames: number; audioBytes: number }> {
  return page.evaluate(async () => {
    const video = document.querySelector('[data-testid="video"]') as HTMLVideoElement;
    const stream = video.srcObject as MediaStream | null;
    const receivers = (window as unknown as { __onairPeer?: RTCPeerConnection }).__onairPeer?.getReceivers() ?? [];
    let audioBytes = 0;
    for (const receiver of receivers) {
      if (receiver.track.kind !== 'audio') continue;
      for (const report of (await receiver.getStats()).values()) if (report.type === 'inbound-rtp') audioBytes += report.bytesReceived ?? 0;
    }
    return { width: video.videoWidth, frames: video.getVideoPlaybackQuality().totalVideoFrames, audioBytes: stream?.getAudioTracks().length ? audioBytes : -1 };
  });
}

async function framesAdvance(page: Page, count: number, timeoutMs: number): Promise<number> {
  const from = (await playback(page)).frames;
  return pollUntil(`${count} new frames after frame ${from}`, async () => {
    const now = await playback(page);
    return now.width > 0 && now.frames >= from + count ? now.frames : undefined;
  }, { timeoutMs, intervalMs: 50 });
}

async function openBroadcaster(key: string, streamName: string, transport: 'webtransport' | 'whip'): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (error) => console.error(`[broadcast page] ${error.message}`));
  await page.goto(`${stack.webUrl}/broadcast?${new URLSearchParams({ key, stream: streamName, transport })}`);
  await pollUntil('the camera open', async () => (await page.isEnabled('[data-testid="go-live"]')) || undefined, { timeoutMs: 15_000 });
  await page.click('[data-testid="go-live"]');
  return page;
}

/**
 * The WHIP publisher that takes the stream over (werift, the test's own peer). Its ICE/DTLS with
 * the ingest failed within a second about once in six CI runs while the machine was otherwise
 * quiet (never in 40 takeovers of the same kind in a loop, nor with werift's debug log on); a WHIP
 * client such as OBS retries, so this one does once, and says so with the ingest's log.
 */
async function connectWhipPublisher(streamKey: string, what: string): Promise<WeriftH264Publisher> {
  for (let attempt = 1; ; attempt += 1) {
    const whip = await startWeriftH264Publisher({ whipUrl: `${stack.ingestUrl}/whip`, streamKey });
    try {
      await whip.connected;
      return whip;
    } catch (error) {
      await whip.stop();
      const detail = `${what}, the WHIP publisher (attempt ${attempt}): ${(error as Error).message}\n${dumpLogs()}`;
      if (attempt >= 2) throw new Error(detail);
      console.warn(`[e2e] retrying: ${detail}`);
    }
  }
}

async function liveProtocol(streamId: string): Promise<string | undefined> {
  const res = await fetch(`${stack.ingestUrl}/api/streams/${streamId}`, { headers: { Authorization: `Bearer ${stack.adminToken}` } });
  const body = (await res.json()) as { state: { live: boolean; publisher: { protocol: string } | null } };
  return body.state.live ? body.state.publisher?.protocol : undefined;
}

describe('/broadcast over WebTransport → /watch over WHEP', () => {
  it('goes live over QUIC, plays with video and audio, makes LL-HLS, and hands over to WHIP and back with the viewer kept', async () => {
    const stream = await stack.createStream('e2e-webtransport');
    const opened = Date.now();
    const publisher = await openBroadcaster(stream.streamKey, stream.name, 'webtransport');
    await waitForState(publisher, 'broadcaster', ['live'], 30_000);
    expect(await attribute(publisher, 'broadcaster', 'data-transport')).toBe('webtransport');
    expect(await attribute(publisher, 'broadcaster', 'data-fallback')).toBe('');
    await pollUntil('the ingest to see a WebTransport publisher', async () => (await liveProtocol(stream.id)) === 'webtransport' || undefined, { timeoutMs: 15_000 });
    console.log(`[e2e] /broadcast over WebTransport: the ingest has the stream ${Date.now() - opened} ms after the page opened`);
    // Outgoing figures come from the encoders.
    await pollUntil('outgoing resolution and bitrate on /broadcast', async () => {
      const resolution = (await publisher.textContent('[data-testid="out-resolution"]')) ?? '';
      const bitrate = (await publisher.textContent('[data-testid="out-video-bitrate"]')) ?? '';
      return /\d+×\d+/.test(resolution) && /\d/.test(bitrate) || undefined;
    }, { timeoutMs: 10_000 });

    const viewer = await browser.context.newPage();
    await viewer.addInitScript(() => {
      // Keeps the player's peer connection reachable for the audio check.
      const Native = window.RTCPeerConnection;
      window.RTCPeerConnection = class extends Native {
        constructor(...args: ConstructorParameters<typeof RTCPeerConnection>) {
          super(...args);
          (window as unknown as { __onairPeer: RTCPeerConnection }).__onairPeer = this;
        }
      } as typeof RTCPeerConnection;
    });
    const watchOpened = Date.now();
    await viewer.goto(`${stack.webUrl}/watch/${stream.name}`);
    await waitForState(viewer, 'player', ['live'], 20_000);
    const timing = await viewer.$eval('[data-testid="player"]', (el) => ({ ...(el as HTMLElement).dataset }));
    console.log(`[e2e] /watch of a WebTransport stream: live ${Date.now() - watchOpened} ms after the page opened; ${JSON.stringify(timing)}`);
    expect(await attribute(viewer, 'player', 'data-mode')).toBe('webrtc');
    await framesAdvance(viewer, 30, 10_000);
    console.log(`[e2e] /watch of a WebTransport stream: 30 frames ${Date.now() - watchOpened} ms after the page opened`);
    const audioBefore = (await playback(viewer)).audioBytes;
    await pollUntil('audio arriving at the player', async () => (await playback(viewer)).audioBytes > audioBefore + 2000 || undefined, { timeoutMs: 10_000 });

    // The transcoder makes LL-HLS of it, as for WHIP.
    await pollUntil('an LL-HLS media playlist with parts', async () => {
      const master = await fetch(`${stack.webUrl}/hls/${stream.name}/index.m3u8`).catch(() => undefined);
      if (!master?.ok) return undefined;
      const first = (await master.text()).split('\n').find((line) => line && !line.startsWith('#'));
      if (!first) return undefined;
      const media = await fetch(new URL(first, `${stack.webUrl}/hls/${stream.name}/index.m3u8`)).catch(() => undefined);
      return media?.ok && (await media.text()).includes('#EXT-X-PART:') ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });

    // A WHIP publisher with the same key (OBS, say: ffmpeg H.264 through werift here) takes
    // over; the viewer keeps its session and plays on; the page, told it was replaced, stops
    // rather than taking the stream back.
    const whip = await connectWhipPublisher(stream.streamKey, 'the takeover');
    cleanups.push(() => whip.stop());
    await pollUntil('the ingest to see the WHIP publisher', async () => (await liveProtocol(stream.id)) === 'whip' || undefined, { timeoutMs: 15_000 });
    await waitForState(publisher, 'broadcaster', ['error'], 10_000);
    expect(await attribute(publisher, 'broadcast-error', 'data-code')).toBe('publisher_replaced');
    await framesAdvance(viewer, 30, 15_000);
    // Going live again over WebTransport takes the stream back from WHIP, the viewer still kept.
    await publisher.click('[data-testid="go-live"]');
    await waitForState(publisher, 'broadcaster', ['live'], 30_000);
    await pollUntil('WebTransport taking the stream back', async () => (await liveProtocol(stream.id)) === 'webtransport' || undefined, { timeoutMs: 15_000 });
    await framesAdvance(viewer, 30, 15_000);
    expect(await attribute(viewer, 'player', 'data-mode')).toBe('webrtc');
    await whip.stop();

    // Closing the broadcaster's tab ends the stream.
    await publisher.close({ runBeforeUnload: false });
    await pollUntil('the stream offline after the tab closed', async () => (await liveProtocol(stream.id)) === undefined || undefined, { timeoutMs: 15_000 });
    await viewer.close();
  });

  // Chromium 156 crashed the broadcaster's tab about once in 13 takeovers while the ingest reset
  // the streams the page was writing to (this failed in CI); the page now closes its own session.
  it('hands the stream back and forth ten times without the broadcaster\'s tab crashing', async () => {
    const stream = await stack.createStream('e2e-wt-takeovers');
    const publisher = await openBroadcaster(stream.streamKey, stream.name, 'webtransport');
    let crashed = false;
    publisher.on('crash', () => {
      crashed = true;
    });
    for (let round = 1; round <= 10 && !crashed; round += 1) {
      if (round > 1) await publisher.click('[data-testid="go-live"]');
      await waitForState(publisher, 'broadcaster', ['live'], 30_000);
      await pollUntil(`round ${round}: WebTransport live at the ingest`, async () => (await liveProtocol(stream.id)) === 'webtransport' || undefined, { timeoutMs: 15_000 });
      const whip = await connectWhipPublisher(stream.streamKey, `round ${round}`);
      try {
        await waitForState(publisher, 'broadcaster', ['error'], 10_000);
        expect(await attribute(publisher, 'broadcast-error', 'data-code')).toBe('publisher_replaced');
      } finally {
        await whip.stop();
      }
    }
    expect(crashed).toBe(false);
    await publisher.close({ runBeforeUnload: false });
  });

  it('a wrong key is refused and the page says so, without falling back to WHIP', async () => {
    const page = await openBroadcaster('sk_not-a-real-key', 'nobody', 'webtransport');
    await waitForState(page, 'broadcaster', ['error'], 20_000);
    expect(await attribute(page, 'broadcast-error', 'data-code')).toBe('invalid_stream_key');
    expect(await attribute(page, 'broadcaster', 'data-fallback')).toBe('');
    await page.close();
  });

  it('falls back to WHIP by itself when QUIC cannot connect, and says so', async () => {
    const stream = await stack.createStream('e2e-wt-fallback');
    const page = await browser.context.newPage();
    // The path to the WebTransport port is blocked: the discovery names a UDP port nobody serves.
    await page.route('**/api/webtransport', async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { url: string };
      const url = new URL(body.url);
      url.port = '9';
      await route.fulfill({ response, json: { ...body, url: url.toString() } });
    });
    await page.goto(`${stack.webUrl}/broadcast?${new URLSearchParams({ key: stream.streamKey, stream: stream.name, transport: 'webtransport' })}`);
    await pollUntil('the camera open', async () => (await page.isEnabled('[data-testid="go-live"]')) || undefined, { timeoutMs: 15_000 });
    await page.click('[data-testid="go-live"]');
    await waitForState(page, 'broadcaster', ['live'], 30_000);
    expect(await attribute(page, 'broadcaster', 'data-transport')).toBe('whip');
    expect(await attribute(page, 'broadcaster', 'data-fallback')).toBe('whip');
    expect(await page.textContent('[data-testid="transport-fallback"]')).toMatch(/WebTransport was not used: .*QUIC.*WHIP/);
    await pollUntil('the ingest to see a WHIP publisher', async () => (await liveProtocol(stream.id)) === 'whip' || undefined, { timeoutMs: 15_000 });
    await page.click('[data-testid="stop"]');
    await page.close();
  });
});

describe('a third-party MoQ publisher (<moq-publish>, unmodified) → WHEP', () => {
  it('publishes into onair with the URL and hashes from /api/webtransport, and /watch plays it', async () => {
    const stream = await stack.createStream('e2e-moq-publish');
    const discovery = (await (await fetch(`${stack.webUrl}/api/webtransport`)).json()) as { url: string; serverCertificateHashes: Array<{ value: string }> };
    const server = await serveTestPage('moq-publish');
    cleanups.push(() => server.close());
    const publisher = await browser.context.newPage();
    publisher.on('pageerror', (error) => console.error(`[moq-publish page] ${error.message}`));
    await publisher.goto(server.url);
    await publisher.waitForFunction(() => typeof (window as unknown as { startMoqPublish?: unknown }).startMoqPublish === 'function');
    const url = new URL(discovery.url);
    url.searchParams.set('key', stream.streamKey);
    await publisher.evaluate((options) => (window as unknown as { startMoqPublish(o: unknown): void }).startMoqPublish(options), { url: url.toString(), hashes: discovery.serverCertificateHashes.map((h) => h.value) });
    const started = Date.now();
    await pollUntil('the ingest to see the <moq-publish> publisher', async () => (await liveProtocol(stream.id)) === 'webtransport' || undefined, { timeoutMs: 30_000 });
    console.log(`[e2e] <moq-publish> live at the ingest ${Date.now() - started} ms after it was attached`);

    const viewer = await browser.context.newPage();
    const opened = Date.now();
    await viewer.goto(`${stack.webUrl}/watch/${stream.name}`);
    await waitForState(viewer, 'player', ['live'], 20_000);
    await framesAdvance(viewer, 30, 15_000);
    // moq-lite has no keyframe request and <moq-publish> does not read onair's back channel: a
    // viewer joining waits for its next group (its GOP is 2 s by default).
    console.log(`[e2e] /watch of a <moq-publish> stream: 30 frames ${Date.now() - opened} ms after the page opened`);
    await publisher.evaluate(() => (window as unknown as { stopMoqPublish(): void }).stopMoqPublish());
    await pollUntil('the stream offline once <moq-publish> is removed', async () => (await liveProtocol(stream.id)) === undefined || undefined, { timeoutMs: 15_000 });
    await Promise.all([publisher.close(), viewer.close()]);
  });
});
