/**
 * The Redis store against a real redis-server (started here, AOF on): the same contract as
 * SQLite, and what a cluster adds — another node sees a change at once, nothing is lost when
 * Redis is killed and restarted, and writes are refused (not queued) while Redis is away.
 */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '@onair/service/cluster-keys';
import { createRedis } from '@onair/service/redis';
import { pollUntil } from '../../../../test/support/poll';
import { startRedisServer, type TestRedis } from '../../../../test/support/redis-server';
import { describeStreamStore } from '../streams/stream-store-contract';
import { RedisStreamStore } from './redis-stream-store';

const log = pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' });
let server: TestRedis;
const clients: Redis[] = [];

function client(name = 'test'): Redis {
  const redis = createRedis({ url: server.url, name, log, commandTimeoutMs: 5_000 });
  clients.push(redis);
  return redis;
}

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  for (const redis of clients) redis.disconnect();
  await server?.close();
});

describeStreamStore('Redis', async () => {
  const redis = client();
  await redis.del(clusterKeys.streams, clusterKeys.streamNames, clusterKeys.streamKeys);
  return new RedisStreamStore(redis);
});

describe('RedisStreamStore in a cluster', () => {
  it('a stream created through one node is found by key on another; a rotation there is refused here at once', async () => {
    const nodeA = new RedisStreamStore(client('a'));
    const nodeC = new RedisStreamStore(client('c'));
    const created = await nodeC.create('shared');
    expect(await nodeA.findByKey(created.streamKey)).toEqual(created);
    const rotated = await nodeC.rotateKey(created.id);
    expect(await nodeA.findByKey(created.streamKey)).toBeUndefined();
    expect((await nodeA.findByKey(rotated.streamKey))?.id).toBe(created.id);
  });

  it('streams and keys survive Redis killed (SIGKILL, no shutdown) and restarted', async () => {
    const redis = client('restart');
    const store = new RedisStreamStore(redis);
    const made = await Promise.all(Array.from({ length: 20 }, (_, i) => store.create(`kept-${i}`)));
    const renamed = await store.rename(made[0]!.id, 'kept-renamed');
    const rotated = await store.rotateKey(made[1]!.id);
    await store.delete(made[2]!.id);
    const { downMs } = await server.restart();
    // The client reconnects by itself; reads wait for it.
    for (const record of made.slice(3)) expect(await store.findByKey(record.streamKey)).toEqual(record);
    expect((await store.findByName('kept-renamed'))?.id).toBe(renamed.id);
    expect((await store.findByKey(rotated.streamKey))?.id).toBe(made[1]!.id);
    expect(await store.findByKey(made[1]!.streamKey)).toBeUndefined();
    expect(await store.findById(made[2]!.id)).toBeUndefined();
    console.log(`[redis] SIGKILL + restart with AOF: down ${Math.round(downMs)} ms, 20 streams, a rename, a rotation and a delete all kept`);
  });

  it('writes are refused with 503 unavailable while Redis is down, reads wait and then fail; both work again after', async () => {
    const redis = createRedis({ url: server.url, name: 'down', log, commandTimeoutMs: 800 });
    clients.push(redis);
    const store = new RedisStreamStore(redis);
    const before = await store.create('before-outage');
    await server.kill();
    await pollUntil('the client to see Redis gone', () => redis.status !== 'ready', { timeoutMs: 5_000, intervalMs: 20 });
    await expect(store.create('during-outage')).rejects.toMatchObject({ code: 'unavailable', extensions: { retryAfterS: 2 } });
    await expect(store.findByKey(before.streamKey)).rejects.toThrow(/timed out/i);
    await server.start();
    await pollUntil('the client to reconnect', () => redis.status === 'ready', { timeoutMs: 10_000, intervalMs: 20 });
    expect(await store.findByKey(before.streamKey)).toEqual(before);
    expect(await store.findByName('during-outage')).toBeUndefined();
    expect((await store.create('after-outage')).name).toBe('after-outage');
  });
});
