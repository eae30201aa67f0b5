/**
 * Renditions chosen per viewer, over a real shaped link: the real services (ingest, transcoder)
 * with a werift WHIP publisher (640×360 at a constant 1.2 Mbit/s), the transcoder making a 360p
 * rung at 600 kbit/s and a 180p one at 200 kbit/s and sending them back as RTP; three headless
 * Chromium viewers over WHEP, each browser in a network namespace of its own behind a veth pair:
 *
 * - the shaped viewer: `tc tbf` on its link, 3 Mbit/s → 600 kbit/s → 3 Mbit/s. Its own RTCP
 *   feedback (REMB, receiver reports) moves it down to the rendition that fits within a few
 *   seconds, its picture never stops for long, and it comes back to the source after the limit;
 * - an unshaped viewer of the same stream: on the source from start to end;
 * - a viewer (same unshaped browser) that pinned 180p: stays there, though its link would carry more.
 *
 * The namespaces, veth pairs and qdiscs go whatever happens (afterAll, and each link removes a
 * leftover of an earlier run before it starts). Root only: skipped elsewhere, saying why.
 *
 * Opt-in for now (ONAIR_E2E_SHAPED_LINK=1): it has not passed yet on the 2-core machine it was
 * written on, shared with other sessions' tests (load 11–30): there Chromium's estimator reported
 * 73–928 kbit/s on the unshaped link (which then moved down too), the werift publisher's ICE
 * failed twice in eight runs, and the shaped viewer, on 180p 1.0–2.1 s after the drop, froze
 * 0.8–2.4 s (the lower rendition starts at its next keyframe, up to a 1 s GOP later, behind the
 * queue) and was back on the source 20 s after the limit was lifted (once; over 30 s in others).
 * Run it on an idle machine before trusting it.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WhepLayers } from '@onair/shared/api';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { pollUntil } from '../support/poll';
import { canShapeLinks, createShapedLink, type ShapedLink } from '../support/shaped-link';
import { startStack, type Stack } from '../support/stack';

const SHAPED_SUBNET = '10.214.0';
/**
 * The shaped link's queue, ms at its rate: a home router's. With 200 ms the source's excess is
 * dropped 200 ms after the limit, before the viewer can be moved (a rendition starts at its next
 * keyframe, up to a GOP later), and the picture freezes until then (measured: 1.4 s).
 */
const QUEUE_MS = 600;
const UNSHAPED_SUBNET = '10.214.1';
/** The source at a constant bitrate: noise keeps x264 at it, and the renditions at theirs. */
const SOURCE_KBPS = 1200;
/** 15 fps: half the encoding and decoding of 30 for the same bitrates (the test shares 2 cores with the services and two browsers). */
const FPS = 15;
const LAVFI = `testsrc2=size=640x360:rate=${FPS},noise=alls=24:allf=t`;
const PROFILE = {
  name: 'abr-e2e',
  description: 'two rungs under a 640x360 source, for the shaped-link test',
  gopSeconds: 1,
  rungs: [
    { name: '360p', width: 640, height: 360, maxFps: FPS, videoKbps: 600, preset: 'ultrafast' },
    { name: '180p', width: 320, height: 180, maxFps: FPS, videoKbps: 200, preset: 'ultrafast' },
  ],
};

interface ViewerPage {
  page: Page;
  /** The session's layer resource (WHEP layer extension). */
  layerUrl: string;
  layers(): Promise<WhepLayers>;
}

/**
 * A WHEP viewer in `page` (whose origin is the ingest): recvonly video + audio, the <video>
 * element's presented frames recorded with requestVideoFrameCallback (`window.frameTimes`).
 */
async function watch(page: Page, ingestUrl: string, stream: string): Promise<ViewerPage> {
  await page.goto(`${ingestUrl}/healthz`);
  const layerPath = await page.evaluate(async (whepPath) => {
    const w = window as unknown as { frameTimes: number[]; pc: RTCPeerConnection };
    w.frameTimes = [];
    const pc = new RTCPeerConnection();
    w.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    document.body.append(video);
    const media = new MediaStream();
    pc.ontrack = (event) => {
      media.addTrack(event.track);
      video.srcObject = media;
    };
    const onFrame = (now: number) => {
      w.frameTimes.push(now);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      setTimeout(resolve, 1000);
    });
    const res = await fetch(whepPath, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp });
    if (res.status !== 201) throw new Error(`WHEP answered ${res.status}: ${await res.text()}`);
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    return /<([^>]+)>;\s*rel="urn:ietf:params:whep:ext:core:layer"/.exec(res.headers.get('link') ?? '')?.[1] ?? '';
  }, `/whep/${stream}`);
  expect(layerPath, 'the WHEP answer links the layer resource').not.toBe('');
  const layerUrl = new URL(layerPath, ingestUrl).toString();
  return { page, layerUrl, layers: async () => (await (await fetch(layerUrl, { signal: AbortSignal.timeout(3000) })).json()) as WhepLayers };
}

/** The longest time between two presented frames since `sinceMs` (page clock), and how many frames came. */
async function longestFreeze(page: Page, sinceMs = 0): Promise<{ longestMs: number; frames: number; pageNow: number }> {
  return page.evaluate((since) => {
    const times = (window as unknown as { frameTimes: number[] }).frameTimes.filter((t) => t >= since);
    let longestMs = 0;
    for (let i = 1; i < times.length; i++) longestMs = Math.max(longestMs, times[i]! - times[i - 1]!);
    const now = performance.now();
    // A picture that stopped and never came back is a freeze too.
    if (times.length > 0) longestMs = Math.max(longestMs, now - times.at(-1)!);
    return { longestMs: Math.round(longestMs), frames: times.length, pageNow: now };
  }, sinceMs);
}

const pageNow = (page: Page) => page.evaluate(() => performance.now());

const OPTED_IN = process.env.ONAIR_E2E_SHAPED_LINK === '1';

describe.skipIf(!canShapeLinks() || !OPTED_IN)('renditions per viewer over a shaped link (root: network namespaces and tc)', () => {
  let shaped: ShapedLink | undefined;
  let unshaped: ShapedLink | undefined;
  let stack: Stack | undefined;
  let publisher: WeriftH264Publisher | undefined;
  const browsers: TestBrowser[] = [];

  beforeAll(async () => {
    shaped = createShapedLink('onair-abr-s', SHAPED_SUBNET);
    unshaped = createShapedLink('onair-abr-u', UNSHAPED_SUBNET);
    shaped.limit(3000, QUEUE_MS);
    // The ingest listens on the shaped link's host end, its one ICE host (libdatachannel, whose
    // viewers report their RTCP feedback, binds a single one): the viewers in the namespaces reach
    // it each through its own pair, the publisher and the transcoder on this machine directly.
    stack = await startStack({ transcoder: true, ingestHost: shaped.hostAddress });
  }, 90_000);

  afterAll(async () => {
    for (const browser of browsers) await browser.close().catch(() => undefined);
    await publisher?.stop().catch(() => undefined);
    await stack?.close();
    shaped?.remove();
    unshaped?.remove();
  });

  it('the shaped viewer moves down within seconds without a long freeze and back up after; the unshaped one stays on the source; a pin holds', async () => {
    const st = stack!;
    const transcoder = (path: string, init: RequestInit) =>
      fetch(`${st.transcoderUrl}${path}`, { ...init, headers: { Authorization: `Bearer ${st.adminToken}`, 'Content-Type': 'application/json' } });
    expect((await transcoder('/api/profiles', { method: 'POST', body: JSON.stringify(PROFILE) })).status).toBe(201);
    expect((await transcoder('/api/jobs/abr/profile', { method: 'PUT', body: JSON.stringify({ profile: PROFILE.name }) })).status).toBe(200);
    const stream = await st.createStream('abr');
    // werift's ICE (JavaScript) timed out on a loaded machine: one more publisher if the first never connects.
    for (let attempt = 1; ; attempt++) {
      publisher = await startWeriftH264Publisher({ whipUrl: `${st.ingestUrl}/whip`, streamKey: stream.streamKey, lavfi: LAVFI, fps: FPS, videoKbps: SOURCE_KBPS });
      const connected = await Promise.race([publisher.connected.then(() => true, () => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000))]);
      if (connected || attempt === 2) break;
      await publisher.stop({ delete: true });
    }
    await pollUntil('the 360p and 180p renditions in the ingest', async () => {
      const res = await st.adminFetch(`/api/streams/${stream.id}/renditions`);
      const { sets } = (await res.json()) as { sets: Array<{ renditions: Array<{ name: string; packets: number }> }> };
      return sets[0]?.renditions.map((r) => r.name).join() === '360p,180p' && sets[0].renditions.every((r) => r.packets > 30);
    }, { timeoutMs: 45_000, intervalMs: 250 });

    const shapedBrowser = await launchBrowser([], { executablePath: shaped!.chromiumPath });
    browsers.push(shapedBrowser);
    const unshapedBrowser = await launchBrowser([], { executablePath: unshaped!.chromiumPath });
    browsers.push(unshapedBrowser);
    const slow = await watch(await shapedBrowser.context.newPage(), st.ingestUrl, 'abr');
    const fast = await watch(await unshapedBrowser.context.newPage(), st.ingestUrl, 'abr');
    const pinned = await watch(await unshapedBrowser.context.newPage(), st.ingestUrl, 'abr');
    const pin = await fetch(pinned.layerUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ encodingId: '180p' }) });
    expect(pin.status).toBe(200);

    // What the unshaped and the pinned viewers get, sampled all along.
    const seen = { fast: new Set<string>(), pinned: new Set<string>() };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [f, p] = await Promise.all([fast.layers(), pinned.layers()]);
        seen.fast.add(f.active);
        if (p.pending === null) seen.pinned.add(p.active);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    try {
      // All three playing; the shaped viewer on the source while its link carries it, for 4 s in
      // a row (Chromium's bandwidth estimator starts a few seconds in, from below the rate).
      for (const viewer of [slow, fast, pinned]) await pollUntil('frames on every viewer', async () => (await longestFreeze(viewer.page)).frames > FPS, { timeoutMs: 20_000, intervalMs: 200 });
      await pollUntil('the pinned viewer on 180p', async () => (await pinned.layers()).active === '180p', { timeoutMs: 5_000, intervalMs: 100 });
      let onSourceSince: number | undefined;
      await pollUntil('the shaped viewer 4 s on the source at 3 Mbit/s', async () => {
        if ((await slow.layers()).active !== 'source') onSourceSince = undefined;
        else onSourceSince ??= Date.now();
        return onSourceSince !== undefined && Date.now() - onSourceSince >= 4_000;
      }, { timeoutMs: 25_000, intervalMs: 250 });

      // The drop: 600 kbit/s. The source (1.2 Mbit/s) and 360p (600) do not fit, 180p does.
      const droppedAt = await pageNow(slow.page);
      const dropped = performance.now();
      shaped!.limit(600, QUEUE_MS);
      await pollUntil('the shaped viewer on 180p', async () => (await slow.layers()).active === '180p', { timeoutMs: 8_000, intervalMs: 50 });
      const downMs = Math.round(performance.now() - dropped);
      // It plays on down there: 4 s of 180p with frames coming.
      const settled = Date.now() + 4_000;
      await pollUntil('4 s on 180p', () => Date.now() >= settled, { timeoutMs: 6_000, intervalMs: 250 });
      const during = await longestFreeze(slow.page, droppedAt);
      console.log(`shaped link: on 180p ${downMs} ms after the drop to 600 kbit/s; ${during.frames} frames in the ${Math.round(during.pageNow - droppedAt)} ms since, the longest freeze ${during.longestMs} ms`);

      // The limit lifted: back up, one rung at a time, to the source.
      const lifted = performance.now();
      shaped!.limit(3000, QUEUE_MS);
      await pollUntil('the shaped viewer back on the source', async () => (await slow.layers()).active === 'source', { timeoutMs: 35_000, intervalMs: 250 });
      const upMs = Math.round(performance.now() - lifted);
      const overall = await longestFreeze(slow.page, droppedAt);
      console.log(`shaped link: 3 → 0.6 Mbit/s, on 180p ${downMs} ms after the drop; longest freeze ${during.longestMs} ms while limited, ${overall.longestMs} ms overall; back on the source ${upMs} ms after the limit was lifted`);
      expect(downMs, 'from the drop to the fitting rendition').toBeLessThan(5_000);
      expect(overall.longestMs, 'the longest time without a new frame, from the drop to the end').toBeLessThanOrEqual(500);
    } finally {
      sampling = false;
      await sampler.catch(() => undefined);
    }
    expect([...seen.fast], 'renditions the unshaped viewer got').toEqual(['source']);
    expect([...seen.pinned], 'renditions the pinned viewer got').toEqual(['180p']);
    expect((await fast.layers()).active).toBe('source');

    // The operator's view: viewers per rendition, and the moves counted per stream.
    const streams = (await (await st.adminFetch('/api/streams')).json()) as Array<{ name: string; state: { renditions: Array<{ name: string; viewers: number }> } }>;
    expect(streams.find((s) => s.name === 'abr')!.state.renditions.map((r) => `${r.name}:${r.viewers}`)).toEqual(['source:2', '360p:0', '180p:1']);
    const metrics = await (await fetch(`${st.ingestUrl}/metrics`)).text();
    // Labels in any order: the registry adds service="ingest" to every series.
    const switches = (direction: string) => {
      const line = metrics.split('\n').find((l) => l.startsWith('onair_ingest_rendition_switches_total{') && l.includes('stream="abr"') && l.includes(`direction="${direction}"`));
      return Number(line?.split(' ').at(-1) ?? -1);
    };
    expect(switches('down')).toBeGreaterThanOrEqual(1);
    expect(switches('up')).toBeGreaterThanOrEqual(1);
  }, 150_000);
});
