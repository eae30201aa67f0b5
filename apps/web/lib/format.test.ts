import { describe, expect, it } from 'vitest';
import { formatBitrate, formatDuration, formatFps, formatPercent, formatSince, formatViewers, resolutionLabel } from './format';

describe('format', () => {
  it.each([
    [0, '0:00'],
    [5_400, '0:05'],
    [65_000, '1:05'],
    [3_723_000, '1:02:03'],
    [-10, '0:00'],
  ])('formatDuration(%i) = %s', (ms, out) => expect(formatDuration(ms)).toBe(out));

  it('formats since from an ISO time, or a dash', () => {
    expect(formatSince('2026-01-01T00:00:00.000Z', Date.parse('2026-01-01T00:01:30.000Z'))).toBe('1:30');
    expect(formatSince(null, 0)).toBe('—');
    expect(formatSince('nonsense', 0)).toBe('—');
  });

  it.each([
    [null, '—'],
    [850.4, '850 kbps'],
    [1234, '1.2 Mbps'],
    [25_000, '25 Mbps'],
  ])('formatBitrate(%j) = %s', (kbps, out) => expect(formatBitrate(kbps)).toBe(out));

  it('labels resolutions', () => {
    expect(resolutionLabel(1280, 720)).toBe('720p');
    expect(resolutionLabel(720, 1280)).toBe('720p');
    expect(resolutionLabel(1000, 700)).toBe('1000×700');
    // The lower rung the ladder adds under a 360p source.
    expect(resolutionLabel(320, 180)).toBe('180p');
    expect(resolutionLabel(null, 720)).toBeNull();
  });

  it('formats the rest', () => {
    expect(formatFps(29.97)).toBe('30 fps');
    expect(formatFps(null)).toBe('—');
    expect(formatPercent(0.123)).toBe('0.12 %');
    expect(formatPercent(3)).toBe('3.0 %');
    expect(formatViewers(1)).toBe('1 viewer');
    expect(formatViewers(0)).toBe('0 viewers');
  });
});
