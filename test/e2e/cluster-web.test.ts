/**
 * Web nodes in a cluster are stateless: two web nodes and two ingest nodes on one Redis.
 * - The dashboard's sign-in made on one web node works on the other; signing out on one ends the
 *   session on both at once, and a restarted web node does not bring it back (the session epoch
 *   lives in Redis, not in a node's data directory).
 * - A WHIP session made through one web node goes to a live ingest node, and its resource URL
 *   names that node, so the DELETE through the other web node ends it there.
 * - The public live list answers on both, for a stream live on either ingest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusterStack, type ClusterStack } from '../support/cluster-stack';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { pollUntil } from '../support/poll';
import { startRedisServer, type TestRedis } from '../support/redis-server';

let redis: TestRedis;
let cluster: ClusterStack;
const publishers: WeriftH264Publisher[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  cluster = await startClusterStack({ redisUrl: redis.url, nodes: ['a', 'b'], webs: ['w1', 'w2'] });
}, 180_000);

afterAll(async () => {
  for (const publisher of publishers) await publisher.stop({ delete: false }).catch(() => undefined);
  await cluster?.close();
  await redis?.close();
}, 60_000);

const web = (id: string) => cluster.node(id).url;

async function signIn(id: string): Promise<string> {
  const res = await fetch(`${web(id)}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: cluster.adminToken }) });
  expect(res.status).toBe(204);
  const cookie = res.headers.get('set-cookie')?.split(';')[0];
  expect(cookie).toMatch(/^onair_session=v2\./);
  return cookie!;
}

const streamsVia = (id: string, cookie: string) => fetch(`${web(id)}/dashboard/api/streams`, { headers: { cookie }, signal: AbortSignal.timeout(10_000) });

describe('web nodes in a cluster', () => {
  it('a dashboard session made on one web node works on the other; signing out on either ends it on both, across a restart', async () => {
    const cookie = await signIn('w1');
    expect((await streamsVia('w1', cookie)).status).toBe(200);
    expect((await streamsVia('w2', cookie)).status).toBe(200);

    const out = await fetch(`${web('w2')}/dashboard/api/session`, { method: 'DELETE', headers: { cookie } });
    expect(out.status).toBe(204);
    for (const id of ['w1', 'w2']) {
      const res = await streamsVia(id, cookie);
      expect.soft(res.status, id).toBe(401);
    }
    await cluster.kill('w1');
    await cluster.start('w1');
    expect((await streamsVia('w1', cookie)).status).toBe(401);
    // A new sign-in works everywhere again.
    const again = await signIn('w1');
    expect((await streamsVia('w2', again)).status).toBe(200);
  }, 120_000);

  it('WHIP through one web node lands on a live ingest node; the session resource names it and the DELETE through the other web node ends it there', async () => {
    const stream = await cluster.createStream('a', 'through-web');
    const landed = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const publisher = await startWeriftH264Publisher({ whipUrl: `${web('w1')}/whip`, streamKey: stream.streamKey, width: 160, height: 90 });
      publishers.push(publisher);
      await publisher.connected;
      const location = new URL(publisher.resourceUrl);
      expect(location.origin).toBe(web('w1'));
      expect(location.pathname).toMatch(/^\/whip\/sessions\/[\w-]+$/);
      const node = location.searchParams.get('node')!;
      expect(['a', 'b']).toContain(node);
      landed.add(node);
      const origin = async () => (await cluster.describe(node)).origin.find((entry) => entry.streamId === stream.id);
      await pollUntil(`node ${node} to hold the stream`, async () => (await origin())?.session === location.pathname.split('/').pop(), { timeoutMs: 10_000, intervalMs: 100 });

      // The same resource, through the other web node: ends the publisher on the node holding it.
      const other = new URL(`${location.pathname}${location.search}`, web('w2'));
      const res = await fetch(other, { method: 'DELETE' });
      expect(res.status).toBe(200);
      await pollUntil(`the session to end on ${node}`, async () => (await origin()) === undefined, { timeoutMs: 10_000, intervalMs: 100 });
      await publisher.stop({ delete: false });
    }
    // Six sessions, two nodes: both were used (a fixed node would be 1 in 32).
    expect([...landed].sort()).toEqual(['a', 'b']);
    // A resource naming a node that is not in the cluster is not found, and no ingest is asked.
    const stray = await fetch(`${web('w2')}/whip/sessions/nothing?node=nowhere`, { method: 'DELETE' });
    expect(stray.status).toBe(404);
    expect(((await stray.json()) as { code: string }).code).toBe('session_not_found');
  }, 120_000);
});
