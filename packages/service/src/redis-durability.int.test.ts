/**
 * A node's start-up check of Redis's durability, against a real redis-server: quiet with the
 * append-only file synced before each reply; a warning naming the setting otherwise.
 */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type TestRedis } from '../../../test/support/redis-server';
import { createRedis, durabilityWarning } from './redis';

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedis({ url: server.url, name: 'durability', log: pino({ level: 'silent' }) });
});

afterAll(async () => {
  redis?.disconnect();
  await server?.close();
});

describe('durabilityWarning', () => {
  it('is quiet with appendonly yes and appendfsync always; names appendfsync when it is everysec, appendonly when it is off', async () => {
    expect(await durabilityWarning(redis)).toBeUndefined();
    await redis.config('SET', 'appendfsync', 'everysec');
    expect(await durabilityWarning(redis)).toMatch(/appendfsync everysec.*Set appendfsync always/);
    await redis.config('SET', 'appendonly', 'no');
    expect(await durabilityWarning(redis)).toMatch(/appendonly no/);
  });
});
