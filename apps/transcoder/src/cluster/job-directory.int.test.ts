/**
 * Job leases against a real Redis: one holder per stream whatever the order of claims, an old
 * holder's renewal and release change nothing, an expired lease goes to whoever claims first (or
 * back to its holder with its own token while nobody did), and a successor reads where the
 * playlist stood and how long ago.
 */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeys } from '@onair/service/cluster-keys';
import { createRedis } from '@onair/service/redis';
import { pollUntil } from '../../../../test/support/poll';
import { startRedisServer, type TestRedis } from '../../../../test/support/redis-server';
import { type JobClaim, JobDirectory } from './job-directory';

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = createRedis({ url: server.url, name: 'jobs', log: pino({ level: 'silent' }) });
});

afterAll(async () => {
  redis?.disconnect();
  await server?.close();
});

const claim = (streamId: string, owner: string): JobClaim => ({ streamId, name: `n-${streamId}`, owner, instance: `${owner}-1`, url: `http://${owner}:8090`, since: '2026-01-01T00:00:00.000Z' });

describe('JobDirectory', () => {
  it('the first claim wins; a second transcoder is told who holds the job and takes nothing', async () => {
    const directory = new JobDirectory(redis, 5_000);
    const [first, second] = await Promise.all([directory.claim(claim('j1', 'tc-a')), directory.claim(claim('j1', 'tc-b'))]);
    const winner = 'token' in first ? 'tc-a' : 'tc-b';
    const [won, lost] = winner === 'tc-a' ? [first, second] : [second, first];
    expect(won).toEqual({ token: 1, previous: undefined });
    expect(lost).toEqual({ heldBy: winner });
    expect(await directory.lookup('j1')).toMatchObject({ owner: winner, url: `http://${winner}:8090`, token: 1, name: 'n-j1' });
    expect(await directory.held(['j1', 'nothing'])).toEqual(new Set(['j1']));
  });

  it('an old holder cannot renew, release or record a position once another token holds the job', async () => {
    const directory = new JobDirectory(redis, 300);
    const old = await directory.claim(claim('j2', 'tc-a'));
    if (!('token' in old)) throw new Error('no token');
    await pollUntil('the lease to expire', async () => !(await redis.exists(clusterKeys.job('j2'))), { timeoutMs: 3_000, intervalMs: 20 });
    const next = await directory.claim(claim('j2', 'tc-b'));
    if (!('token' in next)) throw new Error('no token');
    expect(next.token).toBe(old.token + 1);
    expect(await directory.renew(claim('j2', 'tc-a'), old.token, { nextMsn: 99, discontinuitySeq: 9 })).toBe('lost');
    expect(await directory.release('j2', old.token)).toBe(false);
    expect(await directory.lookup('j2')).toMatchObject({ owner: 'tc-b', token: next.token });
    expect(await redis.exists(clusterKeys.hlsPosition('j2'))).toBe(0);
  });

  it('an expired lease nobody claimed is reclaimed by its holder with its own token; once another token was issued, never', async () => {
    const directory = new JobDirectory(redis, 200);
    const held = await directory.claim(claim('j3', 'tc-a'));
    if (!('token' in held)) throw new Error('no token');
    await pollUntil('the lease to expire', async () => !(await redis.exists(clusterKeys.job('j3'))), { timeoutMs: 3_000, intervalMs: 20 });
    expect(await directory.renew(claim('j3', 'tc-a'), held.token)).toBe('reclaimed');
    expect(await directory.lookup('j3')).toMatchObject({ owner: 'tc-a', token: held.token });

    await pollUntil('the lease to expire again', async () => !(await redis.exists(clusterKeys.job('j3'))), { timeoutMs: 3_000, intervalMs: 20 });
    const other = await directory.claim(claim('j3', 'tc-b'));
    if (!('token' in other)) throw new Error('no token');
    await directory.release('j3', other.token);
    // Gone again, but a newer token was issued meanwhile: the paused holder must not come back.
    expect(await directory.renew(claim('j3', 'tc-a'), held.token)).toBe('lost');
    expect(await directory.lookup('j3')).toBeUndefined();
  });

  it('a successor reads the position its predecessor recorded, aged by Redis\'s clock; a release forgets it', async () => {
    const directory = new JobDirectory(redis, 200);
    const first = await directory.claim(claim('j4', 'tc-a'));
    if (!('token' in first)) throw new Error('no token');
    expect(await directory.renew(claim('j4', 'tc-a'), first.token, { nextMsn: 42, discontinuitySeq: 3 })).toBe('renewed');
    const recordedAt = performance.now();
    await pollUntil('the holder to die (lease expired)', async () => !(await redis.exists(clusterKeys.job('j4'))), { timeoutMs: 3_000, intervalMs: 20 });
    const next = await directory.claim(claim('j4', 'tc-b'));
    const waited = performance.now() - recordedAt;
    if (!('token' in next)) throw new Error('no token');
    expect(next.previous).toMatchObject({ nextMsn: 42, discontinuitySeq: 3 });
    expect(next.previous!.ageMs).toBeGreaterThanOrEqual(150);
    expect(next.previous!.ageMs).toBeLessThanOrEqual(waited + 50);

    expect(await directory.release('j4', next.token)).toBe(true);
    const fresh = await directory.claim(claim('j4', 'tc-a'));
    expect('token' in fresh && fresh.previous).toBeUndefined();
  });
});
