/**
 * Which transcoder serves a stream's HLS in a cluster: the URL in the stream's job lease
 * (`onair:job:<id>`, written by the transcoder that runs the job; apps/transcoder/src/cluster/
 * job-directory.ts), found by the stream's name as players ask for it (`/hls/<name>/…`). One
 * round trip: the name index, the stream's lease (live or not) and the job lease in one script.
 */
import type { Redis } from 'ioredis';
import { clusterKeys } from './cluster-keys';
import { RedisScript } from './redis-script';

/** KEYS: the name index. ARGV: name, the live key's prefix, the job key's prefix. → {known, live, url}. */
const HLS_ORIGIN = new RedisScript(`
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return {0, 0, ''} end
local live = redis.call('EXISTS', ARGV[2] .. id)
return {1, live, redis.call('HGET', ARGV[3] .. id, 'url') or ''}`);

export type HlsOriginLookup =
  /** A transcoder runs the stream's job: its base URL. */
  | { state: 'served'; url: string }
  /** Live, but no transcoder holds its job right now (starting, or failing over). */
  | { state: 'pending' }
  /** The stream exists and is not live. */
  | { state: 'offline' }
  | { state: 'unknown' };

/** Where `streamName`'s HLS is served from right now. */
export async function hlsOriginOf(redis: Redis, streamName: string): Promise<HlsOriginLookup> {
  const [known, live, url] = (await HLS_ORIGIN.run(redis, [clusterKeys.streamNames], [streamName, clusterKeys.live(''), clusterKeys.job('')])) as [number, number, string];
  if (Number(known) !== 1) return { state: 'unknown' };
  if (url) return { state: 'served', url };
  return Number(live) === 1 ? { state: 'pending' } : { state: 'offline' };
}
