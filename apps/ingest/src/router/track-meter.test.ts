import { describe, expect, it } from 'vitest';
import { TrackMeter } from './track-meter';

/** 30 fps video, 3 packets per frame of 1000 bytes each, for `seconds`. */
function feed(meter: TrackMeter, seconds: number, opts: { startSeq?: number; startTs?: number; drop?: (i: number) => boolean } = {}) {
  let seq = opts.startSeq ?? 0;
  let ts = opts.startTs ?? 0;
  let i = 0;
  for (let frame = 0; frame < 30 * seconds; frame += 1) {
    for (let p = 0; p < 3; p += 1) {
      if (!opts.drop?.(i)) meter.record({ sequenceNumber: seq, timestamp: ts }, 1000, (frame * 1000) / 30);
      seq = (seq + 1) % 0x10000;
      i += 1;
    }
    ts = (ts + 3000) % 0x100000000;
  }
  return (30 * seconds * 1000) / 30;
}

describe('TrackMeter', () => {
  it.each([
    { name: 'steady 30 fps, 720 kbps', opts: {}, fps: 30, kbps: 720, lost: 0 },
    { name: 'sequence and timestamp wrap', opts: { startSeq: 65000, startTs: 0xffff0000 }, fps: 30, kbps: 720, lost: 0 },
    { name: 'every 10th packet lost', opts: { drop: (i: number) => i % 10 === 5 }, fps: 30, kbps: 648, lost: 27 },
  ])('$name', ({ opts, fps, kbps, lost }) => {
    const meter = new TrackMeter(90000);
    const end = feed(meter, 3, opts);
    const snap = meter.snapshot(end);
    expect(snap.fps).toBe(fps);
    expect(snap.bitrateKbps).toBeCloseTo(kbps, -1);
    expect(snap.packetsLost).toBe(lost);
  });

  it('reports nothing measured before the first window closes, and goes stale when packets stop', () => {
    const meter = new TrackMeter(90000);
    meter.record({ sequenceNumber: 1, timestamp: 0 }, 100, 0);
    expect(meter.snapshot(10)).toMatchObject({ packets: 1, bytes: 100, fps: null, bitrateKbps: 0 });
    feed(meter, 2);
    expect(meter.snapshot(10_000)).toMatchObject({ fps: null, bitrateKbps: 0 });
  });
});
