import { describe, expect, it } from 'vitest';
import { parseCatalogJson, selectTracks, validateCatalog } from './hang-catalog';

const utf8 = (value: unknown) => (value instanceof Uint8Array ? value : new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value)));

/** The final catalog `<moq-publish>` 0.2.17 sent in the spike (Chromium 156, fake camera and mic). */
const moqPublishCatalog = {
  video: {
    renditions: { 'video/hd': { codec: 'avc1.640028', container: { kind: 'legacy' }, codedWidth: 1280, codedHeight: 720, framerate: 20, bitrate: 1_600_000, optimizeForLatency: true } },
    display: { width: 1280, height: 720 },
    flip: false,
  },
  audio: { renditions: { 'audio/data': { codec: 'opus', container: { kind: 'legacy' }, sampleRate: 48000, numberOfChannels: 2, bitrate: 64000 } } },
  user: { name: 'someone' },
};

function parse(value: unknown) {
  const json = parseCatalogJson(utf8(value));
  if (!json.ok) return json;
  return validateCatalog(json.value);
}

describe('hang catalog', () => {
  it("reads <moq-publish>'s catalog and keeps the sections it does not know", () => {
    const result = parse(moqPublishCatalog);
    expect(result).toMatchObject({ ok: true, catalog: { video: { renditions: { 'video/hd': { codec: 'avc1.640028', codedWidth: 1280 } } }, user: { name: 'someone' } } });
  });

  it.each([
    ['the first snapshot, empty', {}],
    ['video only, container as a bare string', { video: { renditions: { v: { codec: 'avc3.42e01f', container: 'legacy' } } } }],
    ['no container (legacy by default)', { audio: { renditions: { a: { codec: 'opus', sampleRate: 48000, numberOfChannels: 1 } } } }],
    ['an avcC description', { video: { renditions: { v: { codec: 'avc1.42e01f', description: '0142e01fffe1' } } } }],
    ['the onair section', { ...moqPublishCatalog, onair: { control: 1, future: 'field' } }],
  ])('accepts %s', (_name, value) => {
    expect(parse(value)).toMatchObject({ ok: true });
  });

  it.each([
    ['not JSON', '{"video":', 'catalog_invalid', /not UTF-8 JSON/],
    ['not UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), 'catalog_invalid', /not UTF-8/],
    ['a codec that is a number', { video: { renditions: { v: { codec: 42 } } } }, 'catalog_invalid', /video\.renditions\.v\.codec/],
    ['audio without a sample rate', { audio: { renditions: { a: { codec: 'opus', numberOfChannels: 2 } } } }, 'catalog_invalid', /sampleRate/],
    ['a negative width', { video: { renditions: { v: { codec: 'avc1.42e01f', codedWidth: -1 } } } }, 'catalog_invalid', /codedWidth/],
    ['a 100 000-pixel width', { video: { renditions: { v: { codec: 'avc1.42e01f', codedWidth: 100_000 } } } }, 'catalog_invalid', /codedWidth/],
    ['a description that is not hex', { video: { renditions: { v: { codec: 'avc1.42e01f', description: 'xyz' } } } }, 'catalog_invalid', /description/],
    ['an empty track name', { video: { renditions: { '': { codec: 'avc1.42e01f' } } } }, 'catalog_invalid', /video\.renditions/],
    ['the old array form', { video: [{ track: { name: 'v' }, config: { codec: 'avc1.42e01f' } }] }, 'catalog_invalid', /video/],
    ['nine renditions', { video: { renditions: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`v${i}`, { codec: 'avc1.42e01f' }])) } }, 'catalog_invalid', /9 renditions, more than 8/],
    ['a malformed onair section', { onair: { control: 'yes' } }, 'catalog_invalid', /onair\.control/],
    ['70 KiB', { padding: 'x'.repeat(70 * 1024) }, 'catalog_too_large', /more than 65536/],
  ])('refuses %s', (_name, value, reason, detail) => {
    const result = parse(value);
    expect(result).toMatchObject({ ok: false, reason });
    expect(result.ok === false && result.detail).toMatch(detail);
  });

  it('never throws on 5000 corrupted catalogs', () => {
    const text = JSON.stringify(moqPublishCatalog);
    for (let i = 0; i < 5000; i += 1) {
      const bytes = utf8(text);
      for (let flips = 1 + (i % 5); flips > 0; flips -= 1) bytes[Math.floor(Math.random() * bytes.length)] = Math.floor(Math.random() * 128);
      const result = parse(i % 7 === 0 ? bytes.subarray(0, Math.floor(Math.random() * bytes.length)) : bytes);
      if (result.ok) selectTracks(result.catalog);
    }
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine
});

describe('selectTracks', () => {
  const pick = (value: unknown) => {
    const result = parse(value);
    if (!result.ok) throw new Error(result.detail);
    return selectTracks(result.catalog);
  };

  it("picks <moq-publish>'s two tracks", () => {
    const selection = pick(moqPublishCatalog);
    expect(selection.video?.name).toBe('video/hd');
    expect(selection.audio?.name).toBe('audio/data');
    expect(selection.skipped).toEqual([]);
  });

  it('picks the largest H.264 rendition and says why the others are skipped', () => {
    const selection = pick({
      video: {
        renditions: {
          low: { codec: 'avc1.42e01e', codedWidth: 640, codedHeight: 360 },
          vp9: { codec: 'vp09.00.10.08', codedWidth: 1920, codedHeight: 1080 },
          high: { codec: 'avc3.640028', codedWidth: 1280, codedHeight: 720 },
          cmaf: { codec: 'avc1.640028', container: { kind: 'cmaf', init: 'AAAA' }, codedWidth: 1920, codedHeight: 1080 },
        },
      },
      audio: {
        renditions: {
          aac: { codec: 'mp4a.40.2', sampleRate: 48000, numberOfChannels: 2 },
          surround: { codec: 'opus', sampleRate: 48000, numberOfChannels: 6 },
          mono: { codec: 'opus', sampleRate: 48000, numberOfChannels: 1 },
          second: { codec: 'opus', sampleRate: 48000, numberOfChannels: 2 },
        },
      },
    });
    expect(selection.video?.name).toBe('high');
    expect(selection.audio?.name).toBe('mono');
    expect(selection.skipped.map((s) => `${s.name}: ${s.reason}`).sort()).toEqual([
      'aac: codec mp4a.40.2 (onair forwards Opus)',
      'cmaf: container cmaf (onair reads the legacy container)',
      'low: a larger rendition is forwarded',
      'second: another Opus rendition is forwarded',
      'surround: 6 channels (RTP Opus carries one or two)',
      'vp9: codec vp09.00.10.08 (onair forwards H.264)',
    ]);
  });

  it('finds nothing in an empty catalog', () => {
    expect(pick({})).toEqual({ skipped: [] });
  });
});
