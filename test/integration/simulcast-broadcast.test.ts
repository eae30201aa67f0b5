/**
 * Simulcast from the browser broadcaster: headless Chromium publishes its fake camera from
 * /broadcast with the simulcast switch on (three layers by rid over WHIP, through the web origin),
 * the ingest accepts every layer and serves them as renditions without transcoding (no transcoder
 * runs here), and a WHEP viewer that pins a lower layer receives that layer — a smaller picture
 * that decodes — while the source stays the largest one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { WhepLayers } from '@onair/shared/api';
import { serialDiff } from '../../apps/ingest/src/router/rtp-rewriter';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { annexBFromRtp, decodeH264 } from '../support/h264-annexb';
import { startWeriftWhepViewer, type WeriftWhepViewer } from '../support/peers/werift-whep-viewer';
import { pollUntil } from '../support/poll';
import { startStack, type Stack } from '../support/stack';

let stack: Stack;
let browser: TestBrowser;
let viewer: WeriftWhepViewer | undefined;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'onair-simulcast-'));
  stack = await startStack({ web: true, transcoder: false });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await viewer?.close();
  await browser?.close();
  await stack?.close();
  await rm(dataDir, { recursive: true, force: true });
});

type Rendition = { name: string; kind: string; width: number | null; height: number | null; bitrateKbps: number };

async function renditionsOf(name: string): Promise<Rendition[]> {
  const streams = (await (await stack.adminFetch('/api/streams')).json()) as Array<{ name: string; state: { renditions?: Rendition[] } }>;
  return streams.find((s) => s.name === name)?.state.renditions ?? [];
}

async function goLive(page: Page, key: string, simulcast: boolean): Promise<void> {
  await page.goto(`${stack.webUrl}/broadcast?${new URLSearchParams({ key })}`);
  await page.locator('[data-testid="go-live"]:not([disabled])').waitFor({ timeout: 20_000 });
  if (simulcast) await page.check('[data-testid="simulcast"]');
  await page.click('[data-testid="go-live"]');
  await pollUntil('the broadcaster live', async () => (await page.getAttribute('[data-testid="broadcaster"]', 'data-state')) === 'live', { timeoutMs: 30_000, intervalMs: 100 });
}

describe('simulcast from /broadcast', () => {
  it('the layers are accepted and served as renditions; a viewer pinned to a lower layer gets its smaller picture', async () => {
    const stream = await stack.createStream('simulcast');
    const page = await browser.context.newPage();
    const offers: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/whip') offers.push(request.postData() ?? '');
    });
    await goLive(page, stream.streamKey, true);
    expect(offers[0]).toMatch(/a=simulcast:send f;h;q/);

    // libwebrtc starts on its smallest layer and adds the others as its estimate grows; the
    // 1280×720 fake camera carries three: the source is the full one, the others are renditions.
    const layers = await pollUntil('three layers with their sizes', async () => {
      const renditions = await renditionsOf(stream.name);
      return renditions.length === 3 && renditions.every((r) => r.height !== null && r.bitrateKbps > 0) ? renditions : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    console.log(`[simulcast] ${layers.map((r) => `${r.name} ${r.kind} ${r.width}x${r.height} ${r.bitrateKbps} kbps`).join('; ')}`);
    expect(layers[0]).toMatchObject({ name: 'source', kind: 'source' });
    expect(layers.slice(1).map((r) => r.kind)).toEqual(['simulcast', 'simulcast']);
    const source = layers[0]!;
    const lowest = layers.slice(1).reduce((a, b) => (b.height! < a.height! ? b : a));
    expect(lowest.height!).toBeLessThan(source.height!);

    viewer = await startWeriftWhepViewer({ whepUrl: `${stack.ingestUrl}/whep/${stream.name}`, video: ['H264'] });
    await viewer.connected;
    const layerUrl = viewer.layerUrl!;
    const listed = (await (await fetch(layerUrl)).json()) as WhepLayers;
    expect(listed.layers.map((l) => l.encodingId).sort()).toEqual(layers.map((r) => r.name).sort());

    // From before the pin: the switch happens at the layer's first keyframe, which may come before
    // the layer resource says `active` (a layer sends keyframes only when asked).
    const from = viewer.video.length;
    const pinned = await fetch(layerUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ encodingId: lowest.name }) });
    expect(pinned.status).toBe(200);
    await pollUntil(`the viewer on ${lowest.name}`, async () => ((await (await fetch(layerUrl)).json()) as WhepLayers).active === lowest.name, { timeoutMs: 10_000, intervalMs: 100 });
    const switchedAt = performance.now();
    await pollUntil('2 s of the pinned layer', () => viewer!.video.at(-1)!.receivedAt - switchedAt > 2000, { timeoutMs: 15_000, intervalMs: 100 });

    const after = viewer.video.slice(from);
    const packets = after.slice(after.findIndex((p) => p.keyframe)).sort((a, b) => serialDiff(b.sequenceNumber, a.sequenceNumber, 0x10000));
    const { frames, errors } = await decodeH264(annexBFromRtp(packets.map((p) => p.payload)), join(dataDir, 'lowest.h264'));
    expect(errors).toEqual([]);
    // The source's picture until the switch, then the pinned layer's only, entered at a keyframe.
    const lowSize = `${lowest.width}x${lowest.height}`;
    const first = frames.findIndex((f) => `${f.width}x${f.height}` === lowSize);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(frames[first]!.keyFrame).toBe(true);
    expect(new Set(frames.slice(first).map((f) => `${f.width}x${f.height}`))).toEqual(new Set([lowSize]));
    expect(frames.length - first).toBeGreaterThan(20);

    // The switch off: one stream, no simulcast in the offer.
    await page.click('[data-testid="stop"]');
    await pollUntil('the broadcaster idle', async () => (await page.getAttribute('[data-testid="broadcaster"]', 'data-state')) === 'idle', { timeoutMs: 10_000, intervalMs: 100 });
    await page.uncheck('[data-testid="simulcast"]');
    await page.click('[data-testid="go-live"]');
    await pollUntil('the broadcaster live again', async () => (await page.getAttribute('[data-testid="broadcaster"]', 'data-state')) === 'live', { timeoutMs: 30_000, intervalMs: 100 });
    expect(offers).toHaveLength(2);
    expect(offers[1]).not.toContain('a=simulcast');
    const single = await pollUntil('the source alone', async () => {
      const renditions = await renditionsOf(stream.name);
      return renditions.length === 1 && renditions[0]!.height ? renditions : undefined;
    }, { timeoutMs: 15_000, intervalMs: 250 });
    expect(single[0]).toMatchObject({ name: 'source', kind: 'source' });
    await page.close();
  }, 120_000);
});
