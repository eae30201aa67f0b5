import { mkdirSync } from 'node:fs';

/**
 * Creates a directory (and missing parents) readable by the owner only: the data directory holds
 * the databases with every stream key and the admin token. A directory that already exists keeps
 * its mode: it may be shared on purpose, and the secret files in it are 0600 themselves.
 */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
}
