/**
 * Two transcoders in a cluster: exactly one runs a stream's job (a lease in Redis), and when that
 * one dies the other takes the job over and carries the playlist on — same stream URL, the media
 * sequence going on past everything the dead one published, a discontinuity where it changed
 * hands. A transcoder paused past its lease (SIGSTOP) finds the job taken when it wakes and gives
 * it up instead of serving a second, stale playlist.
 * Figures (failover time) are printed with a [cluster] prefix.
 */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '@onair/service/cluster-keys';
import { createRedis } from '@onair/service/redis';
import { startClusterStack, type ClusterStack } from '../support/cluster-stack';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { holdsFor, pollUntil } from '../support/poll';
import { startRedisServer, type TestRedis } from '../support/redis-server';

let redis: TestRedis;
let cluster: ClusterStack;
let client: Redis;
let publisher: WeriftH264Publisher | undefined;
const transcoders = ['t1', 't2'];

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await startClusterStack({ redisUrl: redis.url, nodes: ['a'], transcoders });
  client = createRedis({ url: redis.url, name: 'test', log: pino({ level: 'silent' }) });
}, 120_000);

afterAll(async () => {
  await publisher?.stop({ delete: true }).catch(() => undefined);
  client?.disconnect();
  await cluster?.close();
  await redis?.close();
}, 60_000);

interface MediaPlaylist {
  mediaSequence: number;
  discontinuitySequence: number;
  /** Media sequence numbers of the segments listed (complete or in progress). */
  msns: number[];
  /** The msn of each segment that carries EXT-X-DISCONTINUITY. */
  discontinuities: number[];
  text: string;
}

function parseMediaPlaylist(text: string): MediaPlaylist {
  const mediaSequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? Number.NaN);
  const discontinuitySequence = Number(/#EXT-X-DISCONTINUITY-SEQUENCE:(\d+)/.exec(text)?.[1] ?? 0);
  const msns: number[] = [];
  const discontinuities: number[] = [];
  let msn = mediaSequence;
  let pendingDiscontinuity = false;
  let inSegment = false;
  for (const line of text.split('\n')) {
    if (line === '#EXT-X-DISCONTINUITY') pendingDiscontinuity = true;
    const startsSegment = line.startsWith('#EXT-X-PART:') || line.startsWith('#EXTINF:');
    if (startsSegment && !inSegment) {
      msns.push(msn);
      if (pendingDiscontinuity) discontinuities.push(msn);
      pendingDiscontinuity = false;
      inSegment = true;
    }
    // A segment's URI line ends it.
    if (line && !line.startsWith('#') && inSegment) {
      inSegment = false;
      msn += 1;
    }
  }
  return { mediaSequence, discontinuitySequence, msns, discontinuities, text };
}

async function jobLease(streamId: string): Promise<{ owner: string; token: number; url: string } | undefined> {
  const fields = await client.hgetall(clusterKeys.job(streamId));
  return fields.owner ? { owner: fields.owner, token: Number(fields.token), url: fields.url! } : undefined;
}

async function runningJobs(id: string): Promise<string[]> {
  const res = await cluster.adminFetch(id, '/api/jobs', { signal: AbortSignal.timeout(3_000) });
  const body = (await res.json()) as { jobs: Array<{ stream: string; state: string }> } | Array<{ stream: string; state: string }>;
  const jobs = Array.isArray(body) ? body : body.jobs;
  return jobs.filter((job) => ['starting', 'running', 'restarting'].includes(job.state)).map((job) => job.stream);
}

/** The first variant's media playlist of `name` on a transcoder, once it lists a complete segment. */
async function mediaPlaylist(baseUrl: string, name: string): Promise<MediaPlaylist | undefined> {
  const master = await fetch(`${baseUrl}/hls/${name}/index.m3u8`, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
  if (!master?.ok) return undefined;
  const variant = (await master.text()).split('\n').find((line) => line.endsWith('/index.m3u8'));
  if (!variant) return undefined;
  const res = await fetch(`${baseUrl}/hls/${name}/${variant}`, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
  if (!res?.ok) return undefined;
  const playlist = parseMediaPlaylist(await res.text());
  return playlist.text.includes('#EXTINF') ? playlist : undefined;
}

describe('transcoder failover', () => {
  let stream: { id: string; name: string; streamKey: string };

  it('exactly one of two transcoders runs the job: one lease, one forward, one playlist', async () => {
    stream = await cluster.createStream('a', 'relay');
    publisher = await startWeriftH264Publisher({ whipUrl: `${cluster.node('a').url}/whip`, streamKey: stream.streamKey, width: 320, height: 180 });
    const lease = await pollUntil('a job lease', () => jobLease(stream.id), { timeoutMs: 30_000, intervalMs: 100 });
    expect(transcoders).toContain(lease.owner);
    expect(lease.url).toBe(cluster.node(lease.owner).url);
    await pollUntil('the holder to serve HLS', () => mediaPlaylist(lease.url, 'relay'), { timeoutMs: 30_000, intervalMs: 200 });
    // Checked for 3 s: the other transcoder never runs it, and the origin has one forward.
    const other = transcoders.find((id) => id !== lease.owner)!;
    await holdsFor(async () => {
      expect(await runningJobs(lease.owner)).toEqual(['relay']);
      expect(await runningJobs(other)).toEqual([]);
      const forwards = ((await (await cluster.adminFetch('a', `/api/streams/${stream.id}/forwards`)).json()) as { forwards: Array<{ owner: string }> }).forwards;
      expect(forwards.map((forward) => forward.owner)).toEqual([lease.owner]);
    }, { forMs: 3_000 });
    expect((await fetch(`${cluster.node(other).url}/hls/relay/index.m3u8`)).status).toBe(404);
  }, 90_000);

  it('a new run on the same transcoder (a restart, a re-plan) carries the playlist on: its numbers never go back', async () => {
    const holder = (await jobLease(stream.id))!;
    const last = (await mediaPlaylist(holder.url, 'relay'))!;
    const restarted = await cluster.adminFetch(holder.owner, '/api/jobs/relay/restart', { method: 'POST', signal: AbortSignal.timeout(10_000) });
    expect(restarted.status).toBe(200);
    const after = await pollUntil('the new run\'s playlist', async () => {
      const playlist = await mediaPlaylist(holder.url, 'relay');
      return playlist && !playlist.text.includes(last.text.split('\n').find((line) => line.endsWith('.m4s'))!) ? playlist : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    // A player reloading the same URL sees one playlist going on (RFC 8216bis §6.2.1), past a discontinuity.
    expect(after.mediaSequence).toBeGreaterThan(Math.max(...last.msns));
    expect(after.discontinuities[0]).toBe(after.msns[0]);
  }, 60_000);

  it('SIGKILLed: the other transcoder takes the job over within ~10 s and the playlist carries on with a discontinuity', async () => {
    const before = (await jobLease(stream.id))!;
    const survivor = transcoders.find((id) => id !== before.owner)!;
    // The last playlist the holder served, as a player saw it.
    const last = (await mediaPlaylist(before.url, 'relay'))!;
    await cluster.kill(before.owner);
    const killed = performance.now();

    const after = await pollUntil('the survivor to serve the playlist', async () => {
      const playlist = await mediaPlaylist(cluster.node(survivor).url, 'relay');
      return playlist && playlist.msns.length >= 2 ? playlist : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    const failoverMs = performance.now() - killed;
    expect(failoverMs).toBeLessThan(12_000);
    expect(await jobLease(stream.id)).toMatchObject({ owner: survivor, token: before.token + 1, url: cluster.node(survivor).url });

    // The sequence goes on past every number the dead transcoder could have published…
    expect(after.mediaSequence).toBeGreaterThan(Math.max(...last.msns));
    // …with one discontinuity where the job changed hands, counted on from the old playlist.
    expect(after.discontinuities[0]).toBe(after.msns[0]);
    expect(after.discontinuitySequence).toBe(last.discontinuitySequence + last.discontinuities.filter((msn) => msn >= last.mediaSequence).length);
    // Part and segment names are new (a cache in front never serves the dead one's files for them).
    const oldNames = new Set(last.text.split('\n').filter((line) => line.endsWith('.m4s')));
    expect(after.text.split('\n').filter((line) => line.endsWith('.m4s') && oldNames.has(line))).toEqual([]);
    console.log(`[cluster] transcoder SIGKILL → the other serving the playlist again after ${Math.round(failoverMs)} ms (lease TTL 5 s + claim + ffmpeg start); media sequence ${Math.max(...last.msns)} → ${after.mediaSequence}, discontinuity sequence ${last.discontinuitySequence} → ${after.discontinuitySequence}`);

    // Started again, the dead one does not take the job back.
    await cluster.start(before.owner);
    await holdsFor(async () => expect(await runningJobs(before.owner)).toEqual([]), { forMs: 3_000 });
    expect((await jobLease(stream.id))?.owner).toBe(survivor);
  }, 90_000);

  it('frozen past its lease: the other takes over, and the frozen one gives the job up when it wakes', async () => {
    const holder = (await jobLease(stream.id))!;
    const other = transcoders.find((id) => id !== holder.owner)!;
    cluster.freeze(holder.owner);
    const frozenAt = performance.now();
    await pollUntil('the other to hold the job', async () => (await jobLease(stream.id))?.owner === other, { timeoutMs: 15_000, intervalMs: 100 });
    await pollUntil('the other to serve HLS', () => mediaPlaylist(cluster.node(other).url, 'relay'), { timeoutMs: 20_000, intervalMs: 200 });
    const takenMs = performance.now() - frozenAt;
    cluster.thaw(holder.owner);
    const thawed = performance.now();
    await pollUntil('the woken transcoder to give the job up', async () => (await runningJobs(holder.owner)).length === 0, { timeoutMs: 10_000, intervalMs: 50 });
    const gaveUpMs = performance.now() - thawed;
    // And it no longer serves the stream: one playlist in the cluster.
    await pollUntil('its playlist gone', async () => (await fetch(`${cluster.node(holder.owner).url}/hls/relay/index.m3u8`)).status === 404, { timeoutMs: 5_000, intervalMs: 50 });
    expect(await jobLease(stream.id)).toMatchObject({ owner: other, token: holder.token + 1 });
    console.log(`[cluster] transcoder frozen: the other served HLS ${Math.round(takenMs)} ms after the freeze; the woken one gave the job up ${Math.round(gaveUpMs)} ms after waking`);
  }, 90_000);

  it('the stream ends: the job ends, its lease and recorded position go', async () => {
    await publisher!.stop({ delete: true });
    publisher = undefined;
    await pollUntil('the job lease released', async () => (await jobLease(stream.id)) === undefined, { timeoutMs: 15_000, intervalMs: 100 });
    expect(await client.exists(clusterKeys.hlsPosition(stream.id))).toBe(0);
    for (const id of transcoders) expect(await runningJobs(id)).toEqual([]);
  }, 60_000);
});
