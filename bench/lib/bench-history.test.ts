import { describe, expect, it } from 'vitest';
import { appendHistory, historySlug, readHistory, type HistoryRecord } from './bench-history';

const figures = {
  whepGlassToGlassMs: 31, whepVideoOnlyGlassToGlassMs: 23, audioJitterBufferMs: null, llhlsSiteGlassToGlassMs: 1307, llhlsDefaultsGlassToGlassMs: 1064,
  whepFirstFrameP50Ms: 124, whepFirstFrameP95Ms: 154, watchPageFirstFrameP50Ms: null, ladderSpeedX: 3.05, usPerForwardedPacket: 4.1, floorSendtoUs: null, usPerForwardedPacketOfFloor: null, viewersPerCore: 857,
};
const record = (key: string): HistoryRecord => ({ key, date: '2026-11-22T06:29:56.322Z', commit: 'abc1234', machine: { cpus: 2, model: 'Intel(R) Xeon(R) Processor' }, loadBefore: [1.12, 1.29, 1.38], quick: false, figures });

describe('historySlug', () => {
  it('names a file after the CPU model, without trademarks or punctuation', () => {
    expect(historySlug('Intel(R) Xeon(R) Processor')).toBe('intel-xeon-processor');
    expect(historySlug('AMD EPYC')).toBe('amd-epyc');
    expect(historySlug('AMD EPYC 7B13 64-Core Processor')).toBe('amd-epyc-7b13-64-core-processor');
    expect(historySlug('../../etc')).toBe('etc');
    expect(historySlug('')).toBe('unknown-cpu');
  });
});

describe('appendHistory and readHistory', () => {
  it('appends a new run once, keeps earlier lines, and reads them back in order', () => {
    const first = appendHistory('', record('a'));
    expect(first.appended).toBe(true);
    const second = appendHistory(first.text, record('b'));
    const again = appendHistory(second.text, record('a'));
    expect(again.appended).toBe(false);
    expect(again.text).toBe(second.text);
    expect(readHistory(second.text).map((r) => r.key)).toEqual(['a', 'b']);
  });

  it('skips lines that are not records without losing them', () => {
    const text = `not json\n${JSON.stringify({ hello: 1 })}\n`;
    const next = appendHistory(text, record('c'));
    expect(next.text.startsWith('not json\n')).toBe(true);
    expect(readHistory(next.text).map((r) => r.key)).toEqual(['c']);
  });
});
