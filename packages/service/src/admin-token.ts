import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from './private-dir';

export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * The admin token every service accepts: `ONAIR_ADMIN_TOKEN` when set, else the one kept in
 * `<dataDir>/admin-token`, generated (256 bits, file mode 0600) on first run. All services of
 * one installation share the data directory, so they agree without further configuration.
 */
export function resolveAdminToken(dataDir: string, fromEnv: string | undefined): { token: string; generated: boolean } {
  if (fromEnv) return { token: fromEnv, generated: false };
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing.length >= 16) return { token: existing, generated: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  ensurePrivateDir(dataDir);
  const token = `at_${randomBytes(32).toString('base64url')}`;
  // 'wx' fails if another service created it between our read and write: then read theirs.
  try {
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return { token, generated: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { token: readFileSync(file, 'utf8').trim(), generated: false };
  }
}
