import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * Opens a service's SQLite database (`node:sqlite`, no native addon), creating its folder.
 * WAL lets the dashboard's reads run beside writes; the busy timeout rides out a concurrent
 * writer instead of failing. `path` may be `:memory:` for tests.
 */
export function openDatabase(path: string, schema: string): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode = WAL;\nPRAGMA busy_timeout = 2000;\n${schema}`);
  return db;
}
