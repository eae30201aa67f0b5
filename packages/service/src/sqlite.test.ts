/**
 * The databases hold every stream key; the WAL holds the recent writes. On a machine with other
 * users, none of it may be readable by them, whatever the process umask.
 */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from './sqlite';

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);
let root: string;
let umask: number;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'onair-sqlite-'));
  // The usual default, where SQLite's own 0644 stays 0644 (vitest runs files in child processes).
  umask = process.umask(0o022);
});

afterEach(() => {
  process.umask(umask);
  rmSync(root, { recursive: true, force: true });
});

describe('openDatabase file modes', () => {
  it('creates the data directory 0700 and the database, its WAL and shared memory 0600', () => {
    const dataDir = join(root, 'data');
    const path = join(dataDir, 'ingest.db');
    const db = openDatabase(path, 'CREATE TABLE keys (key TEXT);');
    db.prepare('INSERT INTO keys VALUES (?)').run('sk_secret');
    expect(mode(dataDir)).toBe('700');
    expect(mode(path)).toBe('600');
    expect(mode(`${path}-wal`)).toBe('600');
    expect(mode(`${path}-shm`)).toBe('600');
    db.close();
  });

  it('tightens a database and WAL left 0644 by an earlier version', () => {
    const path = join(root, 'transcoder.db');
    openDatabase(path, 'CREATE TABLE t (x);').close();
    writeFileSync(`${path}-wal`, '');
    for (const file of [path, `${path}-wal`]) chmodSync(file, 0o644);
    const db = openDatabase(path, 'CREATE TABLE IF NOT EXISTS t (x);');
    db.prepare('INSERT INTO t VALUES (1)').run();
    expect(mode(path)).toBe('600');
    expect(mode(`${path}-wal`)).toBe('600');
    expect(mode(`${path}-shm`)).toBe('600');
    db.close();
  });

  it('leaves the mode of a data directory that already existed alone (it may be shared on purpose)', () => {
    chmodSync(root, 0o755);
    openDatabase(join(root, 'ingest.db'), '').close();
    expect(mode(root)).toBe('755');
  });
});
