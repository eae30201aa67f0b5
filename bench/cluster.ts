/**
 * Cluster fault recovery, timed: a Redis of its own (AOF), one ingest node, two transcoders, one
 * publisher (werift, 320×180 H.264), on loopback.
 * - Transcoder failover, `rounds` times: SIGKILL the transcoder running the job → the other holds
 *   the job lease (a) and serves a media playlist with new segments (b); the killed one is
 *   started again (as a supervisor would) so the next round has a survivor.
 * - Redis restart, `rounds` times: SIGKILL redis-server and start it on the same port and AOF →
 *   the ingest's admin API lists every stream again (c), the job lease is renewed by its holder
 *   with its token (d), a blocking playlist reload on the holder returns a new part (e) — HLS
 *   itself never waits for Redis, so (e) is the proof nothing stalled.
 *
 *   npx tsx bench/cluster.ts [--quick]   → prints the figures, writes bench/results/cluster.json
 *   (BENCH_ROUNDS=n: rounds of each fault; default 4, --quick 1)
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { clusterKeys } from '../packages/service/src/cluster-keys';
import { createRedis } from '../packages/service/src/redis';
import { startClusterStack, type ClusterStack } from '../test/support/cluster-stack';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../test/support/peers/werift-h264-publisher';
import { pollUntil } from '../test/support/poll';
import { startRedisServer, type TestRedis } from '../test/support/redis-server';
import { distribution, loadAverage, machineRecord } from './lib/stats';

const quick = process.argv.includes('--quick');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 4));
const transcoders = ['t1', 't2'];

let redis: TestRedis | undefined;
let cluster: ClusterStack | undefined;
let publisher: WeriftH264Publisher | undefined;
const client = () => createRedis({ url: redis!.url, name: 'bench', log: pino({ level: 'silent' }), commandTimeoutMs: 5_000 });

/** The first variant's media playlist text on `baseUrl`, once it lists `minSegments` complete segments. */
async function mediaPlaylist(baseUrl: string, name: string, query = '', minSegments = 1): Promise<string | undefined> {
  const master = await fetch(`${baseUrl}/hls/${name}/index.m3u8`, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
  if (!master?.ok) return undefined;
  const variant = (await master.text()).split('\n').find((line) => line.endsWith('/index.m3u8'));
  if (!variant) return undefined;
  const res = await fetch(`${baseUrl}/hls/${name}/${variant}${query}`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
  if (!res?.ok) return undefined;
  const text = await res.text();
  return text.split('\n').filter((line) => line.startsWith('#EXTINF')).length >= minSegments ? text : undefined;
}

/** `_HLS_msn`/`_HLS_part` of the part after the last one `playlist` lists (RFC 8216bis §6.2.5.2). */
function nextPart(playlist: string): string {
  const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1] ?? 0);
  let complete = 0;
  let parts = 0;
  for (const line of playlist.split('\n')) {
    if (line.startsWith('#EXT-X-PART:')) parts += 1;
    if (line.startsWith('#EXTINF')) {
      complete += 1;
      parts = 0;
    }
  }
  return `?_HLS_msn=${sequence + complete}&_HLS_part=${parts}`;
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  redis = await startRedisServer();
  cluster = await startClusterStack({ redisUrl: redis.url, nodes: ['a'], transcoders, env: { '*': { ONAIR_LOG_LEVEL: 'warn' } } });
  const stream = await cluster.createStream('a', 'bench');
  publisher = await startWeriftH264Publisher({ whipUrl: `${cluster.node('a').url}/whip`, streamKey: stream.streamKey, width: 320, height: 180 });
  await publisher.connected;
  let redisClient = client();
  const jobLease = async () => {
    const fields = await redisClient.hgetall(clusterKeys.job(stream.id));
    return fields.owner ? { owner: fields.owner, token: Number(fields.token) } : undefined;
  };
  await pollUntil('a transcoder to serve HLS', async () => {
    const lease = await jobLease();
    return lease && (await mediaPlaylist(cluster!.node(lease.owner).url, 'bench', '', 2));
  }, { timeoutMs: 60_000, intervalMs: 200 });

  const leaseMovedMs: number[] = [];
  const servingMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = (await jobLease())!;
    const survivor = transcoders.find((id) => id !== before.owner)!;
    await cluster.kill(before.owner);
    const killed = performance.now();
    await pollUntil('the survivor to hold the job', async () => (await jobLease())?.owner === survivor, { timeoutMs: 30_000, intervalMs: 50 });
    leaseMovedMs.push(performance.now() - killed);
    // Two complete segments of its own: the playlist carries on, not just its first fragment.
    await pollUntil('the survivor to serve the playlist', () => mediaPlaylist(cluster!.node(survivor).url, 'bench', '', 2), { timeoutMs: 30_000, intervalMs: 50 });
    servingMs.push(performance.now() - killed);
    console.log(`transcoder failover ${round + 1}/${ROUNDS}: ${before.owner} killed → ${survivor} held the job after ${Math.round(leaseMovedMs.at(-1)!)} ms, served the playlist after ${Math.round(servingMs.at(-1)!)} ms`);
    await cluster.start(before.owner);
  }

  const listed = async () => {
    const res = await cluster!.adminFetch('a', '/api/streams', { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
    return res?.ok ? ((await res.json()) as Array<{ id: string }>).length : undefined;
  };
  const streams = (await listed())!;
  const downMs: number[] = [];
  const adminMs: number[] = [];
  const leaseRenewedMs: number[] = [];
  const reloadMs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const job = (await jobLease())!;
    const origin = cluster.node(job.owner).url;
    redisClient.disconnect();
    const restarted = await redis.restart();
    const back = performance.now();
    downMs.push(restarted.downMs);
    redisClient = client();
    const reload = (async () => {
      const playlist = (await mediaPlaylist(origin, 'bench'))!;
      await pollUntil('a blocking reload to return the next part', () => mediaPlaylist(origin, 'bench', nextPart(playlist)), { timeoutMs: 10_000, intervalMs: 20 });
      return performance.now() - back;
    })();
    await pollUntil('the admin API to list every stream', async () => (await listed()) === streams, { timeoutMs: 30_000, intervalMs: 20 });
    adminMs.push(performance.now() - back);
    await pollUntil('the job lease renewed with its token', async () => (await jobLease())?.token === job.token && (await redisClient.pttl(clusterKeys.job(stream.id))) > 4_000, { timeoutMs: 30_000, intervalMs: 20 }).catch(async (error: unknown) => {
      throw new Error(`${(error as Error).message}: was ${JSON.stringify(job)}, now ${JSON.stringify(await jobLease())} (PTTL ${await redisClient.pttl(clusterKeys.job(stream.id))}); ${job.owner}:\n${cluster!.logs(job.owner).slice(-15).join('\n')}`);
    });
    leaseRenewedMs.push(performance.now() - back);
    reloadMs.push(await reload);
    console.log(`redis restart ${round + 1}/${ROUNDS}: down ${Math.round(restarted.downMs)} ms; admin API ${Math.round(adminMs.at(-1)!)} ms, job lease renewed ${Math.round(leaseRenewedMs.at(-1)!)} ms, next HLS part ${Math.round(reloadMs.at(-1)!)} ms after it was back`);
  }
  redisClient.disconnect();

  const result = {
    date: new Date().toISOString(),
    config: { quick, rounds: ROUNDS, leaseTtlMs: 5_000, renewMs: 1_000, source: '320×180 H.264 (werift)' },
    machine: { ...machineRecord(), loadBefore, loadAfter: loadAverage() },
    transcoderFailover: { leaseMovedMs: distribution(leaseMovedMs, 0), servingMs: distribution(servingMs, 0) },
    redisRestart: { downMs: distribution(downMs, 0), adminApiMs: distribution(adminMs, 0), jobLeaseRenewedMs: distribution(leaseRenewedMs, 0), nextHlsPartMs: distribution(reloadMs, 0), streamsKept: streams },
  };
  writeFileSync(resolve(import.meta.dirname, 'results/cluster.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ transcoderFailover: result.transcoderFailover, redisRestart: result.redisRestart }, null, 2));
}

try {
  await main();
} finally {
  await publisher?.stop({ delete: true }).catch(() => undefined);
  await cluster?.close();
  await redis?.close();
}
