/**
 * Streams and their keys: the interface the routes use, and what every store shares. Two stores
 * implement it: SQLite for one machine (sqlite-stream-store.ts) and Redis for a cluster
 * (../cluster/redis-stream-store.ts), so the admin API works on any node of a cluster and any
 * ingest accepts any stream's key. Keys are stored as issued so the dashboard can show them
 * again, as OBS users expect.
 *
 * Every method is async. A cluster store asks Redis on each call (a hash lookup, ~0.1–0.3 ms on a
 * LAN, against a WHIP answer's ~100 ms) rather than keeping a replica in every node: a key rotated
 * on one node is refused on every other at once, with no invalidation protocol to get wrong, and
 * no node holds a copy of every stream key in memory. SQLite answers synchronously underneath.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface StreamRecord {
  id: string;
  name: string;
  streamKey: string;
  createdAt: string;
}

export interface StreamStore {
  /** Every stream, oldest first (then by name). */
  list(): Promise<StreamRecord[]>;
  findById(id: string): Promise<StreamRecord | undefined>;
  findByName(name: string): Promise<StreamRecord | undefined>;
  /** API paths take a stream's id or its name (`curl …/api/streams/demo`); ids are tried first. Throws 404 stream_not_found. */
  requireByIdOrName(idOrName: string): Promise<StreamRecord>;
  /** The stream a publisher's key belongs to (looked up by key, then compared in constant time). */
  findByKey(key: string): Promise<StreamRecord | undefined>;
  /** Throws 409 stream_name_taken. */
  create(name: string): Promise<StreamRecord>;
  /** Throws 404 stream_not_found, 409 stream_name_taken. */
  rename(id: string, name: string): Promise<StreamRecord>;
  /** A new key; the old one is refused from now on. Throws 404 stream_not_found. */
  rotateKey(id: string): Promise<StreamRecord>;
  /** Throws 404 stream_not_found. */
  delete(id: string): Promise<StreamRecord>;
  close(): Promise<void>;
}

/** 32 random bytes, base64url: 256 bits, safe in a URL, a header and OBS's token field. */
export function generateStreamKey(): string {
  return `sk_${randomBytes(32).toString('base64url')}`;
}

/**
 * Whether the key a record was found by is the key presented, in constant time: the lookup by
 * key is an index search, and this keeps the comparison itself from saying more.
 */
export function sameKey(stored: string, presented: string): boolean {
  const a = Buffer.from(stored);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
