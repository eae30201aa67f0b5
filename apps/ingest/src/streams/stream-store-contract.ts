/**
 * What every StreamStore must do, as one table of cases run against each store: SQLite in
 * sqlite-stream-store.test.ts, Redis in ../cluster/redis-stream-store.int.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { StreamStore } from './stream-store';

export function describeStreamStore(name: string, open: () => Promise<StreamStore>): void {
  describe(`${name}: the StreamStore contract`, () => {
    it('creates streams with unique random keys and finds them by key, id and name', async () => {
      const store = await open();
      const a = await store.create('a');
      const b = await store.create('b');
      expect(a.streamKey).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
      expect(a.streamKey).not.toBe(b.streamKey);
      expect((await store.findByKey(a.streamKey))?.name).toBe('a');
      expect(await store.findByKey(`${a.streamKey}x`)).toBeUndefined();
      expect(await store.findByKey('')).toBeUndefined();
      expect(await store.findById(b.id)).toEqual(b);
      expect(await store.findByName('b')).toEqual(b);
      expect(await store.requireByIdOrName('a')).toEqual(a);
      expect(await store.requireByIdOrName(a.id)).toEqual(a);
      await expect(store.requireByIdOrName('nope')).rejects.toMatchObject({ code: 'stream_not_found' });
      expect((await store.list()).map((s) => s.name)).toEqual(['a', 'b']);
      await store.close();
    });

    it('refuses a duplicate name with stream_name_taken, also on rename', async () => {
      const store = await open();
      await store.create('demo');
      const other = await store.create('other');
      await expect(store.create('demo')).rejects.toMatchObject({ code: 'stream_name_taken' });
      await expect(store.rename(other.id, 'demo')).rejects.toMatchObject({ code: 'stream_name_taken' });
      expect((await store.list()).length).toBe(2);
      await store.close();
    });

    it('rotating a key invalidates the old one', async () => {
      const store = await open();
      const before = await store.create('demo');
      const after = await store.rotateKey(before.id);
      expect(after.streamKey).not.toBe(before.streamKey);
      expect(await store.findByKey(before.streamKey)).toBeUndefined();
      expect((await store.findByKey(after.streamKey))?.id).toBe(before.id);
      expect((await store.findById(before.id))?.streamKey).toBe(after.streamKey);
      await store.close();
    });

    it('rename frees the old name; delete frees name and key; unknown ids are stream_not_found', async () => {
      const store = await open();
      await expect(store.rename('nope', 'x')).rejects.toMatchObject({ code: 'stream_not_found' });
      await expect(store.rotateKey('nope')).rejects.toMatchObject({ code: 'stream_not_found' });
      await expect(store.delete('nope')).rejects.toMatchObject({ code: 'stream_not_found' });
      const s = await store.create('x');
      expect((await store.rename(s.id, 'y')).name).toBe('y');
      expect(await store.findByName('x')).toBeUndefined();
      expect((await store.findByName('y'))?.id).toBe(s.id);
      expect((await store.create('x')).name).toBe('x');
      await store.delete(s.id);
      expect(await store.findByKey(s.streamKey)).toBeUndefined();
      expect(await store.findByName('y')).toBeUndefined();
      expect((await store.list()).map((r) => r.name)).toEqual(['x']);
      await store.close();
    });

    it('two creates of one name at once: exactly one wins', async () => {
      const store = await open();
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => store.create('race')));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(Array(7).fill('stream_name_taken'));
      expect((await store.list()).length).toBe(1);
      await store.close();
    });
  });
}
