import { describe, expect, it } from 'vitest';
import { RenditionCatalog } from './rendition-catalog';
import { FakeFeed, FakeRenditionSet } from './router-test-kit';
import { SimulcastLayer } from './simulcast-layers';
import { KeyframeRequester } from './keyframe-requester';

const ladder = (instance: string, ssrcBase = 0) => new FakeRenditionSet(instance, [new FakeFeed('720p', 1280, 720, 2800, ssrcBase + 1), new FakeFeed('360p', 640, 360, 800, ssrcBase + 2)]);

describe('RenditionCatalog', () => {
  it('finds the feeds of the current set by name, and nothing before one is announced', () => {
    const catalog = new RenditionCatalog();
    expect(catalog.sets).toEqual([]);
    expect(catalog.feeds).toEqual([]);
    expect(catalog.get('720p')).toBeUndefined();
    const set = ladder('tx-1');
    expect(catalog.replace(set)).toBeUndefined();
    expect(catalog.sets).toEqual([set]);
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
    expect(catalog.sets).toEqual([second]);
  });

  it('refuses another instance\'s set while one is held (409 renditions_in_use), and takes it once that one ended', () => {
    const catalog = new RenditionCatalog();
    const held = ladder('tx-1');
    catalog.replace(held);
    const other = ladder('tx-2', 10);
    expect(() => catalog.replace(other)).toThrow(expect.objectContaining({ code: 'renditions_in_use', status: 409 }));
    expect(catalog.sets).toEqual([held]);
    expect(catalog.remove(held)).toBe(true);
    expect(catalog.feeds).toEqual([]);
    expect(catalog.get('720p')).toBeUndefined();
    expect(catalog.replace(other)).toBeUndefined();
    expect(catalog.get('360p')).toBe(other.feeds[1]);
  });

  it('holds one set per codec: a VP8 set beside the H.264 ladder, each replaced only by its own codec', () => {
    const catalog = new RenditionCatalog();
    const h264 = ladder('tx-1');
    const vp8 = new FakeRenditionSet('tx-1', [new FakeFeed('720p-vp8', 1280, 720, 2000, 7, 'VP8')]);
    catalog.replace(h264);
    expect(catalog.replace(vp8)).toBeUndefined();
    expect(catalog.sets).toEqual([h264, vp8]);
    expect(catalog.feeds.map((f) => f.name)).toEqual(['720p', '360p', '720p-vp8']);
    const vp8Again = new FakeRenditionSet('tx-1', [new FakeFeed('720p-vp8', 1280, 720, 2000, 8, 'VP8')]);
    expect(catalog.replace(vp8Again)).toBe(vp8);
    expect(catalog.sets).toEqual([h264, vp8Again]);
    // Another instance is refused whichever codec it brings.
    expect(() => catalog.replace(new FakeRenditionSet('tx-2', [new FakeFeed('x', 2, 2, 100, 9, 'VP8')]))).toThrow(expect.objectContaining({ code: 'renditions_in_use' }));
  });

  it('lists the simulcast layers first; a rung whose name a layer has is not offered', () => {
    const catalog = new RenditionCatalog();
    const layer = (rid: string) => new SimulcastLayer(rid, 0, 'H264', new KeyframeRequester({ intervalMs: 500, send: () => undefined }));
    const h = layer('h');
    const clash = layer('360p');
    catalog.replace(ladder('tx-1'));
    catalog.setSimulcast([h, clash]);
    expect(catalog.feeds.map((f) => `${f.name}:${f.kind}`)).toEqual(['h:simulcast', '360p:simulcast', '720p:transcoded']);
    expect(catalog.get('360p')).toBe(clash);
    expect(catalog.has(h)).toBe(true);
    // A layer that becomes the source is no rendition any more.
    catalog.setSimulcast([clash]);
    expect(catalog.has(h)).toBe(false);
    expect(catalog.get('h')).toBeUndefined();
  });

  it('names a layer whose rid means something else to viewers rid-<rid>', () => {
    const requester = new KeyframeRequester({ intervalMs: 500, send: () => undefined });
    expect(['source', 'auto', 'none', 'Source', 'f'].map((rid) => new SimulcastLayer(rid, 0, 'H264', requester).name)).toEqual(['rid-source', 'rid-auto', 'rid-none', 'rid-Source', 'f']);
  });
});
