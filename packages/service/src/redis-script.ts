/**
 * A Lua script run by its SHA1 (EVALSHA), sent whole once when Redis does not know it (NOSCRIPT:
 * first use, or after Redis restarted). Scripts are how the cluster changes several keys at once
 * atomically: a stream and its name and key indexes, a lease and its fencing token.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export class RedisScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
