/**
 * The stream directory's fencing against a real Redis: the highest token wins, whatever order
 * nodes act in; a released or renewed old token changes nothing; an expired lease is reclaimed
 * with its token only while no newer token exists; every acquisition and release is announced.
 */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClusterEvent, type ClusterEvent } from '@onair/service/cluster-events';
import { CLUSTER_EVENTS_CHANNEL, clusterKeys } from '@onair/service/cluster-keys';
import { createRedis } from '@onair/service/redis';
import { pollUntil } from '../../../../test/support/poll';
import { startRedisServer, type TestRedis } from '../../../../test/support/redis-server';
import { type LeaseClaim, StreamDirectory } from './stream-directory';

const log = pino({ level: 'silent' });
let server: TestRedis;
let redis: Redis;
let subscriber: Redis;
const heard: ClusterEvent[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedis({ url: server.url, name: 'directory', log });
  subscriber = createRedis({ url: server.url, name: 'events', log });
  subscriber.on('message', (_channel: string, message: string) => {
    const event = parseClusterEvent(message);
    if (event) heard.push(event);
  });
  await subscriber.subscribe(CLUSTER_EVENTS_CHANNEL);
});

afterAll(async () => {
  redis?.disconnect();
  subscriber?.disconnect();
  await server?.close();
});

const claim = (streamId: string, node: string): LeaseClaim => ({ streamId, name: `n-${streamId}`, node, url: `http://${node}:8080`, protocol: 'whip', session: `s-${node}`, since: '2026-01-01T00:00:00.000Z', codecs: { video: { name: 'H264', clockRate: 90000, fmtp: 'packetization-mode=1;profile-level-id=42e01f' } } });

describe('StreamDirectory', () => {
  it('acquire takes the lease whoever held it, with a higher token each time, and announces it', async () => {
    const directory = new StreamDirectory(redis, 5_000);
    const t1 = await directory.acquire(claim('s1', 'a'));
    const t2 = await directory.acquire(claim('s1', 'b'));
    expect(t2).toBeGreaterThan(t1);
    expect(await directory.lookup('s1')).toMatchObject({ node: 'b', token: t2, url: 'http://b:8080', codecs: { video: { name: 'H264' } } });
    await pollUntil('both announcements', () => heard.filter((e) => e.type === 'stream.live' && e.streamId === 's1').length === 2);
    expect(heard.filter((e) => e.type === 'stream.live' && e.streamId === 's1').map((e) => (e as { token: number }).token)).toEqual([t1, t2]);
  });

  it('the old holder: its renewal is lost, its release changes nothing and announces nothing', async () => {
    const directory = new StreamDirectory(redis, 5_000);
    const old = await directory.acquire(claim('s2', 'a'));
    const current = await directory.acquire(claim('s2', 'b'));
    expect(await directory.renew(claim('s2', 'a'), old)).toBe('lost');
    expect(await directory.release(claim('s2', 'a'), old)).toBe(false);
    expect(await directory.lookup('s2')).toMatchObject({ node: 'b', token: current });
    expect(await directory.confirms('s2', 'a', old)).toBe(false);
    expect(await directory.confirms('s2', 'b', current)).toBe(true);
    expect(await directory.renew(claim('s2', 'b'), current)).toBe('renewed');
    expect(await directory.release(claim('s2', 'b'), current)).toBe(true);
    expect(await directory.lookup('s2')).toBeUndefined();
    await pollUntil('one offline, from b', () => heard.some((e) => e.type === 'stream.offline' && e.streamId === 's2'));
    expect(heard.filter((e) => e.type === 'stream.offline' && e.streamId === 's2')).toEqual([{ type: 'stream.offline', streamId: 's2', name: 'n-s2', node: 'b', token: current }]);
  });

  it('an expired lease is reclaimed with its own token, but never after a newer token was issued', async () => {
    const short = new StreamDirectory(redis, 200);
    const token = await short.acquire(claim('s3', 'a'));
    await pollUntil('the lease to expire', async () => (await short.lookup('s3')) === undefined, { intervalMs: 50 });
    expect(await short.renew(claim('s3', 'a'), token)).toBe('reclaimed');
    expect(await short.lookup('s3')).toMatchObject({ node: 'a', token });

    // b took the stream and left (released): a's lease is gone and a newer token exists.
    const newer = await short.acquire(claim('s3', 'b'));
    expect(await short.release(claim('s3', 'b'), newer)).toBe(true);
    expect(await short.renew(claim('s3', 'a'), token)).toBe('lost');
    expect(await short.lookup('s3')).toBeUndefined();
  });

  it('a deleted stream takes its token sequence along: nothing can reclaim it', async () => {
    const short = new StreamDirectory(redis, 200);
    const token = await short.acquire(claim('s4', 'a'));
    await redis.del(clusterKeys.live('s4'), clusterKeys.leaseSeq('s4'));
    expect(await short.renew(claim('s4', 'a'), token)).toBe('lost');
  });

  it('lookupMany reads many leases in one round trip; offline streams are absent', async () => {
    const directory = new StreamDirectory(redis, 5_000);
    await directory.acquire(claim('m1', 'a'));
    await directory.acquire(claim('m2', 'c'));
    const found = await directory.lookupMany(['m1', 'm2', 'm3']);
    expect([...found.keys()].sort()).toEqual(['m1', 'm2']);
    expect(found.get('m2')?.node).toBe('c');
  });
});
