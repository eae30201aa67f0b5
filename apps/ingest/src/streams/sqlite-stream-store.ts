/**
 * Streams and their keys in SQLite (`node:sqlite`, no native addon) under the data directory:
 * the embedded single node's store (see stream-store.ts for the interface and why it is async).
 */
import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { OnairError } from '@onair/shared/errors';
import { openDatabase } from '@onair/service/sqlite';
import { generateStreamKey, sameKey, type StreamRecord, type StreamStore } from './stream-store';

interface StreamRow {
  id: string;
  name: string;
  stream_key: string;
  created_at: string;
}

export class SqliteStreamStore implements StreamStore {
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

  async list(): Promise<StreamRecord[]> {
    return (this.db.prepare('SELECT * FROM streams ORDER BY created_at, name').all() as unknown as StreamRow[]).map(fromRow);
  }

  async findById(id: string): Promise<StreamRecord | undefined> {
    return this.byId(id);
  }

  async findByName(name: string): Promise<StreamRecord | undefined> {
    return this.byName(name);
  }

  async requireByIdOrName(idOrName: string): Promise<StreamRecord> {
    const record = this.byId(idOrName) ?? this.byName(idOrName);
    if (!record) throw new OnairError('stream_not_found', `No stream "${idOrName}".`);
    return record;
  }

  async findByKey(key: string): Promise<StreamRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM streams WHERE stream_key = ?').get(key) as unknown as StreamRow | undefined;
    return row && sameKey(row.stream_key, key) ? fromRow(row) : undefined;
  }

  async create(name: string): Promise<StreamRecord> {
    if (this.byName(name)) throw new OnairError('stream_name_taken', `A stream named "${name}" already exists.`);
    const record: StreamRecord = { id: randomUUID(), name, streamKey: generateStreamKey(), createdAt: new Date().toISOString() };
    this.db.prepare('INSERT INTO streams (id, name, stream_key, created_at) VALUES (?, ?, ?, ?)').run(record.id, record.name, record.streamKey, record.createdAt);
    return record;
  }

  async rename(id: string, name: string): Promise<StreamRecord> {
    const existing = this.require(id);
    if (existing.name === name) return existing;
    if (this.byName(name)) throw new OnairError('stream_name_taken', `A stream named "${name}" already exists.`);
    this.db.prepare('UPDATE streams SET name = ? WHERE id = ?').run(name, id);
    return { ...existing, name };
  }

  async rotateKey(id: string): Promise<StreamRecord> {
    const existing = this.require(id);
    const streamKey = generateStreamKey();
    this.db.prepare('UPDATE streams SET stream_key = ? WHERE id = ?').run(streamKey, id);
    return { ...existing, streamKey };
  }

  async delete(id: string): Promise<StreamRecord> {
    const existing = this.require(id);
    this.db.prepare('DELETE FROM streams WHERE id = ?').run(id);
    return existing;
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }

  private byId(id: string): StreamRecord | undefined {
    const row = this.db.prepare('SELECT * FROM streams WHERE id = ?').get(id) as unknown as StreamRow | undefined;
    return row && fromRow(row);
  }

  private byName(name: string): StreamRecord | undefined {
    const row = this.db.prepare('SELECT * FROM streams WHERE name = ?').get(name) as unknown as StreamRow | undefined;
    return row && fromRow(row);
  }

  private require(id: string): StreamRecord {
    const found = this.byId(id);
    if (!found) throw new OnairError('stream_not_found', `No stream with id ${id}.`);
    return found;
  }
}

function fromRow(row: StreamRow): StreamRecord {
  return { id: row.id, name: row.name, streamKey: row.stream_key, createdAt: row.created_at };
}
