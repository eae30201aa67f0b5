/**
 * A transcoder in a cluster: no event connection to any ingest. It learns of live streams from
 * Redis, makes its forward on the stream's origin node, and holds the forward's lease as a key
 * with a TTL in Redis — so "forwards end with their transcoder" holds across nodes: SIGKILLed,
 * its forward on the origin ends when the key expires; restarted at once, the new instance's
 * announcement ends the old forward before that. A viewer on the origin that decodes VP8 only gets
 * the VP8 rendition the transcoder makes while it watches: the want goes over Redis too. A viewer
 * on an edge node moves between the renditions the origin holds (pulled along with the source).
 */
import type { Redis } from 'ioredis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WhepLayers } from '@onair/shared/api';
import { CLUSTER_EVENTS_CHANNEL, clusterKeys } from '@onair/service/cluster-keys';
import { createRedis } from '@onair/service/redis';
import { serialDiff } from '../../apps/ingest/src/router/rtp-rewriter';
import { startClusterStack, type ClusterStack } from '../support/cluster-stack';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { startWeriftWhepViewer, type WeriftWhepViewer } from '../support/peers/werift-whep-viewer';
import { pollUntil } from '../support/poll';
import { startRedisServer, type TestRedis } from '../support/redis-server';
import { decodeVp8, ivfFromRtp } from '../support/vp8-ivf';
import { annexBFromRtp, decodeH264 } from '../support/h264-annexb';
import { renditionSets, renditionsFlowing } from '../support/renditions';

interface ForwardRow {
  id: string;
  owner?: string;
  instance?: string;
  packetsSent: number;
}

/** A VP8-only viewer gets 1 s of VP8 from a keyframe within `timeoutMs`, listed as its only codec, that decodes without an error. */
async function playsVp8(viewer: WeriftWhepViewer, size: { width: number; height: number }, timeoutMs: number): Promise<void> {
  await pollUntil('1 s of VP8 from a keyframe at the viewer', () => {
    const first = viewer.video.find((p) => p.keyframe);
    return first !== undefined && serialDiff(first.timestamp, viewer.video.at(-1)!.timestamp, 0x1_0000_0000) > 90_000;
  }, { timeoutMs, intervalMs: 100 });
  const layers = (await (await fetch(viewer.layerUrl!)).json()) as WhepLayers;
  expect(layers.layers.map((l) => l.codec)).toEqual(['VP8']);
  const packets = [...viewer.video].sort((a, b) => serialDiff(b.sequenceNumber, a.sequenceNumber, 0x10000));
  const dir = await mkdtemp(join(tmpdir(), 'onair-cluster-vp8-'));
  try {
    const { frames, errors } = await decodeVp8(ivfFromRtp(packets, size), join(dir, 'viewer.ivf'));
    expect(errors).toEqual([]);
    expect(frames[0]?.keyFrame).toBe(true);
    expect(frames.length).toBeGreaterThan(15);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let redis: TestRedis;
let cluster: ClusterStack;
let publisher: WeriftH264Publisher | undefined;
let client: Redis;

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await startClusterStack({ redisUrl: redis.url, nodes: ['a', 'b'], transcoders: ['tc'] });
  client = createRedis({ url: redis.url, name: 'test', log: pino({ level: 'silent' }) });
}, 120_000);

afterAll(async () => {
  await publisher?.stop({ delete: true }).catch(() => undefined);
  client?.disconnect();
  await cluster?.close();
  await redis?.close();
}, 60_000);

describe('a transcoder in the cluster', () => {
  let stream: { id: string; name: string; streamKey: string };
  const forwardsOnB = async (): Promise<ForwardRow[]> => {
    const res = await cluster.adminFetch('b', `/api/streams/${stream.id}/forwards`, { signal: AbortSignal.timeout(5_000) });
    return ((await res.json()) as { forwards: ForwardRow[] }).forwards;
  };

  it('transcodes a stream created on A and live on B: events from Redis, the forward on B, HLS served', async () => {
    stream = await cluster.createStream('a', 'tx');
    publisher = await startWeriftH264Publisher({ whipUrl: `${cluster.node('b').url}/whip`, streamKey: stream.streamKey, width: 320, height: 180 });
    const forwards = await pollUntil('a forward on B sending', async () => {
      const rows = await forwardsOnB();
      return rows.length === 1 && rows[0]!.packetsSent > 0 ? rows : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(forwards[0]!.owner).toBe('tc');
    const playlist = await pollUntil('the HLS playlist', async () => {
      const res = await fetch(`${cluster.node('tc').url}/hls/tx/index.m3u8`, { signal: AbortSignal.timeout(5_000) });
      return res.ok ? res.text() : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(playlist).toContain('#EXTM3U');
    // A has no forward: it is not the origin.
    const onA = await cluster.adminFetch('a', `/api/streams/${stream.id}/forwards`);
    expect(((await onA.json()) as { forwards: ForwardRow[] }).forwards).toEqual([]);
  }, 90_000);

  it('a viewer that decodes VP8 only, on the origin B, plays the VP8 rendition the cluster\'s transcoder makes for it (the want told over Redis)', async () => {
    const viewer = await startWeriftWhepViewer({ whepUrl: `${cluster.node('b').url}/whep/tx`, video: ['VP8'] });
    try {
      expect(viewer.response.status).toBe(201);
      expect(viewer.videoCodec).toBe('VP8');
      await viewer.connected;
      await playsVp8(viewer, { width: 320, height: 180 }, 45_000);
    } finally {
      await viewer.close({ delete: true });
    }
  }, 90_000);

  it('a viewer on the edge A gets the renditions the origin B holds: pinned from its POST, listed with their transcode delay, one continuous decodable stream, back after a takeover on B; a VP8-only viewer there plays VP8', async () => {
    const ladder = await cluster.createStream('a', 'ladder');
    const ladderPublisher = await startWeriftH264Publisher({ whipUrl: `${cluster.node('b').url}/whip`, streamKey: ladder.streamKey, width: 854, height: 480 });
    const publishers = [ladderPublisher];
    let viewer: WeriftWhepViewer | undefined;
    let vp8Viewer: WeriftWhepViewer | undefined;
    try {
      await renditionsFlowing({ adminFetch: (path, init) => cluster.adminFetch('b', path, init) }, ladder.id, ['480p', '360p']);
      // The first viewer on A asks for 360p (`?layer=`): A, not pulling the stream yet, pulls it and
      // its renditions, and answers once 360p is there to pin.
      viewer = await startWeriftWhepViewer({ whepUrl: `${cluster.node('a').url}/whep/ladder?layer=360p`, video: ['H264'] });
      await viewer.connected;
      const layers = async (body?: unknown) => {
        const res = await fetch(viewer!.layerUrl!, body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
        expect(res.status).toBe(200);
        return (await res.json()) as WhepLayers;
      };
      // The edge reads the origin's renditions every directory tick (1 s) and pulls each.
      const listed = await pollUntil('the renditions listed on the edge', async () => {
        const now = await layers();
        return now.layers.length === 3 && now.layers.every((l) => l.bitrateKbps > 0) ? now : undefined;
      }, { timeoutMs: 20_000, intervalMs: 200 });
      expect(listed.layers.map((l) => `${l.encodingId} ${l.kind} ${l.width}x${l.height}`)).toEqual(['source source 854x480', '480p transcoded 854x480', '360p transcoded 640x360']);
      // Carried from the origin: the edge holds the sound back by it, as the origin does.
      expect(listed.layers.find((l) => l.encodingId === '360p')!.delayMs).toBeGreaterThan(0);
      const pulls = (await (await cluster.adminFetch('a', '/api/cluster')).json()) as { pulls: Array<{ streamId: string; renditions: string[] }> };
      expect(pulls.pulls.find((p) => p.streamId === ladder.id)?.renditions.sort()).toEqual(['360p', '480p']);

      const framesSoFar = () => new Set(viewer!.video.map((p) => p.timestamp)).size;
      const holds: Record<string, number | undefined> = {};
      for (const [target, frames] of [['360p', 45], ['source', 30]] as const) {
        if (target === 'source') await layers({ encodingId: 'source' });
        await pollUntil(`the edge viewer on ${target}`, async () => (await layers()).active === target, { timeoutMs: 5_000, intervalMs: 50 });
        const until = framesSoFar() + frames;
        await pollUntil(`${frames} frames of ${target}`, () => framesSoFar() >= until, { timeoutMs: 15_000, intervalMs: 50 });
        holds[target] = (await layers()).audioHoldMs;
      }
      // The edge holds the sound back by the rendition's delay behind the source, as the origin would.
      expect(holds['360p']).toBeGreaterThan(20);
      expect(holds.source).toBe(0);
      const packets = [...viewer.video];
      for (let i = 1; i < packets.length; i++) expect(serialDiff(packets[i - 1]!.sequenceNumber, packets[i]!.sequenceNumber, 0x10000), `sequence at ${i}`).toBe(1);
      const dir = await mkdtemp(join(tmpdir(), 'onair-edge-renditions-'));
      try {
        const { frames, errors } = await decodeH264(annexBFromRtp(packets.map((p) => p.payload)), join(dir, 'viewer.h264'));
        expect(errors).toEqual([]);
        expect(frames[0]!.keyFrame).toBe(true);
        expect(frames.map((f) => `${f.width}x${f.height}`).filter((size, i, all) => size !== all[i - 1])).toEqual(['640x360', '854x480']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      // The publisher reconnects to B (a takeover there: a new lease token). B's renditions end
      // with the old publisher, and so do the edge's pulls of them; the edge pulls them again,
      // presenting the token B holds now, and its viewer pins 360p again.
      const onB = { adminFetch: (path: string, init?: RequestInit) => cluster.adminFetch('b', path, init) };
      const oldSet = (await renditionSets(onB, ladder.id))[0]!.id;
      const takeover = await startWeriftH264Publisher({ whipUrl: `${cluster.node('b').url}/whip`, streamKey: ladder.streamKey, width: 854, height: 480 });
      publishers.push(takeover);
      await pollUntil('new renditions on B after the takeover', async () => {
        const set = (await renditionSets(onB, ladder.id))[0];
        return set && set.id !== oldSet && set.renditions.every((r) => r.packets > 30);
      }, { timeoutMs: 45_000, intervalMs: 250 });
      await pollUntil('the edge viewer on 360p after the takeover', async () => {
        const res = await fetch(viewer!.layerUrl!, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ encodingId: '360p' }) });
        return res.ok && ((await res.json()) as WhepLayers).active === '360p';
      }, { timeoutMs: 30_000, intervalMs: 250 }).catch((error: unknown) => {
        const lines = (id: string) => cluster.logs(id).filter((line) => /rendition|edge pull|take|layer/i.test(line)).slice(-40).map((line) => line.slice(0, 400)).join('\n');
        console.error(`A:\n${lines('a')}\nB:\n${lines('b')}`);
        throw error;
      });

      console.log(`[cluster] edge renditions: ${listed.layers.map((l) => `${l.encodingId} delay ${l.delayMs ?? '-'} ms`).join(', ')}; the edge viewer's sound held ${holds['360p']} ms on 360p, ${holds.source} ms on the source`);

      // A VP8-only viewer on the edge: the edge pulls the stream in VP8 from the origin, which has
      // the cluster's transcoder make it, as for its own viewers.
      vp8Viewer = await startWeriftWhepViewer({ whepUrl: `${cluster.node('a').url}/whep/ladder`, video: ['VP8'] });
      expect(vp8Viewer.videoCodec).toBe('VP8');
      const asked = performance.now();
      await vp8Viewer.connected;
      await playsVp8(vp8Viewer, { width: 854, height: 480 }, 30_000);
      const vp8Ms = Math.round(performance.now() - asked);
      console.log(`[cluster] a VP8-only viewer on the edge: 1 s of VP8 from a keyframe ${vp8Ms} ms after its offer was answered`);
    } finally {
      await vp8Viewer?.close({ delete: true });
      await viewer?.close({ delete: true });
      for (const p of publishers) await p.stop({ delete: true }).catch(() => undefined);
    }
  }, 120_000);

  it("SIGKILLed: its forward on B ends when its Redis lease expires; a new instance's announcement ends the old one's forward at once", async () => {
    await cluster.kill('tc');
    const killed = performance.now();
    await pollUntil('the forward to end', async () => (await forwardsOnB()).length === 0, { timeoutMs: 15_000, intervalMs: 100 });
    const expiredMs = performance.now() - killed;
    // Not before the TTL (5 s) ran out: a transcoder missing one renewal keeps its forwards.
    expect(expiredMs).toBeGreaterThan(4_000);

    await cluster.start('tc');
    const first = await pollUntil('a new instance forwarding', async () => {
      const rows = await forwardsOnB();
      return rows.length === 1 && rows[0]!.packetsSent > 0 ? rows[0] : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });

    await cluster.kill('tc');
    const replaced = performance.now();
    // What a new process of 'tc' announces as it starts (cluster-ingest-client.ts), said here at
    // once so that the process's start-up time does not blur the figure.
    await client.multi().set(clusterKeys.transcoder('fresh'), 'tc', 'PX', 5_000).set(clusterKeys.transcoderOwner('tc'), 'fresh', 'PX', 5_000).exec();
    await client.publish(CLUSTER_EVENTS_CHANNEL, JSON.stringify({ type: 'transcoder.replaced', owner: 'tc', instance: 'fresh' }));
    await pollUntil("the old instance's forward to end", async () => !(await forwardsOnB()).some((row) => row.instance === first.instance), { timeoutMs: 3_000, intervalMs: 20 });
    const replacedMs = performance.now() - replaced;
    expect(replacedMs).toBeLessThan(2_000);
    await cluster.start('tc');
    const now = await pollUntil("exactly one forward, the restarted instance's", async () => {
      const rows = await forwardsOnB();
      return rows.length === 1 && rows[0]!.instance !== first.instance && rows[0]!.instance !== 'fresh' && rows[0]!.packetsSent > 0 ? rows : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(now[0]!.owner).toBe('tc');
    console.log(`[cluster] transcoder SIGKILL: its forward on the origin ended ${Math.round(expiredMs)} ms later (lease TTL 5 s); a new instance's announcement ended the old forward ${Math.round(replacedMs)} ms after it was published`);
  }, 120_000);
});
