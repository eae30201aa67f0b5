/**
 * The dashboard's session epoch: a random value in `<data dir>/web-session-epoch` (mode 0600) that
 * every session cookie carries. Signing out draws a new one, which ends every session signed
 * before it — and because it is a file, a restart of the web process does not bring a signed-out
 * cookie back (revocation in memory forgot it, so a copied cookie worked again for up to 12 h).
 * One admin secret, one epoch: signing out on one device signs out the others too.
 *
 * In a cluster (ONAIR_REDIS_URL) the epoch is a Redis key instead (`onair:web-session-epoch`,
 * durable like the streams): every web node reads it on each check, so a sign-out on one node ends
 * the session on all of them at once, and a web node keeps no state of its own. While Redis
 * cannot be reached no session is valid (fail closed).
 *
 * Node-only (files, Redis); imported by proxy.ts and server code, never by client components.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { clusterKeys } from '@onair/service/cluster-keys';
import { clusterView } from '../cluster-view';

export const SESSION_EPOCH_FILE = 'web-session-epoch';
const EPOCH = /^[A-Za-z0-9_-]{16,64}$/;

/** `<ONAIR_DATA_DIR>/web-session-epoch` (the data directory defaults to ./.data, as for every service). */
export function sessionEpochPath(env: Record<string, string | undefined> = process.env): string {
  return resolve(env['ONAIR_DATA_DIR']?.trim() || '.data', SESSION_EPOCH_FILE);
}

/** The current epoch; a missing or unreadable file gets a new one (which signs everyone out: the safe side). */
export function readSessionEpoch(path = sessionEpochPath()): string {
  try {
    const value = readFileSync(path, 'utf8').trim();
    if (EPOCH.test(value)) return value;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return rotateSessionEpoch(path);
}

/** Draws and stores a new epoch (written aside, then renamed: never half a file). */
export function rotateSessionEpoch(path = sessionEpochPath()): string {
  const epoch = randomBytes(16).toString('base64url');
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, `${epoch}\n`, { mode: 0o600 });
  renameSync(temporary, path);
  return epoch;
}

/** The current epoch: Redis's in a cluster (made on first use), else the data directory's file. */
export async function currentSessionEpoch(env: Record<string, string | undefined> = process.env): Promise<string> {
  const redis = clusterView(env)?.redis;
  if (!redis) return readSessionEpoch(sessionEpochPath(env));
  const value = await redis.get(clusterKeys.webSessionEpoch);
  if (value && EPOCH.test(value)) return value;
  // First use in this cluster (or a damaged value): one web node's draw wins, the others read it.
  const drawn = randomBytes(16).toString('base64url');
  if (value) await redis.set(clusterKeys.webSessionEpoch, drawn);
  else await redis.set(clusterKeys.webSessionEpoch, drawn, 'NX');
  const now = await redis.get(clusterKeys.webSessionEpoch);
  if (!now || !EPOCH.test(now)) throw new Error('the session epoch in Redis is not readable');
  return now;
}

/** Signs every dashboard session out: a new epoch, in Redis in a cluster, else in the file. */
export async function renewSessionEpoch(env: Record<string, string | undefined> = process.env): Promise<string> {
  const redis = clusterView(env)?.redis;
  if (!redis) return rotateSessionEpoch(sessionEpochPath(env));
  const epoch = randomBytes(16).toString('base64url');
  await redis.set(clusterKeys.webSessionEpoch, epoch);
  return epoch;
}
