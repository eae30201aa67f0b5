import { describe, expect, it } from 'vitest';
import { CatalogUpdates } from './catalog-updates';

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const video = { renditions: { 'video/hd': { codec: 'avc1.640028', container: { kind: 'legacy' }, codedWidth: 1280, codedHeight: 720 } } };
const audio = { renditions: { 'audio/data': { codec: 'opus', container: { kind: 'legacy' }, sampleRate: 48000, numberOfChannels: 2 } } };

describe('CatalogUpdates', () => {
  it("follows <moq-publish>'s snapshots: {} → video → video + audio, each a new group", () => {
    const updates = new CatalogUpdates();
    expect(updates.push(0, 0, json({}))).toEqual({ kind: 'catalog', catalog: {} });
    expect(updates.push(1, 0, json({ video }))).toMatchObject({ kind: 'catalog', catalog: { video } });
    expect(updates.push(2, 0, json({ video, audio }))).toMatchObject({ kind: 'catalog', catalog: { video, audio } });
    expect(updates.count).toBe(3);
  });

  it('applies merge patches within a group, and a new snapshot replaces them', () => {
    const updates = new CatalogUpdates();
    updates.push(4, 0, json({ video }));
    expect(updates.push(4, 1, json({ audio }))).toMatchObject({ kind: 'catalog', catalog: { video, audio } });
    const patched = updates.push(4, 2, json({ video: { renditions: { 'video/hd': { codedWidth: 640, codedHeight: 360 } } }, audio: null }));
    expect(patched).toEqual({ kind: 'catalog', catalog: { video: { renditions: { 'video/hd': { ...video.renditions['video/hd'], codedWidth: 640, codedHeight: 360 } } } } });
    expect(updates.push(5, 0, json({ audio }))).toEqual({ kind: 'catalog', catalog: { audio } });
  });

  it.each([
    ['a late group', [[3, 0, { video }]], [2, 0, {}], { kind: 'ignored', reason: 'late_group' }],
    ['a patch with no snapshot before it', [], [0, 1, { audio }], { kind: 'ignored', reason: 'patch_without_snapshot' }],
    ['a patch after a missing frame', [[0, 0, { video }]], [0, 2, { audio }], { kind: 'ignored', reason: 'patch_without_snapshot' }],
    ['a patch of another group', [[0, 0, { video }]], [1, 1, { audio }], { kind: 'ignored', reason: 'patch_without_snapshot' }],
    ['an invalid snapshot', [[0, 0, { video }]], [1, 0, { video: { renditions: { v: { codec: 1 } } } }], { kind: 'invalid', reason: 'catalog_invalid' }],
    ['a patch that makes it invalid', [[0, 0, { video }]], [0, 1, { video: { renditions: { 'video/hd': { codedWidth: 'wide' } } } }], { kind: 'invalid', reason: 'catalog_invalid' }],
  ] as const)('%s', (_name, before, [group, frame, value], expected) => {
    const updates = new CatalogUpdates();
    for (const [g, f, v] of before) expect(updates.push(g, f, json(v)).kind).toBe('catalog');
    expect(updates.push(group, frame, json(value))).toMatchObject(expected);
  });

  it('keeps the last good catalog after an invalid frame', () => {
    const updates = new CatalogUpdates();
    updates.push(0, 0, json({ video }));
    updates.push(0, 1, new TextEncoder().encode('{'));
    expect(updates.push(0, 1, json({ audio }))).toMatchObject({ kind: 'catalog', catalog: { video, audio } });
  });

  it('refuses patches that grow the catalog past its size bound, a little at a time', () => {
    const updates = new CatalogUpdates({ maxBytes: 1024 });
    updates.push(0, 0, json({}));
    let result;
    for (let frame = 1; frame < 20; frame += 1) {
      result = updates.push(0, frame, json({ [`k${frame}`]: 'x'.repeat(100) }));
      if (result.kind !== 'catalog') break;
    }
    expect(result).toMatchObject({ kind: 'invalid', reason: 'catalog_too_large' });
  });

  it('refuses a patch nested 100 deep', () => {
    const updates = new CatalogUpdates();
    updates.push(0, 0, json({}));
    const deep = '{"a":'.repeat(100) + '1' + '}'.repeat(100);
    expect(updates.push(0, 1, new TextEncoder().encode(deep))).toMatchObject({ kind: 'invalid', reason: 'catalog_invalid', detail: /deeply/ });
  });

  it('refuses a patch of arrays nested 32 000 deep (under the 64 KiB cap) as catalog_invalid: measuring it threw a RangeError, and the session ended with a stack in the log', () => {
    const updates = new CatalogUpdates();
    updates.push(0, 0, json({}));
    const deep = `{"x":${'['.repeat(32_000)}${']'.repeat(32_000)}}`;
    expect(deep.length).toBeLessThan(64 * 1024);
    expect(updates.push(0, 1, new TextEncoder().encode(deep))).toMatchObject({ kind: 'invalid', reason: 'catalog_invalid', detail: /deeply/ });
  });

  it('stops after maxUpdates', () => {
    const updates = new CatalogUpdates({ maxUpdates: 3 });
    for (let group = 0; group < 3; group += 1) expect(updates.push(group, 0, json({})).kind).toBe('catalog');
    expect(updates.push(3, 0, json({}))).toMatchObject({ kind: 'invalid', detail: /more than 3 catalog updates/ });
  });

  it('never throws on 5000 random frames', () => {
    const updates = new CatalogUpdates();
    const seeds = [json({ video, audio }), json({ audio: null }), json({ video: { renditions: { x: { codec: 'avc1.42e01f' } } } })];
    for (let i = 0; i < 5000; i += 1) {
      const bytes = Uint8Array.from(seeds[i % 3]!);
      bytes[Math.floor(Math.random() * bytes.length)] = Math.floor(Math.random() * 256);
      updates.push(Math.floor(i / 4), i % 4, bytes);
    }
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine
});
