/**
 * A backup taken while the services run: the recent writes sit in the WAL, not the database file,
 * so copying `*.db` alone loses them. The backup must hold them, stay private, and leave out the
 * HLS segments.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupDataDir } from './data-backup';
import { openDatabase } from './sqlite';

let root: string;
let dataDir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'onair-backup-'));
  dataDir = join(root, 'data');
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('backupDataDir', () => {
  it('copies every database with the writes still in its WAL, while it is open, and the small files, privately', () => {
    const ingest = openDatabase(join(dataDir, 'ingest.db'), 'CREATE TABLE streams (name TEXT, key TEXT);');
    ingest.exec('PRAGMA wal_autocheckpoint = 0;');
    const insert = ingest.prepare('INSERT INTO streams VALUES (?, ?)');
    for (let i = 0; i < 50; i++) insert.run(`s${i}`, `sk_${i}`);
    expect(statSync(join(dataDir, 'ingest.db-wal')).size).toBeGreaterThan(0);
    // Copying the file alone, as `cp ingest.db` would, misses what is in the WAL.
    expect(() => new DatabaseSync(readOnlyCopy(join(dataDir, 'ingest.db'))).prepare('SELECT count(*) AS n FROM streams').get()).toThrow(/no such table/);
    const transcoder = openDatabase(join(dataDir, 'transcoder.db'), 'CREATE TABLE profiles (name TEXT);');
    transcoder.prepare('INSERT INTO profiles VALUES (?)').run('mine');
    writeFileSync(join(dataDir, 'admin-token'), 'at_secret\n', { mode: 0o600 });
    mkdirSync(join(dataDir, 'hls', 'demo'), { recursive: true });
    writeFileSync(join(dataDir, 'hls', 'demo', 'seg.m4s'), 'x');

    const dest = join(root, 'backups', 'one');
    const copied = backupDataDir(dataDir, dest);

    expect(copied.sort()).toEqual(['admin-token', 'ingest.db', 'transcoder.db']);
    expect(readdirSync(dest).sort()).toEqual(['admin-token', 'ingest.db', 'transcoder.db']);
    const restored = new DatabaseSync(join(dest, 'ingest.db'), { readOnly: true });
    expect(restored.prepare('SELECT count(*) AS n FROM streams').get()).toEqual({ n: 50 });
    restored.close();
    expect(new DatabaseSync(join(dest, 'transcoder.db'), { readOnly: true }).prepare('SELECT name FROM profiles').get()).toEqual({ name: 'mine' });
    expect(readFileSync(join(dest, 'admin-token'), 'utf8')).toBe('at_secret\n');
    expect(statSync(dest).mode & 0o777).toBe(0o700);
    for (const file of readdirSync(dest)) expect(statSync(join(dest, file)).mode & 0o777).toBe(0o600);
    ingest.close();
    transcoder.close();
  });

  it('works on a stopped installation too', () => {
    const db = openDatabase(join(dataDir, 'ingest.db'), 'CREATE TABLE streams (name TEXT);');
    db.prepare('INSERT INTO streams VALUES (?)').run('kept');
    db.close();
    backupDataDir(dataDir, join(root, 'b'));
    expect(new DatabaseSync(join(root, 'b', 'ingest.db')).prepare('SELECT name FROM streams').get()).toEqual({ name: 'kept' });
  });

  it('refuses a destination that already has files (never overwrites a backup)', () => {
    openDatabase(join(dataDir, 'ingest.db'), '').close();
    const dest = join(root, 'old');
    mkdirSync(dest);
    writeFileSync(join(dest, 'ingest.db'), 'old');
    expect(() => backupDataDir(dataDir, dest)).toThrow(/not empty/);
    expect(readFileSync(join(dest, 'ingest.db'), 'utf8')).toBe('old');
  });

  it('refuses a data directory without databases', () => {
    mkdirSync(dataDir);
    expect(() => backupDataDir(dataDir, join(root, 'b'))).toThrow(/no database/);
  });
});

/** What a plain file copy of a database gets: the main file only. */
function readOnlyCopy(path: string): string {
  const copy = join(root, 'plain-copy.db');
  writeFileSync(copy, readFileSync(path));
  return copy;
}
