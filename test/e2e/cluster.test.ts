/**
 * A whole onair cluster on loopback, watched in Chromium: Redis (the test's own, AOF), three
 * ingest nodes A, B, C, two transcoders and one web node. A publisher goes live on A; werift
 * viewers watch on B and C (edges). What a person running it relies on:
 * - Chromium on the web node plays the stream over WHEP (its POST lands on any ingest) and over
 *   LL-HLS (the web's /hls proxy finds the transcoder running the job);
 * - kill -9 the transcoder running the job: the other takes it over and the HLS page plays on by
 *   itself (hls.js recovering, or the player's own recovery);
 * - Redis killed and restarted: every node reconnects, the pages keep playing, no stream or key
 *   is lost, the job stays where it was;
 * - kill -9 origin A: the broadcaster's reconnect to B makes B the origin, and the edge viewers,
 *   the Chromium pages and the transcoder's input follow by themselves.
 * Figures are printed with a [cluster e2e] prefix.
 */
import type { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '@onair/service/cluster-keys';
import { createRedis } from '@onair/service/redis';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startClusterStack, type ClusterStack } from '../support/cluster-stack';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { startWeriftWhepViewer, type WeriftWhepViewer } from '../support/peers/werift-whep-viewer';
import { decodedFrames, waitForAdvancingVideo } from '../support/playback';
import { pollUntil } from '../support/poll';
import { startRedisServer, type TestRedis } from '../support/redis-server';

const VIDEO = '[data-testid="video"]';
const transcoders = ['t1', 't2'];
let redis: TestRedis;
let cluster: ClusterStack;
let client: Redis;
let browser: TestBrowser;
let stream: { id: string; name: string; streamKey: string };
const publishers: WeriftH264Publisher[] = [];
const viewers: WeriftWhepViewer[] = [];
let webrtcPage: Page;
let hlsPage: Page;

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await startClusterStack({ redisUrl: redis.url, nodes: ['a', 'b', 'c'], transcoders, webs: ['w'] });
  client = createRedis({ url: redis.url, name: 'test', log: pino({ level: 'silent' }), commandTimeoutMs: 5_000 });
  browser = await launchBrowser();
  stream = await cluster.createStream('c', 'main');
  publishers.push(await startWeriftH264Publisher({ whipUrl: `${cluster.node('a').url}/whip`, streamKey: stream.streamKey, width: 320, height: 180 }));
  await publishers[0]!.connected;
  // Connected is not yet live in the directory: an edge's POST before that is a 404.
  await pollUntil('A to hold the stream in the directory', async () => (await streamLease())?.node === 'a', { timeoutMs: 20_000, intervalMs: 50 });
}, 240_000);

afterAll(async () => {
  for (const viewer of viewers) await viewer.close({ delete: false }).catch(() => undefined);
  for (const publisher of publishers) await publisher.stop({ delete: false }).catch(() => undefined);
  await browser?.close();
  client?.disconnect();
  await cluster?.close();
  await redis?.close();
}, 60_000);

const watchUrl = (mode: 'webrtc' | 'hls') => `${cluster.node('w').url}/watch/${stream.name}?mode=${mode}`;

async function player(page: Page): Promise<Record<string, string | undefined>> {
  return page.$eval('[data-testid="player"]', (el) => ({ ...(el as HTMLElement).dataset })).catch(() => ({}));
}

/** Resolves once `page` has decoded `frames` more frames than it had when called. */
async function advances(page: Page, what: string, frames = 30, timeoutMs = 30_000): Promise<void> {
  const from = await decodedFrames(page, VIDEO);
  try {
    await pollUntil(what, async () => (await decodedFrames(page, VIDEO)) - from >= frames, { timeoutMs, intervalMs: 100 });
  } catch (error) {
    throw new Error(`${(error as Error).message}; player ${JSON.stringify(await player(page))}`);
  }
}

/** Resolves once the viewer has a keyframe and `more` video packets past what it had. */
function plays(viewer: WeriftWhepViewer, what: string, more = 60, timeoutMs = 30_000): Promise<unknown> {
  const from = viewer.video.length;
  return pollUntil(what, () => viewer.firstKeyframeAt() !== undefined && viewer.video.length >= from + more, { timeoutMs, intervalMs: 50 });
}

/** The packager epochs in the names of the media files `page` has fetched (one per transcoder run). */
async function fetchedEpochs(page: Page): Promise<Set<string>> {
  const names = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
  return new Set(names.flatMap((name) => /\/(?:part|seg)-([^-/]+)-\d+\.m4s/.exec(name)?.[1] ?? []));
}

async function jobLease(): Promise<{ owner: string; token: number } | undefined> {
  const fields = await client.hgetall(clusterKeys.job(stream.id));
  return fields.owner ? { owner: fields.owner, token: Number(fields.token) } : undefined;
}

async function streamLease(): Promise<{ node: string; token: number } | undefined> {
  const fields = await client.hgetall(clusterKeys.live(stream.id));
  return fields.node ? { node: fields.node, token: Number(fields.token) } : undefined;
}

describe('an onair cluster: three ingests, two transcoders, one web node', () => {
  it('Chromium on the web node plays the stream published to A over WHEP and over LL-HLS; werift viewers on B and C play it', async () => {
    viewers.push(await startWeriftWhepViewer({ whepUrl: `${cluster.node('b').url}/whep/${stream.name}`, video: ['H264'] }));
    viewers.push(await startWeriftWhepViewer({ whepUrl: `${cluster.node('c').url}/whep/${stream.name}`, video: ['H264'] }));
    await Promise.all(viewers.map((viewer, i) => plays(viewer, `edge viewer ${i}`)));

    webrtcPage = await browser.context.newPage();
    await webrtcPage.goto(watchUrl('webrtc'));
    const webrtc = await waitForAdvancingVideo(webrtcPage, { selector: VIDEO, minFrames: 30, timeoutMs: 30_000 });
    expect((await player(webrtcPage)).mode).toBe('webrtc');

    await pollUntil('a transcoder to hold the job', () => jobLease(), { timeoutMs: 30_000 });
    hlsPage = await browser.context.newPage();
    // Room for every request of the run (the default of 250 fills in a minute of LL-HLS).
    await hlsPage.addInitScript(() => performance.setResourceTimingBufferSize(20_000));
    await hlsPage.goto(watchUrl('hls'));
    const hls = await waitForAdvancingVideo(hlsPage, { selector: VIDEO, minFrames: 30, timeoutMs: 45_000 });
    expect((await player(hlsPage)).mode).toBe('hls');
    // The page fetched HLS from the web node only, which found the transcoder by itself.
    const hlsRequests = await hlsPage.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/hls/')));
    expect(hlsRequests.length).toBeGreaterThan(0);
    expect(hlsRequests.every((n) => n.startsWith(`${cluster.node('w').url}/hls/`))).toBe(true);
    console.log(`[cluster e2e] WHEP through the web node: ${webrtc.width}×${webrtc.height}, frames after ${webrtc.waitedMs} ms; LL-HLS through the web node (transcoder ${(await jobLease())?.owner}): frames after ${hls.waitedMs} ms`);
  }, 180_000);

  it('kill -9 the transcoder running the job: the other takes it over and the HLS page plays on by itself', async () => {
    const before = (await jobLease())!;
    const survivor = transcoders.find((id) => id !== before.owner)!;
    const oldEpochs = await fetchedEpochs(hlsPage);
    expect(oldEpochs.size).toBeGreaterThan(0);
    await cluster.kill(before.owner);
    const killed = performance.now();
    await pollUntil('the survivor to hold the job', async () => (await jobLease())?.owner === survivor, { timeoutMs: 20_000, intervalMs: 100 });
    const movedMs = performance.now() - killed;
    // Frames from the survivor's playlist: counted only from the moment it took over.
    await advances(hlsPage, 'the HLS page to play on after the takeover', 30, 45_000);
    const playingMs = performance.now() - killed;
    expect((await player(hlsPage)).state).toBe('live');
    expect((await player(hlsPage)).mode).toBe('hls');
    // What it plays now came from the survivor: media files of a packager it had not seen.
    expect([...(await fetchedEpochs(hlsPage))].some((epoch) => !oldEpochs.has(epoch))).toBe(true);
    // WebRTC never depended on the transcoder.
    await advances(webrtcPage, 'the WHEP page meanwhile', 30);
    console.log(`[cluster e2e] transcoder ${before.owner} SIGKILL: ${survivor} held the job after ${Math.round(movedMs)} ms; the HLS page played on ${Math.round(playingMs)} ms after the kill`);
    await cluster.start(before.owner);
  }, 150_000);

  it('Redis killed and restarted: nodes reconnect, the pages keep playing, no stream or key lost, the job stays', async () => {
    const listed = async (node: string) => {
      const res = await cluster.adminFetch(node, '/api/streams', { signal: AbortSignal.timeout(3_000) });
      if (!res.ok) return undefined;
      return ((await res.json()) as Array<{ id: string; name: string; streamKey: string }>).map(({ id, name, streamKey }) => ({ id, name, streamKey })).sort((x, y) => x.id.localeCompare(y.id));
    };
    const before = await listed('a');
    expect(before?.map((s) => s.name)).toContain('main');
    const job = (await jobLease())!;
    const lease = (await streamLease())!;

    const { downMs } = await redis.restart();
    const back = performance.now();
    for (const node of ['a', 'b', 'c']) expect(await pollUntil(`node ${node}'s admin API`, () => listed(node), { timeoutMs: 20_000, intervalMs: 50 })).toEqual(before);
    const adminMs = performance.now() - back;
    await pollUntil("the web node's /hls again", async () => (await fetch(`${cluster.node('w').url}/hls/${stream.name}/index.m3u8`, { signal: AbortSignal.timeout(3_000) })).ok, { timeoutMs: 20_000, intervalMs: 50 });
    const hlsMs = performance.now() - back;
    await Promise.all([advances(webrtcPage, 'the WHEP page after the restart'), advances(hlsPage, 'the HLS page after the restart'), ...viewers.map((viewer, i) => plays(viewer, `edge viewer ${i} after the restart`))]);
    // The leases came back from the AOF with their tokens and are renewed by their holders.
    await pollUntil('the job lease renewed with its token', async () => (await jobLease())?.token === job.token && (await client.pttl(clusterKeys.job(stream.id))) > 3_000, { timeoutMs: 10_000 });
    expect(await jobLease()).toEqual(job);
    expect(await streamLease()).toEqual(lease);
    console.log(`[cluster e2e] Redis SIGKILL + restart: down ${Math.round(downMs)} ms; every ingest's admin API answered ${Math.round(adminMs)} ms and the web's /hls ${Math.round(hlsMs)} ms after it was back; ${before!.length} streams and keys kept; job and stream leases kept their tokens`);
  }, 150_000);

  it("kill -9 origin A: the broadcaster's reconnect to B makes B the origin; edge viewers, the pages and the transcoder follow by themselves", async () => {
    expect((await streamLease())?.node).toBe('a');
    await cluster.kill('a');
    const killed = performance.now();
    // What a broadcaster's WHIP client does when its server goes away: publish again, here to B.
    const again = await startWeriftH264Publisher({ whipUrl: `${cluster.node('b').url}/whip`, streamKey: stream.streamKey, width: 320, height: 180 });
    publishers.push(again);
    await again.connected;
    await pollUntil('B to be the origin', async () => (await streamLease())?.node === 'b', { timeoutMs: 15_000, intervalMs: 50 });
    const originMs = performance.now() - killed;
    await Promise.all(viewers.map((viewer, i) => plays(viewer, `edge viewer ${i} on the new origin`, 60, 30_000)));
    const viewersMs = performance.now() - killed;
    await advances(webrtcPage, 'the WHEP page on the new origin', 30, 45_000);
    const webrtcMs = performance.now() - killed;
    await advances(hlsPage, 'the HLS page after the origin moved', 30, 45_000);
    const hlsMs = performance.now() - killed;
    for (const page of [webrtcPage, hlsPage]) expect((await player(page)).state).toBe('live');
    // The transcoder's input is on B now (its forward on A died with A).
    const forwards = ((await (await cluster.adminFetch('b', `/api/streams/${stream.id}/forwards`)).json()) as { forwards: Array<{ owner: string; packetsSent: number }> }).forwards;
    expect(forwards.map((forward) => forward.owner)).toEqual([(await jobLease())!.owner]);
    console.log(`[cluster e2e] origin A SIGKILL: B the origin ${Math.round(originMs)} ms later (publisher reconnect included); edge viewers on B and C playing at ${Math.round(viewersMs)} ms, the WHEP page at ${Math.round(webrtcMs)} ms, the HLS page at ${Math.round(hlsMs)} ms`);
  }, 180_000);
});
