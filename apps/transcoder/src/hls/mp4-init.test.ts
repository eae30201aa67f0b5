import { describe, expect, it } from 'vitest';
import { readBoxes } from './mp4-boxes';
import { isSyncSample, parseMoof } from './mp4-fragment';
import { avcCodecString, mp4aCodecString, parseMoov } from './mp4-init';
import { fixture, splitFile } from './test-kit';

function moovOf(file: Buffer): Buffer {
  const ref = readBoxes(file).find((b) => b.type === 'moov')!;
  return file.subarray(ref.start, ref.end);
}

/** esds payload: version/flags, ES_Descriptor(3) { ES_ID, flags, DecoderConfig(4) { OTI, …, DecSpecificInfo(5) } }. */
function esds(objectType: number, asc: number[], options: { longLengths?: boolean; esFlags?: number } = {}): Buffer {
  const len = (n: number) => (options.longLengths ? [0x80, 0x80, 0x80, n] : [n]);
  const dsi = [0x05, ...len(asc.length), ...asc];
  const dcd = [0x04, ...len(13 + dsi.length), objectType, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...dsi];
  const extra = (options.esFlags ?? 0) & 0x80 ? [0, 1] : [];
  const es = [0x03, ...len(3 + extra.length + dcd.length), 0, 1, options.esFlags ?? 0, ...extra, ...dcd];
  return Buffer.from([0, 0, 0, 0, ...es]);
}

describe('codec strings (RFC 6381 §3.3)', () => {
  it.each([
    ['avc1', [0x01, 0x42, 0xc0, 0x1e], 'avc1.42c01e'],
    ['avc1', [0x01, 0x64, 0x00, 0x1f], 'avc1.64001f'],
    ['avc1', [0x01, 0x4d, 0x40, 0x28], 'avc1.4d4028'],
    ['avc3', [0x01, 0x64, 0x00, 0x0a], 'avc3.64000a'],
  ])('%s with avcC %j → %s', (entry, bytes, expected) => {
    expect(avcCodecString(entry, Buffer.from(bytes))).toBe(expected);
  });

  it.each([
    ['AAC-LC', esds(0x40, [0x11, 0x90]), 'mp4a.40.2'],
    ['HE-AAC (SBR)', esds(0x40, [0x2b, 0x92, 0x08, 0x00]), 'mp4a.40.5'],
    ['HE-AACv2 (PS)', esds(0x40, [0xeb, 0x09, 0x88, 0x00]), 'mp4a.40.29'],
    ['escape (AOT 31 → 32 + 6 bits)', esds(0x40, [0xf8, 0x20]), 'mp4a.40.33'],
    ['4-byte descriptor lengths', esds(0x40, [0x11, 0x90], { longLengths: true }), 'mp4a.40.2'],
    ['ES_Descriptor with dependsOn', esds(0x40, [0x11, 0x90], { esFlags: 0x80 }), 'mp4a.40.2'],
    ['MP3 (OTI 0x6b)', esds(0x6b, []), 'mp4a.6b'],
  ])('%s → %s', (_name, payload, expected) => {
    expect(mp4aCodecString(payload)).toBe(expected);
  });

  it('rejects a truncated esds with a clear error', () => {
    expect(() => mp4aCodecString(esds(0x40, [0x11, 0x90]).subarray(0, 12))).toThrow(/esds/);
    expect(() => avcCodecString('avc1', Buffer.from([1, 0x42]))).toThrow(/too short/);
  });
});

describe('parseMoov on ffmpeg output', () => {
  it('reads both tracks of the audio+video fixture', () => {
    const init = parseMoov(moovOf(fixture('av-per-frame.mp4')));
    expect(init.tracks).toEqual([
      expect.objectContaining({ id: 1, kind: 'video', timescale: 15360, sampleEntry: 'avc1', codec: 'avc1.42c00c', width: 160, height: 90 }),
      expect.objectContaining({ id: 2, kind: 'audio', timescale: 48000, sampleEntry: 'mp4a', codec: 'mp4a.40.2' }),
    ]);
  });

  it('reads the video-only fixture', () => {
    const init = parseMoov(moovOf(fixture('video-only.mp4')));
    expect(init.tracks.map((t) => [t.kind, t.timescale, t.codec])).toEqual([['video', 12800, 'avc1.42c00c']]);
  });
});

describe('parseMoof on ffmpeg output', () => {
  it('one fragment per frame: keyframes exactly every 30 video frames, 1/30 s each', () => {
    const file = fixture('av-per-frame.mp4');
    const init = parseMoov(moovOf(file));
    const video = splitFile(file)
      .fragments.map((f) => parseMoof(f, init).tracks)
      .flat()
      .filter((t) => t.trackId === 1);
    expect(video).toHaveLength(60);
    expect(video.map((t, i) => (t.startsWithSync ? i : -1)).filter((i) => i >= 0)).toEqual([0, 30]);
    expect(video.slice(1).every((t) => t.duration === 512 && t.sampleCount === 1)).toBe(true);
    // tfdt continues where the previous fragment ended.
    for (let i = 1; i < video.length; i++) expect(video[i]!.baseMediaDecodeTime).toBe(video[i - 1]!.baseMediaDecodeTime! + video[i - 1]!.duration);
  });

  it('200 ms fragments carry both tracks', () => {
    const file = fixture('av-200ms.mp4');
    const init = parseMoov(moovOf(file));
    const first = parseMoof(splitFile(file).fragments[0]!, init);
    expect(first.tracks.map((t) => [t.trackId, t.sampleCount, t.startsWithSync])).toEqual([
      [1, 6, true],
      [2, 10, true],
    ]);
  });

  it.each([
    [0x02000000, true], // depends on no other sample
    [0x01010000, false], // depends on others, non-sync
    [0x00010000, false], // unknown dependency, non-sync
    [0x00000000, true], // unknown dependency, sync
    [0x01000000, false], // depends on others
  ])('sample flags %s → sync %s', (flags, sync) => {
    expect(isSyncSample(flags)).toBe(sync);
  });
});
