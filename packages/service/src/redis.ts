/**
 * Connections to the cluster's Redis (ONAIR_REDIS_URL), the same way in every service: ioredis
 * reconnects by itself (fast: a restarted Redis is back within a second or two, and the nodes
 * should be too), commands wait for a reconnect but never longer than `commandTimeoutMs`, and an
 * outage is logged once when it starts and once when it ends, not per retry.
 */
import { Redis } from 'ioredis';
import type { Logger } from './logger';

export interface RedisConnectionOptions {
  url: string;
  /** Shown in CLIENT LIST and the logs, e.g. `ingest node-a` or `ingest node-a events`. */
  name: string;
  log: Logger;
  /** A command without a reply after this long fails (ms, default 3000). */
  commandTimeoutMs?: number;
}

/** Reconnect delays: 50 ms doubling up to 1 s (ioredis' default grows to 5 s, too slow to follow a Redis restart). */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.max(0, attempt - 1), 1_000);
}

/** The URL without its password, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export function createRedis({ url, name, log, commandTimeoutMs = 3_000 }: RedisConnectionOptions): Redis {
  const redis = new Redis(url, {
    connectionName: `onair-${name}`.replace(/[^A-Za-z0-9._:@-]/g, '_'),
    retryStrategy: reconnectDelayMs,
    // Commands wait for the reconnect (bounded by commandTimeout), whatever the number of attempts.
    maxRetriesPerRequest: null,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2_000,
    // A dead peer (host gone, no RST) is noticed within seconds, not at TCP's minutes.
    keepAlive: 1_000,
  });
  const where = redactRedisUrl(url);
  let down: { since: number; error: string | undefined } | undefined;
  let everReady = false;
  redis.on('ready', () => {
    reconnecting.delete(redis);
    if (down) log.info({ redis: where, downMs: Date.now() - down.since }, 'Redis reconnected');
    else if (!everReady) log.info({ redis: where, connection: name }, 'connected to Redis');
    everReady = true;
    down = undefined;
  });
  redis.on('error', (error: Error) => {
    // Every failed attempt reports here; the outage is logged once, on 'close'.
    if (down) down.error = error.message;
    else log.debug({ err: error.message, connection: name }, 'Redis connection error');
  });
  redis.on('close', () => {
    if (everReady) reconnecting.add(redis);
    if (down || redis.status === 'end') return;
    down = { since: Date.now(), error: undefined };
    log.warn({ redis: where, connection: name }, 'Redis connection lost; reconnecting');
  });
  return redis;
}

/** Connections made by createRedis that have lost Redis and not got it back yet. */
const reconnecting = new WeakSet<Redis>();

/**
 * Whether a write sent now goes out now: Redis is ready, or the connection is still being made
 * for the first time (commands wait for it as usual). False while reconnecting after a loss:
 * writes that must not be queued check this first.
 */
export function redisReady(redis: Redis): boolean {
  return redis.status === 'ready' || (!reconnecting.has(redis) && ['wait', 'connecting', 'connect'].includes(redis.status));
}

/**
 * What Redis says of its durability: the cluster's streams and keys must survive a Redis restart,
 * which needs the append-only file, synced before each reply. Returns a warning to log, or
 * undefined when AOF is on with `appendfsync always`.
 * Managed Redis services may refuse CONFIG: then the operator is told to check it themselves.
 */
export async function durabilityWarning(redis: Redis): Promise<string | undefined> {
  try {
    const appendonly = ((await redis.config('GET', 'appendonly')) as unknown as string[])[1];
    if (appendonly !== 'yes') return `Redis runs without the append-only file (appendonly ${appendonly ?? '?'}): streams and keys are lost when it restarts. Set appendonly yes (redis.conf).`;
    const fsync = ((await redis.config('GET', 'appendfsync')) as unknown as string[])[1];
    // everysec replies before writing while a background fsync is slow (up to 2 s of acknowledged writes).
    return fsync === 'always' ? undefined : `Redis syncs its append-only file with appendfsync ${fsync ?? '?'}: a stream or key made just before Redis crashes can be lost. Set appendfsync always (redis.conf).`;
  } catch (error) {
    return `could not read Redis's appendonly setting (${(error as Error).message}): make sure it is yes, or streams and keys are lost when Redis restarts`;
  }
}
