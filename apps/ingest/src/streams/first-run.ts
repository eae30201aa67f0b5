import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from '@onair/service/private-dir';
import type { StreamRecord, StreamStore } from './stream-store';

const MARKER = 'ingest-bootstrapped';

/**
 * On the very first start of an installation, create a stream named `demo` so a person can go
 * live at once. A marker file keeps a deleted `demo` from coming back on the next start.
 */
export async function createDemoStreamOnFirstRun(store: StreamStore, dataDir: string): Promise<StreamRecord | undefined> {
  const marker = join(dataDir, MARKER);
  if (existsSync(marker)) return undefined;
  // Nodes of a new cluster start together: one of them makes the demo stream, the others find it taken.
  const demo = (await store.list()).length === 0 ? await store.create('demo').catch((error: unknown) => {
    if ((error as { code?: string }).code === 'stream_name_taken') return undefined;
    throw error;
  }) : undefined;
  // A cluster node given its admin token keeps nothing else in its data directory: nothing made it yet.
  ensurePrivateDir(dataDir);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return demo;
}
