/**
 * Streams and their keys in Redis, for a cluster: the admin API works on any node and any node
 * accepts any stream's key. Three hashes (cluster-keys.ts): the records by id, and the name and
 * key indexes; every change is one Lua script, so the record and its indexes never disagree and
 * two creates of one name on two nodes end with one stream. Durable as far as Redis is: AOF
 * (the node warns at start when Redis runs without it).
 *
 * Reads wait for a reconnecting Redis (bounded by the client's command timeout): a WHIP
 * reconnect during a Redis restart is answered a second later instead of refused. Writes are
 * refused at once (503 unavailable) while Redis is away: queued, they could apply after the
 * client was told they had failed.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { OnairError } from '@onair/shared/errors';
import { clusterKeys } from '@onair/service/cluster-keys';
import { redisReady } from '@onair/service/redis';
import { RedisScript } from '@onair/service/redis-script';
import { generateStreamKey, sameKey, type StreamRecord, type StreamStore } from '../streams/stream-store';

const recordSchema = z.object({ id: z.string(), name: z.string(), streamKey: z.string(), createdAt: z.string() });

/** KEYS: streams, names, keys. ARGV: id, name, key, record JSON. → 1, or 0 when the name is taken. */
const CREATE = new RedisScript(`
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1`);

/** KEYS: streams, names. ARGV: id, new name. → {status, record JSON}. */
const RENAME = new RedisScript(`
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return {'not_found', ''} end
local record = cjson.decode(json)
if record.name == ARGV[2] then return {'ok', json} end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then return {'taken', ''} end
redis.call('HDEL', KEYS[2], record.name)
record.name = ARGV[2]
json = cjson.encode(record)
redis.call('HSET', KEYS[1], ARGV[1], json)
return {'ok', json}`);

/** KEYS: streams, keys. ARGV: id, new key. → {status, record JSON}. */
const ROTATE = new RedisScript(`
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return {'not_found', ''} end
local record = cjson.decode(json)
redis.call('HDEL', KEYS[2], record.streamKey)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
record.streamKey = ARGV[2]
json = cjson.encode(record)
redis.call('HSET', KEYS[1], ARGV[1], json)
return {'ok', json}`);

/** KEYS: streams, names, keys, the stream's lease sequence, its job sequence, its HLS position. ARGV: id. → record JSON or nil. */
const DELETE = new RedisScript(`
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return nil end
local record = cjson.decode(json)
redis.call('HDEL', KEYS[2], record.name)
redis.call('HDEL', KEYS[3], record.streamKey)
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[4], KEYS[5], KEYS[6])
return json`);

/** KEYS: an index, streams. ARGV: the indexed value. → record JSON or nil. */
const FIND_BY_INDEX = new RedisScript(`
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return nil end
return redis.call('HGET', KEYS[2], id)`);

export class RedisStreamStore implements StreamStore {
  /** `redis` belongs to the caller, who closes it. */
  constructor(private readonly redis: Redis) {}

  async list(): Promise<StreamRecord[]> {
    const values = await this.redis.hvals(clusterKeys.streams);
    return values.map(parseRecord).sort((a, b) => (a.createdAt === b.createdAt ? a.name.localeCompare(b.name) : a.createdAt < b.createdAt ? -1 : 1));
  }

  async findById(id: string): Promise<StreamRecord | undefined> {
    const json = await this.redis.hget(clusterKeys.streams, id);
    return json === null ? undefined : parseRecord(json);
  }

  async findByName(name: string): Promise<StreamRecord | undefined> {
    return this.byIndex(clusterKeys.streamNames, name);
  }

  async requireByIdOrName(idOrName: string): Promise<StreamRecord> {
    const record = (await this.findById(idOrName)) ?? (await this.findByName(idOrName));
    if (!record) throw new OnairError('stream_not_found', `No stream "${idOrName}".`);
    return record;
  }

  async findByKey(key: string): Promise<StreamRecord | undefined> {
    if (key === '') return undefined;
    const record = await this.byIndex(clusterKeys.streamKeys, key);
    return record && sameKey(record.streamKey, key) ? record : undefined;
  }

  async create(name: string): Promise<StreamRecord> {
    this.assertWritable();
    const record: StreamRecord = { id: randomUUID(), name, streamKey: generateStreamKey(), createdAt: new Date().toISOString() };
    const created = await CREATE.run(this.redis, [clusterKeys.streams, clusterKeys.streamNames, clusterKeys.streamKeys], [record.id, record.name, record.streamKey, JSON.stringify(record)]);
    if (created !== 1) throw new OnairError('stream_name_taken', `A stream named "${name}" already exists.`);
    return record;
  }

  async rename(id: string, name: string): Promise<StreamRecord> {
    this.assertWritable();
    const [status, json] = (await RENAME.run(this.redis, [clusterKeys.streams, clusterKeys.streamNames], [id, name])) as [string, string];
    if (status === 'taken') throw new OnairError('stream_name_taken', `A stream named "${name}" already exists.`);
    return this.changed(status, json, id);
  }

  async rotateKey(id: string): Promise<StreamRecord> {
    this.assertWritable();
    const [status, json] = (await ROTATE.run(this.redis, [clusterKeys.streams, clusterKeys.streamKeys], [id, generateStreamKey()])) as [string, string];
    return this.changed(status, json, id);
  }

  async delete(id: string): Promise<StreamRecord> {
    this.assertWritable();
    const json = (await DELETE.run(this.redis, [clusterKeys.streams, clusterKeys.streamNames, clusterKeys.streamKeys, clusterKeys.leaseSeq(id), clusterKeys.jobSeq(id), clusterKeys.hlsPosition(id)], [id])) as string | null;
    if (json === null) throw new OnairError('stream_not_found', `No stream with id ${id}.`);
    return parseRecord(json);
  }

  /** The connection is the node's, closed with it. */
  async close(): Promise<void> {}

  private async byIndex(index: string, value: string): Promise<StreamRecord | undefined> {
    const json = (await FIND_BY_INDEX.run(this.redis, [index, clusterKeys.streams], [value])) as string | null;
    return json === null ? undefined : parseRecord(json);
  }

  private changed(status: string, json: string, id: string): StreamRecord {
    if (status === 'not_found') throw new OnairError('stream_not_found', `No stream with id ${id}.`);
    return parseRecord(json);
  }

  private assertWritable(): void {
    if (!redisReady(this.redis)) throw new OnairError('unavailable', 'The cluster store (Redis) is unreachable right now; nothing was changed. Try again shortly.', { extensions: { retryAfterS: 2 } });
  }
}

function parseRecord(json: string): StreamRecord {
  return recordSchema.parse(JSON.parse(json));
}
