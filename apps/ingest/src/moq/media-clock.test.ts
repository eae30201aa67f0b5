import { describe, expect, it } from 'vitest';
import { MediaClock, rtpTimestamp } from './media-clock';

describe('MediaClock', () => {
  it('counts every track from the first frame of any track', () => {
    const clock = new MediaClock();
    expect(clock.ticks(5_000_000, 90_000)).toBe(0); // first video frame: the origin
    expect(clock.ticks(5_020_000, 48_000)).toBe(960); // audio 20 ms later
    expect(clock.ticks(5_033_333, 90_000)).toBe(3000); // next video frame at 30 fps
    expect(clock.ticks(4_980_000, 48_000)).toBe(-960); // audio captured before the origin
  });

  it('stays exact after days of media', () => {
    const clock = new MediaClock();
    clock.ticks(0, 90_000);
    const threeDaysUs = 3 * 86_400 * 1_000_000 + 33_333;
    expect(clock.ticks(threeDaysUs, 90_000)).toBe(3 * 86_400 * 90_000 + 3000);
    expect(clock.ticks(threeDaysUs, 48_000)).toBe(3 * 86_400 * 48_000 + 1600);
  });

  it.each([
    [0, 0, 0],
    [0xffff_fff0, 0x20, 0x10],
    [5, -10, 2 ** 32 - 5],
    [1, 3 * 2 ** 32, 1],
  ])('rtpTimestamp(%d, %d) = %d', (initial, ticks, expected) => {
    expect(rtpTimestamp(initial, ticks)).toBe(expected);
  });
});
