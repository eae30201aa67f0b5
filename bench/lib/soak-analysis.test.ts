import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, judgeService, median, slope, type SoakSample } from './soak-analysis';

const MiB = 1024 * 1024;
const limits = { ...DEFAULT_LIMITS, warmupS: 10 };

/** 40 samples, one every 5 s from t=0, from a generator of (t, i). */
function run(make: (t: number, i: number) => Partial<SoakSample>): SoakSample[] {
  return Array.from({ length: 40 }, (_, i) => ({ t: i * 5, ...make(i * 5, i) }));
}

/** A steady process: ±4 MiB of RSS, a sawtooth heap, fds and delay that wobble. */
const steady = run((_t, i) => ({ rssBytes: (200 + ((i * 7) % 9) - 4) * MiB, heapUsedBytes: (40 + (i % 5) * 6) * MiB, openFds: 60 + (i % 3), eldP99Ms: 11 + (i % 4), eldMaxMs: 20 + (i % 7) }));

describe('judgeService', () => {
  it('passes a steady process', () => {
    const verdict = judgeService('ingest', steady, limits);
    expect(verdict.failures).toEqual([]);
    expect(verdict.samples).toBe(38);
    expect(Math.abs(verdict.rssMiB!.growth)).toBeLessThan(5);
    expect(verdict.eldMaxMs).toBe(26);
  });

  it('ignores the warm-up climb of a young process', () => {
    const young = steady.map((s) => (s.t < 10 ? { ...s, rssBytes: 80 * MiB, openFds: 20 } : s));
    expect(judgeService('ingest', young, limits).failures).toEqual([]);
  });

  it.each([
    ['RSS that climbs 2 MiB per sample', (s: SoakSample, i: number) => ({ ...s, rssBytes: s.rssBytes! + i * 2 * MiB }), /RSS grew/],
    ['a heap whose troughs rise', (s: SoakSample, i: number) => ({ ...s, heapUsedBytes: s.heapUsedBytes! + i * 1.5 * MiB }), /heap after collections grew/],
    ['a descriptor leaked every other sample', (s: SoakSample, i: number) => ({ ...s, openFds: s.openFds! + Math.floor(i / 2) }), /file descriptors grew/],
    ['an event loop that slows down', (s: SoakSample, i: number) => ({ ...s, eldP99Ms: s.eldP99Ms! + i * 5 }), /event-loop delay p99 grew/],
  ])('fails %s', (_name, change, message) => {
    const verdict = judgeService('ingest', steady.map((s, i) => change(s, i)), limits);
    expect(verdict.failures).toHaveLength(1);
    expect(verdict.failures[0]).toMatch(message);
  });

  it('does not call one heap peak growth (troughs, not peaks)', () => {
    const spiky = steady.map((s, i) => (i === 38 ? { ...s, heapUsedBytes: 300 * MiB } : s));
    expect(judgeService('ingest', spiky, limits).failures).toEqual([]);
  });

  it('allows growth in proportion to a big process', () => {
    const big = steady.map((s, i) => ({ ...s, rssBytes: 1000 * MiB + (i > 26 ? 100 * MiB : 0) }));
    expect(judgeService('web', big, limits).failures).toEqual([]);
    const bigger = steady.map((s, i) => ({ ...s, rssBytes: 1000 * MiB + (i > 26 ? 200 * MiB : 0) }));
    expect(judgeService('web', bigger, limits).failures[0]).toMatch(/RSS grew 200 MiB/);
  });

  it('fails a run too short to judge, and skips metrics a service does not report', () => {
    expect(judgeService('ingest', steady.slice(0, 6), limits).failures[0]).toMatch(/too few/);
    const rssOnly = steady.map((s) => ({ t: s.t, rssBytes: s.rssBytes }));
    const verdict = judgeService('web', rssOnly, limits);
    expect(verdict.failures).toEqual([]);
    expect(verdict.heapMiB).toBeUndefined();
    expect(verdict.eldP99Ms).toBeUndefined();
  });
});

describe('median and slope', () => {
  it('computes them', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(slope([0, 1, 2, 3], [1, 3, 5, 7])).toBeCloseTo(2);
    expect(slope([1, 1], [1, 2])).toBe(0);
  });
});
