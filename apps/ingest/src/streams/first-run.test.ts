import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoStreamOnFirstRun } from './first-run';
import { SqliteStreamStore } from './sqlite-stream-store';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the demo stream on first run', () => {
  it('is made once; a deleted demo does not come back on the next start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'onair-first-run-'));
    dirs.push(dataDir);
    const store = new SqliteStreamStore(':memory:');
    const demo = await createDemoStreamOnFirstRun(store, dataDir);
    expect(demo?.name).toBe('demo');
    await store.delete(demo!.id);
    expect(await createDemoStreamOnFirstRun(store, dataDir)).toBeUndefined();
    expect(await store.list()).toEqual([]);
  });

  it('a cluster node whose data directory does not exist yet (streams in Redis, admin token given) creates it, private, instead of crashing', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'onair-first-run-'));
    dirs.push(parent);
    const dataDir = join(parent, 'data');
    const demo = await createDemoStreamOnFirstRun(new SqliteStreamStore(':memory:'), dataDir);
    expect(demo?.name).toBe('demo');
    expect(existsSync(join(dataDir, 'ingest-bootstrapped'))).toBe(true);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
  });
});
