/**
 * Chromium (fake camera, H.264 + opus) publishes over WHIP and another Chromium page plays over
 * WHEP: the browser's own offers, codecs and RTCP go through the ingest, and the player decodes
 * frames. Measures time to first decoded frame.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../../../test/support/browser';
import { pollUntil } from '../../../test/support/poll';
import { createIngest, type Ingest } from './app';
import { loadIngestConfig } from './config';

let ingest: Ingest;
let base: string;
let dataDir: string;
let browser: TestBrowser;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'onair-ingest-chromium-'));
  const config = loadIngestConfig({ ONAIR_DATA_DIR: dataDir, ONAIR_INGEST_PORT: '0', ONAIR_WEBTRANSPORT_PORT: 'off', ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_ADMIN_TOKEN: 'test-admin-token-0123456789' });
  ingest = await createIngest(config, pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' }));
  base = `http://127.0.0.1:${(await ingest.listen()).port}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await ingest?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function publish(page: Page, key: string): Promise<{ status: number; codec: string | undefined; answerMs: number }> {
  return page.evaluate(async (streamKey) => {
    const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
    const pc = new RTCPeerConnection();
    for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      setTimeout(resolve, 1000);
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    });
    const started = performance.now();
    const res = await fetch('/whip', { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${streamKey}` }, body: pc.localDescription!.sdp });
    const answer = await res.text();
    const answerMs = performance.now() - started;
    if (res.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    (globalThis as unknown as { publisher: RTCPeerConnection }).publisher = pc;
    return { status: res.status, codec: /a=rtpmap:\d+ (\w+)\/90000/.exec(answer)?.[1], answerMs };
  }, key);
}

async function play(page: Page, name: string): Promise<{ status: number }> {
  return page.evaluate(async (streamName) => {
    const state = { started: performance.now(), firstFrameMs: undefined as number | undefined, frames: 0 };
    (globalThis as unknown as { playback: typeof state }).playback = state;
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    document.body.append(video);
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.ontrack = (event) => {
      stream.addTrack(event.track);
      video.srcObject = stream;
    };
    const onFrame = () => {
      state.frames += 1;
      state.firstFrameMs ??= performance.now() - state.started;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      setTimeout(resolve, 1000);
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    });
    state.started = performance.now();
    const res = await fetch(`/whep/${streamName}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp });
    if (res.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    return { status: res.status };
  }, name);
}

const playback = (page: Page) => page.evaluate(() => (globalThis as unknown as { playback: { firstFrameMs?: number; frames: number } }).playback);

describe('Chromium → WHIP → ingest → WHEP → Chromium', () => {
  it('plays the browser\'s H.264 with advancing frames', async () => {
    const record = await ingest.store.create('chrome');
    const publisherPage = await browser.context.newPage();
    await publisherPage.goto(`${base}/api/streams/live`);
    const published = await publish(publisherPage, record.streamKey);
    expect(published).toMatchObject({ status: 201, codec: 'H264' });
    console.log(`Chromium WHIP answer: ${published.answerMs.toFixed(0)} ms`);
    await pollUntil('Chromium publishing', () => ingest.media.liveState(record.id).video?.width ?? undefined, { timeoutMs: 15_000 });
    expect(ingest.media.liveState(record.id)).toMatchObject({ live: true, video: { codec: 'H264', width: 640, height: 360 }, audio: { codec: 'opus' } });

    const viewerPage = await browser.context.newPage();
    await viewerPage.goto(`${base}/api/streams/live`);
    expect(await play(viewerPage, 'chrome')).toEqual({ status: 201 });
    const first = await pollUntil('a decoded frame in the player', async () => (await playback(viewerPage)).firstFrameMs, { timeoutMs: 10_000 });
    console.log(`Chromium WHEP: POST → first decoded frame ${first.toFixed(0)} ms`);
    const framesAt = (await playback(viewerPage)).frames;
    await pollUntil('frames advancing', async () => (await playback(viewerPage)).frames >= framesAt + 15, { timeoutMs: 5_000 });
    await publisherPage.close();
    await viewerPage.close();
  });
});
