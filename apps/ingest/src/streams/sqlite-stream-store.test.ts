import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStreamStore } from './sqlite-stream-store';
import { describeStreamStore } from './stream-store-contract';

describeStreamStore('SQLite', async () => new SqliteStreamStore(':memory:'));

describe('SqliteStreamStore', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('persists across reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onair-store-'));
    dirs.push(dir);
    const file = join(dir, 'nested', 'ingest.db');
    const first = new SqliteStreamStore(file);
    const created = await first.create('kept');
    await first.close();
    const second = new SqliteStreamStore(file);
    expect(await second.findByName('kept')).toEqual(created);
    await second.close();
  });
});
