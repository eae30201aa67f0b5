import { describe, expect, it } from 'vitest';
import { HlsPackager } from './hls-packager';
import { PartCutter, type CutEvent, type CutterFragment } from './part-cutter';
import type { Rendition } from './rendition';
import { fixture, silentLog } from './test-kit';

/** `V`/`v`: video fragment (key/non-key) of `dur` seconds; `a`: audio-only fragment. */
function frag(kind: 'V' | 'v' | 'a', dur: number): CutterFragment {
  const video = kind !== 'a';
  return { data: [Buffer.from(kind)], timeline: video, duration: video ? dur : 0, startTime: undefined, sync: kind === 'V' };
}

/** Compact trace: `P(<bytes>,<ms>,I)` for parts, `|` for segment ends. */
function trace(events: CutEvent[]): string[] {
  return events.map((e) => (e.type === 'segment-end' ? '|' : `P(${e.data.toString()},${Math.round(e.duration * 1000)}${e.independent ? ',I' : ''})`));
}

function run(fragments: CutterFragment[], partTargetSec = 0.2, segmentTargetSec = 1): string[] {
  const cutter = new PartCutter({ partTargetSec, segmentTargetSec });
  return [...fragments.flatMap((f) => trace(cutter.push(f))), ...trace(cutter.flush())];
}

const f30 = 1 / 30;
const gop = (n: number, dur = f30) => [frag('V', dur), ...Array.from({ length: n - 1 }, () => frag('v', dur))];

describe('PartCutter', () => {
  const cases: Array<{ name: string; fragments: CutterFragment[]; partTarget?: number; segmentTarget?: number; expected: string[] }> = [
    {
      name: '30 fps, one fragment per frame: 5 parts of 6 frames per 1 s segment',
      fragments: [...gop(30), ...gop(12)],
      expected: ['P(Vvvvvv,200,I)', 'P(vvvvvv,200)', 'P(vvvvvv,200)', 'P(vvvvvv,200)', 'P(vvvvvv,200)', '|', 'P(Vvvvvv,200,I)', 'P(vvvvvv,200)', '|'],
    },
    {
      name: '200 ms fragments: one fragment per part',
      fragments: [frag('V', 0.2), frag('v', 0.2), frag('v', 0.2), frag('v', 0.2), frag('v', 0.2), frag('V', 0.2)],
      expected: ['P(V,200,I)', 'P(v,200)', 'P(v,200)', 'P(v,200)', 'P(v,200)', '|', 'P(V,200,I)', '|'],
    },
    {
      name: '100 ms fragments: two per part',
      fragments: [frag('V', 0.1), frag('v', 0.1), frag('v', 0.1), frag('v', 0.1), frag('v', 0.1)],
      expected: ['P(Vv,200,I)', 'P(vv,200)', 'P(v,100)', '|'],
    },
    {
      name: 'audio fragments ride along in the open part; the keyframe still opens the segment',
      fragments: [frag('a', 0), frag('V', 0.1), frag('a', 0), frag('v', 0.1), frag('a', 0), frag('v', 0.1), frag('a', 0), frag('V', 0.1)],
      segmentTarget: 0.3,
      expected: ['P(aVav,200,I)', 'P(ava,100)', '|', 'P(V,100,I)', '|'],
    },
    {
      name: 'a keyframe before the segment target does not cut (GOP shorter than target)',
      fragments: [frag('V', 0.2), frag('v', 0.2), frag('V', 0.2), frag('v', 0.2), frag('V', 0.2)],
      segmentTarget: 0.8,
      expected: ['P(V,200,I)', 'P(v,200)', 'P(V,200,I)', 'P(v,200)', '|', 'P(V,200,I)', '|'],
    },
    {
      name: 'no keyframe: the segment grows past its target (the GOP is longer than configured)',
      fragments: [frag('V', 0.2), ...Array.from({ length: 7 }, () => frag('v', 0.2)), frag('V', 0.2)],
      expected: ['P(V,200,I)', 'P(v,200)', 'P(v,200)', 'P(v,200)', 'P(v,200)', 'P(v,200)', 'P(v,200)', 'P(v,200)', '|', 'P(V,200,I)', '|'],
    },
    {
      name: 'a fragment longer than the part target is a part of its own',
      fragments: [frag('V', 0.05), frag('v', 0.5), frag('v', 0.05)],
      expected: ['P(V,50,I)', 'P(v,500)', 'P(v,50)', '|'],
    },
    {
      name: 'audio-only rendition: every fragment is sync, segments cut on time',
      fragments: Array.from({ length: 12 }, () => frag('V', 0.1)),
      partTarget: 0.2,
      segmentTarget: 0.5,
      expected: ['P(VV,200,I)', 'P(VV,200,I)', 'P(V,100,I)', '|', 'P(VV,200,I)', 'P(VV,200,I)', 'P(V,100,I)', '|', 'P(VV,200,I)', '|'],
    },
    {
      name: 'no keyframe for ten segment targets: the segment is cut anyway (bounded memory)',
      fragments: [frag('V', 0.2), ...Array.from({ length: 11 }, () => frag('v', 0.2))],
      segmentTarget: 0.2,
      expected: ['P(V,200,I)', ...Array.from({ length: 9 }, () => 'P(v,200)'), '|', 'P(v,200)', 'P(v,200)', '|'],
    },
    { name: 'nothing pushed: flush emits nothing', fragments: [], expected: [] },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      expect(run(testCase.fragments, testCase.partTarget, testCase.segmentTarget)).toEqual(testCase.expected);
    });
  }
});

describe('PartCutter on an audio rendition', () => {
  /** Segment durations (ms) of `count` fragments of `dur` seconds, every one sync. */
  function segmentDurations(audio: boolean, dur: number, count: number): number[] {
    const cutter = new PartCutter({ partTargetSec: 0.2, segmentTargetSec: 1, audio });
    const out: number[] = [];
    let current = 0;
    const take = (events: CutEvent[]) => {
      for (const event of events) {
        if (event.type === 'part') current += event.duration;
        else {
          out.push(Math.round(current * 1000));
          current = 0;
        }
      }
    };
    for (let i = 0; i < count; i++) take(cutter.push(frag('V', dur)));
    take(cutter.flush());
    return out;
  }

  it('keeps segments on the 1 s clock, so its sequence numbers stay in step with the video\'s', () => {
    // 9 AAC frames at 48 kHz a fragment (what ffmpeg writes): 192 ms. 100 s of them.
    const frame = 9 * (1024 / 48_000);
    const count = Math.floor(100 / frame);
    const audio = segmentDurations(true, frame, count);
    // Every segment ends within half a fragment of a whole second; 100 s make 100 segments (the last one partial).
    expect(audio.length).toBe(100);
    let end = 0;
    audio.slice(0, -1).forEach((ms, index) => {
      end += ms;
      expect(Math.abs(end - 1000 * (index + 1))).toBeLessThanOrEqual(97);
    });
    // The video rule on the same fragments (first sync past 0.9 s) runs ahead: 0.96 s segments.
    const videoRule = segmentDurations(false, frame, count);
    expect(videoRule.length).toBeGreaterThan(103);
  });

  it('starts the clock again after a flush (a producer restart)', () => {
    const cutter = new PartCutter({ partTargetSec: 0.2, segmentTargetSec: 1, audio: true });
    for (let i = 0; i < 7; i++) cutter.push(frag('V', 0.192));
    cutter.flush();
    const ends: number[] = [];
    for (let i = 1; i <= 12; i++) if (cutter.push(frag('V', 0.192)).some((event) => event.type === 'segment-end')) ends.push(i);
    // The 6th fragment starts at 0.96 s (+0.096 ≥ 1 s): it opens the second segment.
    expect(ends).toEqual([6, 11]);
  });
});

function feedWhole(file: Buffer, chunk = 4096): { packager: HlsPackager; rendition: Rendition } {
  const packager = new HlsPackager({ stream: 'fx', dir: '/nonexistent', writeToDisk: false, log: silentLog });
  const writer = packager.addRendition({ id: '180p', bandwidth: 200_000 });
  for (let offset = 0; offset < file.length; offset += chunk) writer.push(file.subarray(offset, offset + chunk));
  packager.end();
  return { packager, rendition: packager.rendition('180p')! };
}

describe('cutting ffmpeg fixtures', () => {
  it.each([
    ['av-per-frame.mp4', 2, 0.2],
    ['av-200ms.mp4', 2, 0.221],
    ['video-only.mp4', 2, 0.2],
  ] as const)('%s → %i one-second segments, each starting with an independent part', (name, segments, longestPart) => {
    const { rendition } = feedWhole(fixture(name));
    const model = rendition.playlistModel({ lowLatency: true, renditionReports: [] });
    expect(model.segments).toHaveLength(segments);
    for (const segment of model.segments) {
      expect(segment.uri).toMatch(/^seg-[0-9a-z]+-\d+\.m4s$/);
      expect(segment.duration).toBeGreaterThan(0.95);
      expect(segment.duration).toBeLessThan(1.06);
      expect(segment.parts![0]!.independent).toBe(true);
      expect(segment.parts!.slice(1).every((p) => !p.independent)).toBe(true);
      expect(Math.max(...segment.parts!.map((p) => p.duration))).toBeLessThanOrEqual(longestPart + 0.001);
      // Parts add up to the segment.
      expect(segment.parts!.reduce((sum, p) => sum + p.duration, 0)).toBeCloseTo(segment.duration, 6);
    }
    expect(rendition.getStats()).toMatchObject({ segments, parseErrors: 0 });
  });

  it('segment bytes are exactly the fragments of the file, in order', () => {
    const file = fixture('av-per-frame.mp4');
    const { rendition } = feedWhole(file, 1000);
    const init = rendition.currentInit!.data;
    const segments = [0, 1].map((msn) => rendition.findSegment(msn)!.data!);
    const mfra = file.lastIndexOf('mfra', undefined, 'latin1') - 4;
    expect(Buffer.concat([init, ...segments]).equals(file.subarray(0, mfra))).toBe(true);
  });

  it('byte boundaries do not matter: 1-byte pushes give the same parts as one push', () => {
    const file = fixture('av-200ms.mp4');
    const a = feedWhole(file, 1).rendition.playlistModel({ lowLatency: true, renditionReports: [] });
    const b = feedWhole(file, file.length).rendition.playlistModel({ lowLatency: true, renditionReports: [] });
    const strip = (m: typeof a) => m.segments.map((s) => [s.duration, s.parts!.map((p) => [p.duration, p.independent])]);
    expect(strip(a)).toEqual(strip(b));
  });
});
