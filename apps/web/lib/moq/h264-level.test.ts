import { describe, expect, it } from 'vitest';
import { constrainedBaselineCodec } from './h264-level';

describe('constrainedBaselineCodec', () => {
  it.each([
    [640, 360, 30, 'avc1.42e01e'], // 920 MBs/frame, 27 600/s: level 3.0
    [1280, 720, 30, 'avc1.42e01f'], // 3600, 108 000: level 3.1, exactly at the limit
    [1280, 720, 60, 'avc1.42e020'], // 216 000: level 3.2
    [1920, 1080, 30, 'avc1.42e028'], // 8160 MBs (1088 lines), 244 800/s: level 4.0
    [1920, 1080, 60, 'avc1.42e02a'], // 489 600/s: level 4.2
    [3840, 2160, 30, 'avc1.42e033'], // 32 400 MBs: level 5.1
  ])('%i×%i at %i fps → %s', (width, height, fps, codec) => {
    expect(constrainedBaselineCodec(width, height, fps)).toBe(codec);
  });
});
