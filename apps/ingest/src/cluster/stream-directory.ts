/**
 * The stream directory: which ingest node holds each live stream's publisher, as a lease in
 * Redis (`onair:live:<id>`, a hash with a TTL) renewed while the publisher is live.
 *
 * Fencing. Each acquisition takes the next number of the stream's sequence (`onair:lease-seq:<id>`,
 * INCR) as its token, overwrites the lease and announces it (`stream.live`) in one script. The
 * highest token is the truth: a node whose renewal finds another token has been taken over and
 * lets its publisher go; a release with an old token changes nothing (no false `stream.offline`
 * after a takeover); an origin serves an edge only while Redis confirms its token. A lease that
 * expired while Redis or the node was away is reclaimed with the same token only when no newer
 * token was issued since — a node that was paused or cut off past its TTL can therefore never
 * displace whoever took over meanwhile.
 *
 * A renewal that fails (Redis unreachable) is not a loss: the publisher goes on, and the next
 * renewal decides. Only Redis saying "another token" ends it.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { LiveState } from '@onair/shared/api';
import { CLUSTER_EVENTS_CHANNEL, clusterKeys } from '@onair/service/cluster-keys';
import { RedisScript } from '@onair/service/redis-script';
import type { StreamCodecs } from '@onair/shared/sdp';

/** What a lease says about a live stream. */
export interface Lease {
  streamId: string;
  name: string;
  /** ONAIR_NODE_ID of the holder. */
  node: string;
  /** Base URL of the holder's ingest (edges pull `<url>/whep/<name>`, redirects point there). */
  url: string;
  token: number;
  protocol: 'whip' | 'webtransport';
  session: string;
  since: string;
  codecs: StreamCodecs;
}

/** What the holder writes; the token is Redis's to give. */
export type LeaseClaim = Omit<Lease, 'token'>;

const codecsSchema = z.object({
  video: z.object({ name: z.string(), clockRate: z.number(), fmtp: z.string().optional() }).optional(),
  audio: z.object({ name: z.string(), clockRate: z.number(), channels: z.number().optional(), fmtp: z.string().optional() }).optional(),
});

const leaseSchema = z.object({
  name: z.string(),
  node: z.string().min(1),
  url: z.string().min(1),
  token: z.coerce.number().int().min(1),
  protocol: z.enum(['whip', 'webtransport']),
  session: z.string(),
  since: z.string(),
  codecs: z.string().transform((text, ctx) => {
    try {
      return codecsSchema.parse(JSON.parse(text));
    } catch {
      ctx.addIssue({ code: 'custom', message: 'codecs is not JSON' });
      return z.NEVER;
    }
  }),
});

/** The lease's fields in HSET order, then the TTL; shared by ACQUIRE and RENEW. */
const WRITE_LEASE = `
local function write_lease(token, first)
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'node', ARGV[first], 'url', ARGV[first + 1], 'token', token, 'protocol', ARGV[first + 2], 'session', ARGV[first + 3], 'since', ARGV[first + 4], 'name', ARGV[first + 5], 'codecs', ARGV[first + 6])
  redis.call('PEXPIRE', KEYS[1], ARGV[first + 7])
  redis.call('PUBLISH', ARGV[first + 8], cjson.encode({type = 'stream.live', streamId = ARGV[first + 9], name = ARGV[first + 5], node = ARGV[first], url = ARGV[first + 1], token = token}))
end`;

/** KEYS: lease, sequence. ARGV: the claim (write_lease order from 1). → the new token. */
const ACQUIRE = new RedisScript(`${WRITE_LEASE}
local token = redis.call('INCR', KEYS[2])
write_lease(token, 1)
return token`);

/**
 * KEYS: lease, sequence. ARGV: token, then the claim (from 2). → 1 renewed, 2 reclaimed (it had
 * expired and no newer token exists), 0 lost (another token holds it, or was issued since).
 */
const RENEW = new RedisScript(`${WRITE_LEASE}
local current = redis.call('HGET', KEYS[1], 'token')
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[9])
  return 1
end
if current then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
write_lease(tonumber(ARGV[1]), 2)
return 2`);

/** KEYS: lease. ARGV: token, channel, offline event JSON. → 1 released, 0 not ours (taken over: nothing announced). */
const RELEASE = new RedisScript(`
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`);

export type RenewResult = 'renewed' | 'reclaimed' | 'lost';

export class StreamDirectory {
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
  ) {}

  /** Takes the stream's lease (whoever held it) and announces it; returns the fencing token. */
  async acquire(claim: LeaseClaim): Promise<number> {
    return Number(await ACQUIRE.run(this.redis, [clusterKeys.live(claim.streamId), clusterKeys.leaseSeq(claim.streamId)], this.claimArgs(claim)));
  }

  async renew(claim: LeaseClaim, token: number): Promise<RenewResult> {
    const result = Number(await RENEW.run(this.redis, [clusterKeys.live(claim.streamId), clusterKeys.leaseSeq(claim.streamId)], [token, ...this.claimArgs(claim)]));
    return result === 1 ? 'renewed' : result === 2 ? 'reclaimed' : 'lost';
  }

  /** Ends the lease if `token` still holds it (announcing `stream.offline`); true when it did. */
  async release(lease: Pick<Lease, 'streamId' | 'name' | 'node'>, token: number): Promise<boolean> {
    const event = JSON.stringify({ type: 'stream.offline', streamId: lease.streamId, name: lease.name, node: lease.node, token });
    return Number(await RELEASE.run(this.redis, [clusterKeys.live(lease.streamId)], [token, CLUSTER_EVENTS_CHANNEL, event])) === 1;
  }

  /** The stream's current lease, or undefined when it is offline everywhere. */
  async lookup(streamId: string): Promise<Lease | undefined> {
    return toLease(streamId, await this.redis.hgetall(clusterKeys.live(streamId)));
  }

  /** The leases of these streams (one round trip), by stream id; offline streams are absent. */
  async lookupMany(streamIds: string[]): Promise<Map<string, Lease>> {
    const out = new Map<string, Lease>();
    if (streamIds.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const id of streamIds) pipeline.hgetall(clusterKeys.live(id));
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([error, fields], index) => {
      const lease = error ? undefined : toLease(streamIds[index]!, fields as Record<string, string>);
      if (lease) out.set(lease.streamId, lease);
    });
    return out;
  }

  /** Whether `token` is the stream's lease on `node` right now (an origin asks before serving an edge). */
  async confirms(streamId: string, node: string, token: number): Promise<boolean> {
    const [holder, current] = await this.redis.hmget(clusterKeys.live(streamId), 'node', 'token');
    return holder === node && current === String(token);
  }

  private claimArgs(claim: LeaseClaim): Array<string | number> {
    return [claim.node, claim.url, claim.protocol, claim.session, claim.since, claim.name, JSON.stringify(claim.codecs), this.ttlMs, CLUSTER_EVENTS_CHANNEL, claim.streamId];
  }
}

function toLease(streamId: string, fields: Record<string, string>): Lease | undefined {
  if (!fields || Object.keys(fields).length === 0) return undefined;
  const parsed = leaseSchema.safeParse(fields);
  return parsed.success ? { streamId, ...parsed.data } : undefined;
}

/** A lease as the admin API shows a stream live on another node (no media measurements there). */
export function remoteLiveState(lease: Lease): LiveState {
  return {
    live: true,
    since: lease.since,
    publisher: { protocol: lease.protocol, sessionId: lease.session },
    video: lease.codecs.video ? { codec: lease.codecs.video.name, width: null, height: null, fps: null, bitrateKbps: 0, packetsLost: 0 } : null,
    audio: lease.codecs.audio ? { codec: lease.codecs.audio.name, bitrateKbps: 0 } : null,
    viewers: { whep: 0, total: 0 },
  };
}
