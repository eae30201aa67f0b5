/**
 * `npm run backup [-- <destination>]`: a consistent copy of the data directory's databases (with
 * the writes still in their WAL), the admin token and the first-run marker, safe while onair
 * runs. Default destination: `backups/<UTC time>` beside the data directory. HLS segments are
 * not kept (they are live and short-lived).
 */
import { dirname, resolve } from 'node:path';
import { backupDataDir } from '@onair/service/data-backup';

const root = resolve(import.meta.dirname, '..');
const dataDir = resolve(root, process.env.ONAIR_DATA_DIR ?? '.data');
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const dest = resolve(process.argv[2] ?? resolve(dirname(dataDir), 'backups', stamp));

try {
  const written = backupDataDir(dataDir, dest);
  console.log(`Backed up ${written.join(', ')} from ${dataDir}\n  to ${dest}`);
  console.log('Restore: stop onair, remove <data>/*.db-wal and *.db-shm, copy these files into the data directory.');
} catch (error) {
  console.error(`backup failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
