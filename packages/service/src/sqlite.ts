import { chmodSync, closeSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ensurePrivateDir } from './private-dir';

/** Owner read/write only: the databases hold every stream key, the WAL the recent writes. */
const DATABASE_FILE_MODE = 0o600;

/**
 * Opens a service's SQLite database (`node:sqlite`, no native addon), creating its folder.
 * WAL lets the dashboard's reads run beside writes; the busy timeout rides out a concurrent
 * writer instead of failing. `path` may be `:memory:` for tests.
 *
 * The file is created 0600 before SQLite opens it: SQLite would create it 0644 minus the umask,
 * and it gives the -wal and -shm files the database file's mode. Files left wider by an earlier
 * version are tightened, before and after the WAL exists.
 */
export function openDatabase(path: string, schema: string): DatabaseSync {
  if (path === ':memory:') return configure(new DatabaseSync(path), schema);
  ensurePrivateDir(dirname(path));
  closeSync(openSync(path, 'a', DATABASE_FILE_MODE));
  restrict(path);
  const db = configure(new DatabaseSync(path), schema);
  restrict(path);
  return db;
}

function configure(db: DatabaseSync, schema: string): DatabaseSync {
  db.exec(`PRAGMA journal_mode = WAL;\nPRAGMA busy_timeout = 2000;\n${schema}`);
  return db;
}

function restrict(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(file, DATABASE_FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}
