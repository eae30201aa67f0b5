/**
 * The cluster's list of live ingest nodes, for whoever must reach "any ingest" without being
 * configured with each one (the web's WHIP/WHEP proxy, dashboards): every node writes its id and
 * URL each second with an expiry a few seconds ahead (Redis's own clock, so hosts' clocks do not
 * matter); readers take the members not yet expired. A node that dies drops out when its expiry
 * passes; entries a minute past it are pruned by the nodes' own writes.
 *
 * Keys: `onair:ingest-nodes` (sorted set: node id → expiry, ms) and `onair:ingest-node-urls`
 * (hash: node id → URL).
 */
import type { Redis } from 'ioredis';
import { clusterKeys } from './cluster-keys';
import { RedisScript } from './redis-script';

export interface IngestNode {
  id: string;
  /** Base URL other processes reach the node's HTTP API at (ONAIR_INGEST_PUBLIC_URL). */
  url: string;
}

const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: set, urls. ARGV: id, url, ttl ms. Prunes members a minute past their expiry. */
const REGISTER = new RedisScript(`${NOW_MS}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - 60000, 'LIMIT', 0, 100)
for _, id in ipairs(gone) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
return 1`);

/** KEYS: set, urls. → {id1, url1, id2, url2, …} of the members not expired. */
const LIST = new RedisScript(`${NOW_MS}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf', 'LIMIT', 0, 1000)
local out = {}
for _, id in ipairs(ids) do
  local url = redis.call('HGET', KEYS[2], id)
  if url then
    out[#out + 1] = id
    out[#out + 1] = url
  end
end
return out`);

/** Says this node is alive for `ttlMs` more (called every second by the node). */
export async function registerIngestNode(redis: Redis, node: IngestNode, ttlMs: number): Promise<void> {
  await REGISTER.run(redis, [clusterKeys.ingestNodes, clusterKeys.ingestNodeUrls], [node.id, node.url, ttlMs]);
}

/** Takes the node off the list at once (a clean stop). */
export async function unregisterIngestNode(redis: Redis, id: string): Promise<void> {
  await redis.multi().zrem(clusterKeys.ingestNodes, id).hdel(clusterKeys.ingestNodeUrls, id).exec();
}

/** The live ingest nodes, by id. */
export async function liveIngestNodes(redis: Redis): Promise<IngestNode[]> {
  const flat = (await LIST.run(redis, [clusterKeys.ingestNodes, clusterKeys.ingestNodeUrls], [])) as string[];
  const nodes: IngestNode[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) nodes.push({ id: flat[i]!, url: flat[i + 1]! });
  return nodes;
}
