/**
 * What web nodes read from the cluster, against a real Redis: the live ingest nodes (alive while
 * they keep registering, gone when their expiry passes or they leave, pruned after a minute) and
 * where a stream's HLS is served (the job lease's URL, by stream name; live without a job: pending).
 */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../test/support/poll';
import { startRedisServer, type TestRedis } from '../../../test/support/redis-server';
import { clusterKeys } from './cluster-keys';
import { hlsOriginOf } from './hls-origins';
import { liveIngestNodes, registerIngestNode, unregisterIngestNode } from './ingest-nodes';
import { createRedis } from './redis';

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedis({ url: server.url, name: 'lookups', log: pino({ level: 'silent' }) });
});

afterAll(async () => {
  redis?.disconnect();
  await server?.close();
});

describe('live ingest nodes', () => {
  it('lists nodes while they register, drops one whose expiry passed or that left, prunes old entries', async () => {
    await registerIngestNode(redis, { id: 'a', url: 'http://a:8080' }, 5_000);
    await registerIngestNode(redis, { id: 'b', url: 'http://b:8080' }, 300);
    await registerIngestNode(redis, { id: 'c', url: 'http://c:8080' }, 5_000);
    expect((await liveIngestNodes(redis)).sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'a', url: 'http://a:8080' },
      { id: 'b', url: 'http://b:8080' },
      { id: 'c', url: 'http://c:8080' },
    ]);
    await unregisterIngestNode(redis, 'c');
    await pollUntil("b's expiry to pass", async () => (await liveIngestNodes(redis)).length === 1, { timeoutMs: 3_000, intervalMs: 20 });
    expect(await liveIngestNodes(redis)).toEqual([{ id: 'a', url: 'http://a:8080' }]);
    // A node re-registering with a new URL (restarted elsewhere) is listed with it.
    await registerIngestNode(redis, { id: 'a', url: 'http://a2:8080' }, 5_000);
    expect(await liveIngestNodes(redis)).toEqual([{ id: 'a', url: 'http://a2:8080' }]);
    // An entry long past its expiry is pruned by the next registration.
    await redis.zadd(clusterKeys.ingestNodes, Date.now() - 120_000, 'ancient');
    await redis.hset(clusterKeys.ingestNodeUrls, 'ancient', 'http://ancient:8080');
    await registerIngestNode(redis, { id: 'a', url: 'http://a2:8080' }, 5_000);
    expect(await redis.zscore(clusterKeys.ingestNodes, 'ancient')).toBeNull();
    expect(await redis.hget(clusterKeys.ingestNodeUrls, 'ancient')).toBeNull();
  });
});

describe('hlsOriginOf', () => {
  it('finds the transcoder by stream name; live without a job is pending; offline and unknown apart', async () => {
    await redis.hset(clusterKeys.streamNames, 'show', 'id-show', 'quiet', 'id-quiet');
    expect(await hlsOriginOf(redis, 'nothing')).toEqual({ state: 'unknown' });
    expect(await hlsOriginOf(redis, 'quiet')).toEqual({ state: 'offline' });
    await redis.hset(clusterKeys.live('id-show'), 'node', 'a', 'token', '1');
    expect(await hlsOriginOf(redis, 'show')).toEqual({ state: 'pending' });
    await redis.hset(clusterKeys.job('id-show'), 'owner', 'tc-1', 'url', 'http://tc-1:8090', 'token', '1');
    expect(await hlsOriginOf(redis, 'show')).toEqual({ state: 'served', url: 'http://tc-1:8090' });
  });
});
