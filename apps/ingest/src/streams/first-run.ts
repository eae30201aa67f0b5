import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StreamRecord, StreamStore } from './stream-store';

const MARKER = 'ingest-bootstrapped';

/**
 * On the very first start of an installation, create a stream named `demo` so a person can go
 * live at once. A marker file keeps a deleted `demo` from coming back on the next start.
 */
export function createDemoStreamOnFirstRun(store: StreamStore, dataDir: string): StreamRecord | undefined {
  const marker = join(dataDir, MARKER);
  if (existsSync(marker)) return undefined;
  const demo = store.list().length === 0 ? store.create('demo') : undefined;
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return demo;
}
