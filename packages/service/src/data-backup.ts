import { closeSync, copyFileSync, chmodSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ensurePrivateDir } from './private-dir';

/** SQLite's side files: their content reaches the backup through the database, never copied. */
const SIDE_FILE = /-(wal|shm|journal)$/;

/**
 * Backs up a data directory while the services run, into `dest` (created 0700, must be empty):
 * each `*.db` through `VACUUM INTO`, one read transaction, so the copy is consistent and includes
 * the writes still in the WAL (copying the file would miss them); the other top-level files
 * (admin token, first-run marker) as they are. Directories (HLS segments) are left out. Every file
 * is 0600. Returns the names written.
 */
export function backupDataDir(dataDir: string, dest: string): string[] {
  const entries = readdirSync(dataDir, { withFileTypes: true }).filter((entry) => entry.isFile() && !SIDE_FILE.test(entry.name));
  if (!entries.some((entry) => entry.name.endsWith('.db'))) throw new Error(`${dataDir} has no database to back up.`);
  ensurePrivateDir(dest);
  if (readdirSync(dest).length > 0) throw new Error(`${dest} is not empty; choose a new directory for the backup.`);
  const written: string[] = [];
  for (const { name } of entries) {
    const target = join(dest, name);
    if (name.endsWith('.db')) {
      // VACUUM INTO needs an absent or empty target; creating it first sets its mode.
      closeSync(openSync(target, 'wx', 0o600));
      const source = new DatabaseSync(join(dataDir, name));
      try {
        source.exec('PRAGMA busy_timeout = 5000;');
        source.prepare('VACUUM INTO ?').run(target);
      } finally {
        source.close();
      }
    } else {
      copyFileSync(join(dataDir, name), target);
    }
    chmodSync(target, 0o600);
    written.push(name);
  }
  return written;
}
