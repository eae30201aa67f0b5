/**
 * Streams and their keys, persisted in SQLite (`node:sqlite`, no native addon) under the data
 * directory. Keys are stored as issued so the dashboard can show them again, as OBS users expect.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { OnairError } from '@onair/shared/errors';
import { openDatabase } from '@onair/service/sqlite';

export interface StreamRecord {
  id: string;
  name: string;
  streamKey: string;
  createdAt: string;
}

interface StreamRow {
  id: string;
  name: string;
  stream_key: string;
  created_at: string;
}

/** 32 random bytes, base64url: 256 bits, safe in a URL, a header and OBS's token field. */
export function generateStreamKey(): string {
  return `sk_${randomBytes(32).toString('base64url')}`;
}

export class StreamStore {
  private readonly db: DatabaseSync;

  /** `path` is a file, or `:memory:` for tests. */
  constructor(path: string) {
    this.db = openDatabase(
      path,
      `CREATE TABLE IF NOT EXISTS streams (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        stream_key TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      );`,
    );
  }

  list(): StreamRecord[] {
    return (this.db.prepare('SELECT * FROM streams ORDER BY created_at, name').all() as unknown as StreamRow[]).map(fromRow);
  }

  findById(id: string): StreamRecord | undefined {
    const row = this.db.prepare('SELECT * FROM streams WHERE id = ?').get(id) as unknown as StreamRow | undefined;
    return row && fromRow(row);
  }

  findByName(name: string): StreamRecord | undefined {
    const row = this.db.prepare('SELECT * FROM streams WHERE name = ?').get(name) as unknown as StreamRow | undefined;
    return row && fromRow(row);
  }

  /** API paths take a stream's id or its name (`curl …/api/streams/demo`); ids are tried first. */
  requireByIdOrName(idOrName: string): StreamRecord {
    const record = this.findById(idOrName) ?? this.findByName(idOrName);
    if (!record) throw new OnairError('stream_not_found', `No stream "${idOrName}".`);
    return record;
  }

  /**
   * The stream a publisher's key belongs to. The lookup is by key, then the comparison is
   * constant-time, so a timing side channel reveals nothing beyond the index lookup itself.
   */
  findByKey(key: string): StreamRecord | undefined {
    const row = this.db.prepare('SELECT * FROM streams WHERE stream_key = ?').get(key) as unknown as StreamRow | undefined;
    if (!row) return undefined;
    const a = Buffer.from(row.stream_key);
    const b = Buffer.from(key);
    return a.length === b.length && timingSafeEqual(a, b) ? fromRow(row) : undefined;
  }

  create(name: string): StreamRecord {
    if (this.findByName(name)) throw new OnairError('stream_name_taken', `A stream named "${name}" already exists.`);
    const record: StreamRecord = { id: randomUUID(), name, streamKey: generateStreamKey(), createdAt: new Date().toISOString() };
    this.db.prepare('INSERT INTO streams (id, name, stream_key, created_at) VALUES (?, ?, ?, ?)').run(record.id, record.name, record.streamKey, record.createdAt);
    return record;
  }

  rename(id: string, name: string): StreamRecord {
    const existing = this.require(id);
    if (existing.name === name) return existing;
    if (this.findByName(name)) throw new OnairError('stream_name_taken', `A stream named "${name}" already exists.`);
    this.db.prepare('UPDATE streams SET name = ? WHERE id = ?').run(name, id);
    return { ...existing, name };
  }

  rotateKey(id: string): StreamRecord {
    const existing = this.require(id);
    const streamKey = generateStreamKey();
    this.db.prepare('UPDATE streams SET stream_key = ? WHERE id = ?').run(streamKey, id);
    return { ...existing, streamKey };
  }

  delete(id: string): StreamRecord {
    const existing = this.require(id);
    this.db.prepare('DELETE FROM streams WHERE id = ?').run(id);
    return existing;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  private require(id: string): StreamRecord {
    const found = this.findById(id);
    if (!found) throw new OnairError('stream_not_found', `No stream with id ${id}.`);
    return found;
  }
}

function fromRow(row: StreamRow): StreamRecord {
  return { id: row.id, name: row.name, streamKey: row.stream_key, createdAt: row.created_at };
}
