import { describe, expect, it } from 'vitest';
import { HlsPackager } from './hls-packager';
import { renderMediaPlaylist, type MediaPlaylistModel } from './media-playlist';
import { renderMultivariantPlaylist } from './multivariant-playlist';
import { fixture, silentLog, splitFile } from './test-kit';

const base: MediaPlaylistModel = {
  lowLatency: true,
  targetDuration: 1,
  partTarget: 0.2,
  mediaSequence: 4,
  discontinuitySequence: 0,
  segments: [],
  renditionReports: [],
  ended: false,
};
const PDT = Date.UTC(2026, 10, 22, 3, 0, 0);
const part = (uri: string, independent = false) => ({ duration: 0.2, uri, independent });

describe('renderMediaPlaylist', () => {
  const cases: Array<{ name: string; model: Partial<MediaPlaylistModel>; expected: string }> = [
    {
      name: 'LL-HLS: header, complete segment with parts, segment in progress, preload hint, rendition report',
      model: {
        segments: [
          { msn: 4, duration: 1, uri: 'seg-e-4.m4s', discontinuity: false, map: 'init-e-0.mp4', programDateTime: PDT, parts: [part('part-e-20.m4s', true), part('part-e-21.m4s')] },
          { msn: 5, duration: 0.4, discontinuity: false, programDateTime: PDT + 1000, parts: [part('part-e-22.m4s', true), part('part-e-23.m4s')] },
        ],
        preloadHintUri: 'part-e-24.m4s',
        renditionReports: [{ uri: '../360p/index.m3u8', lastMsn: 5, lastPart: 1 }],
      },
      expected: `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,HOLD-BACK=3.000
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-e-0.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-11-22T03:00:00.000Z
#EXT-X-PART:DURATION=0.20000,URI="part-e-20.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.20000,URI="part-e-21.m4s"
#EXTINF:1.00000,
seg-e-4.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-11-22T03:00:01.000Z
#EXT-X-PART:DURATION=0.20000,URI="part-e-22.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.20000,URI="part-e-23.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-e-24.m4s"
#EXT-X-RENDITION-REPORT:URI="../360p/index.m3u8",LAST-MSN=5,LAST-PART=1
`,
    },
    {
      name: 'discontinuity with a new init, discontinuity sequence',
      model: {
        discontinuitySequence: 2,
        segments: [
          { msn: 4, duration: 0.5, uri: 'seg-e-4.m4s', discontinuity: false, map: 'init-e-1.mp4' },
          { msn: 5, duration: 1, uri: 'seg-e-5.m4s', discontinuity: true, map: 'init-e-2.mp4' },
        ],
        preloadHintUri: 'part-e-9.m4s',
      },
      expected: `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,HOLD-BACK=3.000
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-DISCONTINUITY-SEQUENCE:2
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-e-1.mp4"
#EXTINF:0.50000,
seg-e-4.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init-e-2.mp4"
#EXTINF:1.00000,
seg-e-5.m4s
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-e-9.m4s"
`,
    },
    {
      name: 'ended: ENDLIST and no preload hint',
      model: { ended: true, segments: [{ msn: 4, duration: 1, uri: 'seg-e-4.m4s', discontinuity: false, map: 'init-e-0.mp4' }], preloadHintUri: 'part-e-5.m4s' },
      expected: `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,HOLD-BACK=3.000
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-e-0.mp4"
#EXTINF:1.00000,
seg-e-4.m4s
#EXT-X-ENDLIST
`,
    },
    {
      name: 'plain HLS (disk copy): no LL tags, the segment in progress left out',
      model: {
        lowLatency: false,
        targetDuration: 2,
        segments: [
          { msn: 4, duration: 1.5, uri: 'seg-e-4.m4s', discontinuity: false, map: 'init-e-0.mp4', parts: [part('part-e-1.m4s', true)] },
          { msn: 5, duration: 0.2, discontinuity: false, parts: [part('part-e-2.m4s', true)] },
        ],
        preloadHintUri: 'part-e-3.m4s',
        renditionReports: [{ uri: '../360p/index.m3u8', lastMsn: 5, lastPart: 1 }],
      },
      expected: `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-e-0.mp4"
#EXTINF:1.50000,
seg-e-4.m4s
`,
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      expect(renderMediaPlaylist({ ...base, ...testCase.model })).toBe(testCase.expected);
    });
  }

  it('PART-HOLD-BACK is three part targets for other targets too', () => {
    expect(renderMediaPlaylist({ ...base, partTarget: 1 / 3 })).toContain('PART-HOLD-BACK=1.000,HOLD-BACK=3.000');
    expect(renderMediaPlaylist({ ...base, partTarget: 1 / 3 })).toContain('PART-TARGET=0.333');
  });
});

describe('renderMultivariantPlaylist', () => {
  it.each([
    [
      'video + audio with everything known',
      { uri: '720p/index.m3u8', bandwidth: 2_800_000, averageBandwidth: 2_400_123.4, codecs: ['avc1.64001f', 'mp4a.40.2'], width: 1280, height: 720, frameRate: 30 },
      '#EXT-X-STREAM-INF:BANDWIDTH=2800000,AVERAGE-BANDWIDTH=2400123,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000\n720p/index.m3u8',
    ],
    [
      'video only, NTSC rate',
      { uri: 'v/index.m3u8', bandwidth: 500_000, codecs: ['avc1.42c01e'], width: 640, height: 360, frameRate: 29.97 },
      '#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.42c01e",RESOLUTION=640x360,FRAME-RATE=29.970\nv/index.m3u8',
    ],
    ['audio only', { uri: 'a/index.m3u8', bandwidth: 64_000, codecs: ['mp4a.40.2'] }, '#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"\na/index.m3u8'],
  ])('%s', (_name, variant, expected) => {
    expect(renderMultivariantPlaylist([variant])).toBe(`#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n${expected}\n`);
  });

  it('lists the audio rendition before the variants that name it (§4.4.6.1)', () => {
    const text = renderMultivariantPlaylist(
      [{ uri: '360p/index.m3u8', bandwidth: 728_000, codecs: ['avc1.42c01e', 'mp4a.40.2'], width: 640, height: 360, audioGroup: 'audio' }],
      [{ groupId: 'audio', name: 'Audio', uri: 'audio/index.m3u8', channels: 2 }],
    );
    expect(text).toBe(
      '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n' +
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"\n' +
        '#EXT-X-STREAM-INF:BANDWIDTH=728000,CODECS="avc1.42c01e,mp4a.40.2",RESOLUTION=640x360,AUDIO="audio"\n360p/index.m3u8\n',
    );
  });
});

describe('playlists of a packager fed with ffmpeg fixtures', () => {
  function packagerWith(ids: string[]) {
    const packager = new HlsPackager({ stream: 's', dir: '/nonexistent', writeToDisk: false, log: silentLog });
    const writers = ids.map((id, i) => packager.addRendition({ id, bandwidth: 300_000 - i * 100_000, frameRate: i === 0 ? 30 : undefined }));
    return { packager, writers };
  }

  it('multivariant: CODECS from avcC and esds, RESOLUTION from the init, measured peak ≥ declared', () => {
    const { packager, writers } = packagerWith(['av', 'video']);
    writers[0]!.push(fixture('av-per-frame.mp4'));
    writers[1]!.push(fixture('video-only.mp4'));
    const text = packager.renderMultivariant();
    expect(text).toMatch(/^#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="avc1\.42c00c,mp4a\.40\.2",RESOLUTION=160x90,FRAME-RATE=30\.000\nav\/index\.m3u8$/m);
    // Frame rate measured from sample durations when not declared.
    expect(text).toMatch(/^#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="avc1\.42c00c",RESOLUTION=160x90,FRAME-RATE=25\.000\nvideo\/index\.m3u8$/m);
    const variants = packager.variants();
    expect(variants[0]!.bandwidth).toBeGreaterThanOrEqual(300_000);
    expect(variants[0]!.bandwidth).toBeGreaterThanOrEqual(variants[0]!.averageBandwidth!);
  });

  it('multivariant with the audio rendition: one EXT-X-MEDIA every variant names, its codec and bit rate counted in each', () => {
    const packager = new HlsPackager({ stream: 's', dir: '/nonexistent', writeToDisk: false, log: silentLog });
    const video = packager.addRendition({ id: '180p', bandwidth: 300_000, frameRate: 25 });
    const audio = packager.addRendition({ id: 'audio', bandwidth: 128_000, role: 'audio', channels: 2 });
    expect(() => packager.addRendition({ id: 'audio2', bandwidth: 1, role: 'audio' })).toThrow(/audio rendition already/);
    video.push(fixture('video-only.mp4'));
    // Until the audio's init segment is known, variants do not name it (CODECS would be wrong).
    expect(packager.renderMultivariant()).not.toContain('AUDIO=');
    audio.push(fixture('audio-only.mp4'));
    const text = packager.renderMultivariant();
    expect(text).toContain('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"\n');
    expect(text).toMatch(/^#EXT-X-STREAM-INF:BANDWIDTH=(\d+),AVERAGE-BANDWIDTH=\d+,CODECS="avc1\.42c00c,mp4a\.40\.2",RESOLUTION=160x90,FRAME-RATE=25\.000,AUDIO="audio"\n180p\/index\.m3u8$/m);
    // The audio rendition is no variant of its own.
    expect(text.match(/#EXT-X-STREAM-INF/g)).toHaveLength(1);
    const [variant] = packager.variants();
    expect(variant!.bandwidth).toBeGreaterThanOrEqual(300_000 + 128_000);
    // Its 2 s are cut into 192 ms parts (one fragment each) and a first 1 s segment.
    expect(packager.rendition('audio')!.getStats()).toMatchObject({ segments: 1, parseErrors: 0 });
    expect(packager.rendition('audio')!.renderPlaylist(true, [])).toMatch(/#EXT-X-PART:DURATION=0\.192/);
    // A publisher without sound: the rendition goes, and the variants stop naming it.
    packager.removeRendition('audio');
    expect(packager.renderMultivariant()).not.toContain('EXT-X-MEDIA');
    expect(packager.renderMultivariant()).not.toContain('mp4a');
  });

  it('rendition reports name the other renditions with their last part', () => {
    const { packager, writers } = packagerWith(['a', 'b']);
    const { init, fragments } = splitFile(fixture('av-per-frame.mp4'));
    writers[0]!.push(init);
    writers[1]!.push(init);
    for (const f of fragments.slice(0, 20)) writers[0]!.push(f);
    for (const f of fragments.slice(0, 100)) writers[1]!.push(f);
    const a = packager.rendition('a')!.renderPlaylist(true, packager.renditionReports('a'));
    const last = packager.rendition('b')!.lastPosition!;
    expect(last.msn).toBe(1);
    expect(a).toContain(`#EXT-X-RENDITION-REPORT:URI="../b/index.m3u8",LAST-MSN=1,LAST-PART=${last.part}\n`);
    expect(a).not.toContain('../a/index.m3u8');
  });

  it('the playlist body a blocked reload gets is rendered once per change, and is always what renderPlaylist says now', () => {
    const { packager, writers } = packagerWith(['a', 'b']);
    const { init, fragments } = splitFile(fixture('av-per-frame.mp4'));
    writers[0]!.push(init);
    writers[1]!.push(init);
    const a = packager.rendition('a')!;
    const body = () => a.playlistBody(packager.renditionReports('a'));
    let bodies = 0;
    let previous: Buffer | undefined;
    for (const f of fragments.slice(0, 120)) {
      writers[0]!.push(f);
      const now = body();
      expect(now.toString('utf8')).toBe(a.renderPlaylist(true, packager.renditionReports('a')));
      // Asked again with nothing changed: the very same bytes, not a new render.
      expect(body()).toBe(now);
      if (now !== previous) bodies += 1;
      previous = now;
    }
    expect(bodies).toBeGreaterThan(5);
    // Another rendition's progress changes this one's rendition report, and so its playlist.
    for (const f of fragments) {
      if (packager.rendition('b')!.lastPosition) break;
      writers[1]!.push(f);
    }
    const withReport = body();
    expect(withReport).not.toBe(previous);
    expect(withReport.toString('utf8')).toContain('../b/index.m3u8');
    packager.end();
    expect(body().toString('utf8')).toContain('#EXT-X-ENDLIST');
    expect(body().toString('utf8')).toBe(a.renderPlaylist(true, packager.renditionReports('a')));
  });

  it('discontinuity: the segment in progress closes, the next media starts with DISCONTINUITY and the new init', () => {
    const { packager, writers } = packagerWith(['v']);
    const first = splitFile(fixture('av-per-frame.mp4'));
    writers[0]!.push(first.init);
    for (const f of first.fragments.slice(0, 100)) writers[0]!.push(f); // ~1.3 s
    packager.discontinuity();
    writers[0]!.push(fixture('video-only.mp4')); // a different init: new EXT-X-MAP
    packager.end();
    const text = packager.rendition('v')!.renderPlaylist(true, []);
    const lines = text.split('\n');
    const epoch = packager.epoch;
    const tail = lines.filter((l) => /^#EXT-X-(DISCONTINUITY|MAP|ENDLIST)|^#EXTINF|^seg-/.test(l));
    expect(tail).toEqual([
      `#EXT-X-MAP:URI="init-${epoch}-0.mp4"`,
      expect.stringMatching(/^#EXTINF:1\.0\d+,$/),
      `seg-${epoch}-0.m4s`,
      expect.stringMatching(/^#EXTINF:0\.[0-9]+,$/), // the cut-short segment before the restart
      `seg-${epoch}-1.m4s`,
      '#EXT-X-DISCONTINUITY',
      `#EXT-X-MAP:URI="init-${epoch}-1.mp4"`,
      '#EXTINF:1.00000,',
      `seg-${epoch}-2.m4s`,
      '#EXTINF:1.00000,',
      `seg-${epoch}-3.m4s`,
      '#EXT-X-ENDLIST',
    ]);
    expect(text).not.toContain('PRELOAD-HINT');
  });

  it('an init arriving mid-stream without discontinuity() is treated as one', () => {
    const { packager, writers } = packagerWith(['v']);
    writers[0]!.push(fixture('video-only.mp4'));
    writers[0]!.push(fixture('video-only.mp4'));
    packager.end();
    const text = packager.rendition('v')!.renderPlaylist(true, []);
    expect(text.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
    // Same init bytes: no second EXT-X-MAP version.
    expect(text).not.toContain('-1.mp4');
    expect(text.match(/#EXTINF/g)).toHaveLength(4);
  });

  it('the window slides: media sequence and discontinuity sequence advance as segments leave', () => {
    const packager = new HlsPackager({ stream: 's', dir: '/nonexistent', writeToDisk: false, windowSegments: 3, extraSegments: 1, log: silentLog });
    const writer = packager.addRendition({ id: 'v', bandwidth: 1 });
    writer.push(fixture('video-only.mp4'));
    packager.discontinuity();
    writer.push(fixture('video-only.mp4'));
    packager.discontinuity();
    writer.push(fixture('video-only.mp4'));
    packager.end();
    const rendition = packager.rendition('v')!;
    const text = rendition.renderPlaylist(true, []);
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:3\n');
    expect(text).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1\n');
    expect(text.match(/#EXTINF/g)).toHaveLength(3);
    // One extra segment kept past the window; older ones forgotten.
    expect(rendition.findSegment(2)).toBeDefined();
    expect(rendition.findSegment(1)).toBeUndefined();
  });

  it("carries on another packager's playlist: media sequence from its position, a discontinuity first, and the position handed on", () => {
    // The first transcoder's packager, as a node that then dies.
    const first = new HlsPackager({ stream: 's', dir: '/nonexistent', writeToDisk: false, log: silentLog });
    first.addRendition({ id: 'v', bandwidth: 1 }).push(fixture('video-only.mp4'));
    first.discontinuity();
    first.addRendition({ id: 'w', bandwidth: 1 }).push(fixture('video-only.mp4'));
    first.rendition('v')!.push(fixture('video-only.mp4'));
    const left = first.position()!;
    expect(left.discontinuitySeq).toBe(1);
    const before = first.rendition('v')!.renderPlaylist(true, []);
    const lastMsn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(before)![1]) + (before.match(/#EXTINF/g)?.length ?? 0);
    expect(left.nextMsn).toBeGreaterThanOrEqual(lastMsn);

    // Another node takes the job over and carries on from where the first one left.
    const next = new HlsPackager({ stream: 's', dir: '/nonexistent', writeToDisk: false, continueFrom: left, log: silentLog });
    const writer = next.addRendition({ id: 'v', bandwidth: 1 });
    expect(next.rendition('v')!.renderPlaylist(true, [])).toContain(`#EXT-X-MEDIA-SEQUENCE:${left.nextMsn}\n`);
    writer.push(fixture('video-only.mp4'));
    next.end();
    const text = next.rendition('v')!.renderPlaylist(true, []);
    expect(text).toContain(`#EXT-X-MEDIA-SEQUENCE:${left.nextMsn}\n`);
    // RFC 8216bis §4.4.3.3: the sequence counts the discontinuities before the first segment listed, which carries its own tag.
    expect(text).toContain(`#EXT-X-DISCONTINUITY-SEQUENCE:${left.discontinuitySeq}\n`);
    expect(text.split('\n').slice(0, 10).join('\n')).toMatch(/#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP/);
    expect(text.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
    // And it hands on its own position to whoever comes next.
    expect(next.position()).toEqual({ nextMsn: left.nextMsn + (text.match(/#EXTINF/g)?.length ?? 0), discontinuitySeq: left.discontinuitySeq + 1 });
    // A packager without media has no position to hand on.
    expect(new HlsPackager({ stream: 's', dir: '/nonexistent', writeToDisk: false, log: silentLog }).position()).toBeUndefined();
  });

  it('parts are listed only for the segments of the last three target durations', () => {
    const { packager, writers } = packagerWith(['v']);
    for (let i = 0; i < 3; i++) {
      writers[0]!.push(fixture('video-only.mp4'));
      packager.discontinuity();
    }
    const model = packager.rendition('v')!.playlistModel({ lowLatency: true, renditionReports: [] });
    expect(model.segments.map((s) => s.parts !== undefined)).toEqual([false, false, false, true, true, true]);
  });
});
