import { describe, expect, it } from 'vitest';
import { RenditionCatalog } from './rendition-catalog';
import { FakeFeed, FakeRenditionSet } from './router-test-kit';

const ladder = (instance: string, ssrcBase = 0) => new FakeRenditionSet(instance, [new FakeFeed('720p', 1280, 720, 2800, ssrcBase + 1), new FakeFeed('360p', 640, 360, 800, ssrcBase + 2)]);

describe('RenditionCatalog', () => {
  it('finds the feeds of the current set by name, and nothing before one is announced', () => {
    const catalog = new RenditionCatalog();
    expect(catalog.set).toBeUndefined();
    expect(catalog.feeds).toEqual([]);
    expect(catalog.get('720p')).toBeUndefined();
    const set = ladder('tx-1');
    expect(catalog.replace(set)).toBeUndefined();
    expect(catalog.set).toBe(set);
    expect(catalog.get('720p')).toBe(set.feeds[0]);
    expect(catalog.get('360p')).toBe(set.feeds[1]);
    expect(catalog.get('source')).toBeUndefined();
    expect(catalog.has(set.feeds[1]!)).toBe(true);
  });

  it('a new set of the same instance replaces the old one, whose feeds are no longer the stream\'s', () => {
    const catalog = new RenditionCatalog();
    const first = ladder('tx-1');
    catalog.replace(first);
    const second = ladder('tx-1', 10);
    expect(catalog.replace(second)).toBe(first);
    expect(catalog.get('720p')).toBe(second.feeds[0]);
    expect(catalog.has(first.feeds[0]!)).toBe(false);
    expect(catalog.has({ name: '720p' })).toBe(false);
    // The old set closing afterwards takes nothing away.
    expect(catalog.remove(first)).toBe(false);
    expect(catalog.set).toBe(second);
  });

  it('refuses another instance\'s set while one is held (409 renditions_in_use), and takes it once that one ended', () => {
    const catalog = new RenditionCatalog();
    const held = ladder('tx-1');
    catalog.replace(held);
    const other = ladder('tx-2', 10);
    expect(() => catalog.replace(other)).toThrow(expect.objectContaining({ code: 'renditions_in_use', status: 409 }));
    expect(catalog.set).toBe(held);
    expect(catalog.remove(held)).toBe(true);
    expect(catalog.feeds).toEqual([]);
    expect(catalog.get('720p')).toBeUndefined();
    expect(catalog.replace(other)).toBeUndefined();
    expect(catalog.get('360p')).toBe(other.feeds[1]);
  });
});
