import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamStore } from './stream-store';

describe('StreamStore', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('creates streams with unique random keys and finds them by key', () => {
    const store = new StreamStore(':memory:');
    const a = store.create('a');
    const b = store.create('b');
    expect(a.streamKey).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(a.streamKey).not.toBe(b.streamKey);
    expect(store.findByKey(a.streamKey)?.name).toBe('a');
    expect(store.findByKey(`${a.streamKey}x`)).toBeUndefined();
    expect(store.findByKey('')).toBeUndefined();
  });

  it('refuses a duplicate name with stream_name_taken', () => {
    const store = new StreamStore(':memory:');
    store.create('demo');
    expect(() => store.create('demo')).toThrow(expect.objectContaining({ code: 'stream_name_taken' }));
  });

  it('rotating a key invalidates the old one', () => {
    const store = new StreamStore(':memory:');
    const before = store.create('demo');
    const after = store.rotateKey(before.id);
    expect(after.streamKey).not.toBe(before.streamKey);
    expect(store.findByKey(before.streamKey)).toBeUndefined();
    expect(store.findByKey(after.streamKey)?.id).toBe(before.id);
  });

  it('persists across reopen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onair-store-'));
    dirs.push(dir);
    const file = join(dir, 'nested', 'ingest.db');
    const first = new StreamStore(file);
    const created = first.create('kept');
    first.close();
    const second = new StreamStore(file);
    expect(second.findByName('kept')).toEqual(created);
    second.close();
  });

  it('rename and delete report unknown ids as stream_not_found', () => {
    const store = new StreamStore(':memory:');
    expect(() => store.rename('nope', 'x')).toThrow(expect.objectContaining({ code: 'stream_not_found' }));
    expect(() => store.delete('nope')).toThrow(expect.objectContaining({ code: 'stream_not_found' }));
    const s = store.create('x');
    expect(store.rename(s.id, 'y').name).toBe('y');
    store.delete(s.id);
    expect(store.list()).toEqual([]);
  });
});
