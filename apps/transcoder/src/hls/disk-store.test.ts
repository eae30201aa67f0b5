import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskStore } from './disk-store';
import { HlsPackager } from './hls-packager';
import { fixture, silentLog } from './test-kit';

describe('DiskStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onair-disk-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes atomically in order and removes after the write it follows', async () => {
    const store = new DiskStore(dir, silentLog);
    store.write('a/one.m4s', Buffer.from('1'));
    store.write('a/two.m4s', 'two');
    store.remove('a/one.m4s');
    await store.idle();
    expect(await readdir(join(dir, 'a'))).toEqual(['two.m4s']);
    expect(await readFile(join(dir, 'a/two.m4s'), 'utf8')).toBe('two');
  });

  it('a failing write is counted and logged, never thrown, and later writes still happen', async () => {
    await writeFile(join(dir, 'blocker'), 'a file where a directory should be');
    const store = new DiskStore(dir, silentLog);
    store.write('blocker/x.m4s', 'x');
    store.write('ok.m4s', 'y');
    await store.idle();
    expect(store.failureCount).toBe(1);
    expect(existsSync(join(dir, 'ok.m4s'))).toBe(true);
  });
});

describe('HlsPackager on disk', () => {
  it('writes init, segments, a plain playlist per rendition and the multivariant playlist', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'onair-pkg-'));
    try {
      const packager = new HlsPackager({ stream: 's', dir, log: silentLog });
      packager.addRendition({ id: 'v', bandwidth: 100_000 }).push(fixture('video-only.mp4'));
      packager.end();
      await packager.flushDisk();
      const files = (await readdir(join(dir, 'v'))).sort();
      expect(files).toEqual([`index.m3u8`, `init-${packager.epoch}-0.mp4`, `seg-${packager.epoch}-0.m4s`, `seg-${packager.epoch}-1.m4s`]);
      const playlist = await readFile(join(dir, 'v/index.m3u8'), 'utf8');
      expect(playlist).toContain('#EXT-X-VERSION:6');
      expect(playlist).not.toContain('#EXT-X-PART');
      expect(playlist.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
      expect(await readFile(join(dir, 'index.m3u8'), 'utf8')).toContain('v/index.m3u8');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
