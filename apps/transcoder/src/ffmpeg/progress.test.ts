import { describe, expect, it } from 'vitest';
import { parseClock, parseStatsLine, ProgressParser } from './progress';

// Real output of ffmpeg 5.1.9 (`-progress pipe:1`) transcoding RTP to two fMP4 outputs.
const BLOCKS = `frame=37
fps=0.00
stream_0_0_q=0.0
stream_1_0_q=16.0
bitrate= 310.8kbits/s
total_size=48065
out_time_us=1237333
out_time_ms=1237333
out_time=00:00:01.237333
dup_frames=72
drop_frames=0
speed=1.85x
progress=continue
frame=52
fps=44.47
stream_0_0_q=0.0
stream_1_0_q=18.0
bitrate= 448.3kbits/s
total_size=98033
out_time_us=1749333
out_time_ms=1749333
out_time=00:00:01.749333
dup_frames=72
drop_frames=3
speed= 1.5x
progress=continue
frame=0
fps=0.00
stream_0_0_q=0.0
bitrate=N/A
total_size=48
out_time_us=N/A
out_time_ms=N/A
out_time=N/A
dup_frames=0
drop_frames=0
speed=N/A
progress=end
`;

describe('ProgressParser (-progress blocks)', () => {
  it('parses real blocks into progress records', () => {
    const parsed = new ProgressParser().push(BLOCKS);
    expect(parsed).toEqual([
      { frame: 37, fps: 0, bitrateKbps: 310.8, totalSize: 48065, outTimeUs: 1237333, dup: 72, drop: 0, speed: 1.85, end: false },
      { frame: 52, fps: 44.47, bitrateKbps: 448.3, totalSize: 98033, outTimeUs: 1749333, dup: 72, drop: 3, speed: 1.5, end: false },
      { frame: 0, fps: 0, bitrateKbps: null, totalSize: 48, outTimeUs: null, dup: 0, drop: 0, speed: null, end: true },
    ]);
  });

  it.each([1, 3, 7, 64])('gives the same result whatever the chunking (%i-byte chunks)', (size) => {
    const parser = new ProgressParser();
    const out = [];
    for (let i = 0; i < BLOCKS.length; i += size) out.push(...parser.push(BLOCKS.slice(i, i + size)));
    expect(out).toEqual(new ProgressParser().push(BLOCKS));
  });

  it('handles CRLF and ignores junk lines without throwing', () => {
    const parser = new ProgressParser();
    expect(parser.push('garbage\r\n=novalue\r\nframe=5\r\nspeed=2x\r\nprogress=continue\r\n')).toEqual([expect.objectContaining({ frame: 5, speed: 2, fps: null })]);
    expect(parser.push('x'.repeat(10_000))).toEqual([]);
  });
});

describe('parseStatsLine (stderr stats)', () => {
  it.each([
    [
      'a running line with dup/drop',
      'frame=   52 fps= 44 q=18.0 q=16.0 size=      96kB time=00:00:01.74 bitrate= 448.3kbits/s dup=72 drop=0 speed=1.5x    ',
      { frame: 52, fps: 44, bitrateKbps: 448.3, totalSize: 96 * 1024, outTimeUs: 1_740_000, dup: 72, drop: 0, speed: 1.5, end: false },
    ],
    [
      'the final line, with its level prefix',
      '[info] frame=  124 fps= 29 q=69.0 Lq=69.0 q=69.0 Lsize=      91kB time=00:00:04.96 bitrate= 150.6kbits/s speed=1.14x    ',
      { frame: 124, fps: 29, bitrateKbps: 150.6, totalSize: 91 * 1024, outTimeUs: 4_960_000, dup: null, drop: null, speed: 1.14, end: true },
    ],
    [
      'N/A values at start',
      'frame=    0 fps=0.0 q=0.0 size=       0kB time=00:00:00.00 bitrate=N/A speed=N/A    ',
      { frame: 0, fps: 0, bitrateKbps: null, totalSize: 0, outTimeUs: 0, speed: null },
    ],
    [
      'audio only (no frame=) and a negative time',
      'size=      12kB time=-00:00:00.02 bitrate=1234.5kbits/s speed=0.98x',
      { frame: null, totalSize: 12 * 1024, outTimeUs: -20_000, bitrateKbps: 1234.5, speed: 0.98 },
    ],
  ])('parses %s', (_name, line, expected) => {
    expect(parseStatsLine(line)).toMatchObject(expected);
  });

  it.each(['[libx264 @ 0x55] [info] frame I:5     Avg QP:51.00  size:  1157', 'Stream mapping:', '', 'frame= but no time'])('ignores %j', (line) => {
    expect(parseStatsLine(line)).toBeNull();
  });
});

describe('parseClock', () => {
  it.each([
    ['00:00:01.749333', 1_749_333],
    ['01:02:03', 3_723_000_000],
    ['-00:00:00.02', -20_000],
    ['N/A', null],
    ['', null],
  ])('%j → %j', (raw, us) => expect(parseClock(raw)).toBe(us));
});
