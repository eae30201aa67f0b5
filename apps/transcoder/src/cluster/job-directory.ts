/**
 * Transcode jobs as leases in Redis: exactly one transcoder of a cluster runs a stream's job.
 * `onair:job:<id>` (a hash with a TTL, renewed every second while the job runs) names the
 * transcoder and the URL of its HLS origin — where the web's /hls proxy and a cache send players.
 *
 * Fencing, as the stream directory does it (apps/ingest/src/cluster/stream-directory.ts): each
 * claim takes the next number of `onair:job-seq:<id>` as its token; only the holder of the token
 * renews or releases; a lease that expired while Redis or its holder was away is reclaimed with
 * the same token only while no newer token was issued. A transcoder paused past its TTL therefore
 * finds another token when it wakes and gives the job up; it can never displace its successor.
 *
 * Unlike a stream lease, a claim does not take a job from a live holder: a publisher's reconnect
 * must win, but a second transcoder must wait until the first is gone (its lease expired or
 * released). With the renewal the holder records where its playlist stands
 * (`onair:hls-position:<id>`: next media sequence number, discontinuities, Redis's own clock),
 * so a successor carries the playlist on: same URLs, the sequence going on, a discontinuity.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { clusterKeys } from '@onair/service/cluster-keys';
import { RedisScript } from '@onair/service/redis-script';

/** What a job lease says. */
export interface JobLease {
  streamId: string;
  name: string;
  /** ONAIR_TRANSCODER_ID of the holder. */
  owner: string;
  /** The holder process (a restarted transcoder has a new one). */
  instance: string;
  /** Base URL of the holder's HLS origin (`<url>/hls/<name>/index.m3u8`). */
  url: string;
  token: number;
  since: string;
}

export type JobClaim = Omit<JobLease, 'token'>;

/** Where the playlist of a job stood when its holder last renewed, and how long ago (Redis's clock). */
export interface RecordedPosition {
  nextMsn: number;
  discontinuitySeq: number;
  ageMs: number;
}

export type ClaimResult = { token: number; previous: RecordedPosition | undefined } | { heldBy: string };

export type JobRenewResult = 'renewed' | 'reclaimed' | 'lost';

/** Redis's clock in ms as a string of digits (TIME: seconds and microseconds). */
const NOW_MS = `
local function now_ms()
  local t = redis.call('TIME')
  return t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
end`;

const WRITE_LEASE = `
local function write_lease(token, first)
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'owner', ARGV[first], 'instance', ARGV[first + 1], 'url', ARGV[first + 2], 'name', ARGV[first + 3], 'since', ARGV[first + 4], 'token', token)
  redis.call('PEXPIRE', KEYS[1], ARGV[first + 5])
end`;

/**
 * KEYS: job, sequence, position. ARGV: owner, instance, url, name, since, ttl.
 * → {token, nextMsn, discontinuitySeq, ageMs} (position fields empty when none), or {0, holder}.
 */
const CLAIM = new RedisScript(`${NOW_MS}${WRITE_LEASE}
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, redis.call('HGET', KEYS[1], 'owner') or ''}
end
local token = redis.call('INCR', KEYS[2])
write_lease(token, 1)
local position = redis.call('HMGET', KEYS[3], 'nextMsn', 'discontinuitySeq', 'at')
if not position[1] or not position[3] then return {token, '', '', ''} end
return {token, position[1], position[2] or '0', tostring(tonumber(now_ms()) - tonumber(position[3]))}`);

/**
 * KEYS: job, sequence, position. ARGV: token, owner, instance, url, name, since, ttl, then the
 * position (nextMsn, discontinuitySeq; empty: none yet) and its TTL.
 * → 1 renewed, 2 reclaimed (expired, no newer token), 0 lost.
 */
const RENEW = new RedisScript(`${NOW_MS}${WRITE_LEASE}
local function write_position()
  if ARGV[8] == '' then return end
  redis.call('HSET', KEYS[3], 'nextMsn', ARGV[8], 'discontinuitySeq', ARGV[9], 'at', now_ms())
  redis.call('PEXPIRE', KEYS[3], ARGV[10])
end
local current = redis.call('HGET', KEYS[1], 'token')
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  write_position()
  return 1
end
if current then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
write_lease(tonumber(ARGV[1]), 2)
write_position()
return 2`);

/** KEYS: job, position. ARGV: token. → 1 released (the position goes too: the job ended), 0 not ours. */
const RELEASE = new RedisScript(`
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`);

const leaseSchema = z.object({
  owner: z.string().min(1),
  instance: z.string().min(1),
  url: z.string().min(1),
  name: z.string(),
  since: z.string(),
  token: z.coerce.number().int().min(1),
});

/** A position kept this long after its holder's last renewal, ms: a successor within it carries the playlist on. */
export const POSITION_TTL_MS = 5 * 60_000;

export class JobDirectory {
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
  ) {}

  /** Takes the job if nobody holds it; with the position the last holder recorded, if any. */
  async claim(claim: JobClaim): Promise<ClaimResult> {
    const reply = (await CLAIM.run(this.redis, this.keys(claim.streamId), [claim.owner, claim.instance, claim.url, claim.name, claim.since, this.ttlMs])) as Array<string | number>;
    const token = Number(reply[0]);
    if (!(token > 0)) return { heldBy: String(reply[1] ?? '') };
    const [nextMsn, discontinuitySeq, ageMs] = reply.slice(1, 4).map((value) => (value === '' || value === undefined ? Number.NaN : Number(value)));
    const previous = Number.isInteger(nextMsn) && nextMsn! >= 0 && Number.isFinite(ageMs) ? { nextMsn: nextMsn!, discontinuitySeq: Number.isInteger(discontinuitySeq) ? Math.max(0, discontinuitySeq!) : 0, ageMs: Math.max(0, ageMs!) } : undefined;
    return { token, previous };
  }

  async renew(claim: JobClaim, token: number, position?: { nextMsn: number; discontinuitySeq: number }): Promise<JobRenewResult> {
    const args = [token, claim.owner, claim.instance, claim.url, claim.name, claim.since, this.ttlMs, position?.nextMsn ?? '', position?.discontinuitySeq ?? '', POSITION_TTL_MS];
    const result = Number(await RENEW.run(this.redis, this.keys(claim.streamId), args));
    return result === 1 ? 'renewed' : result === 2 ? 'reclaimed' : 'lost';
  }

  /** Ends the job's lease if `token` still holds it; true when it did. */
  async release(streamId: string, token: number): Promise<boolean> {
    return Number(await RELEASE.run(this.redis, [clusterKeys.job(streamId), clusterKeys.hlsPosition(streamId)], [token])) === 1;
  }

  async lookup(streamId: string): Promise<JobLease | undefined> {
    return toJobLease(streamId, await this.redis.hgetall(clusterKeys.job(streamId)));
  }

  /** Which of these streams have a job lease (one round trip). */
  async held(streamIds: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (streamIds.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const id of streamIds) pipeline.exists(clusterKeys.job(id));
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([error, exists], index) => {
      if (!error && Number(exists) === 1) out.add(streamIds[index]!);
    });
    return out;
  }

  private keys(streamId: string): string[] {
    return [clusterKeys.job(streamId), clusterKeys.jobSeq(streamId), clusterKeys.hlsPosition(streamId)];
  }
}

export function toJobLease(streamId: string, fields: Record<string, string> | null | undefined): JobLease | undefined {
  if (!fields || Object.keys(fields).length === 0) return undefined;
  const parsed = leaseSchema.safeParse(fields);
  return parsed.success ? { streamId, ...parsed.data } : undefined;
}
