import { describe, expect, it } from 'vitest';
import { encodeHangFrame } from './hang-frame';
import { MediaClock } from './media-clock';
import { OpusTrackPipeline } from './opus-track-pipeline';
import { RtpStamper } from './rtp-stamper';

/** A 20 ms CELT packet (TOC 0xfc) with `n` filler bytes after it. */
const opus = (n = 60, fill = 7) => Uint8Array.from([0xfc, ...Array(n).fill(fill)]);

function pipeline(clock = new MediaClock()) {
  const stamper = new RtpStamper({ kind: 'audio', payloadType: 111, clockRate: 48_000, clock, ssrc: 77, initialSequenceNumber: 100, initialTimestamp: 5000 });
  return new OpusTrackPipeline({ stamper });
}

describe('OpusTrackPipeline', () => {
  it('sends one packet per frame at 48 kHz, marker on the first packet and after a gap', () => {
    const audio = pipeline();
    const at = [0, 20_000, 40_000, 60_000, 160_000, 180_000];
    const packets = at.flatMap((timestampUs, i) => {
      const result = audio.process({ group: i, index: 0, data: encodeHangFrame({ timestampUs: 1_000_000 + timestampUs, payload: opus(60, i) }) });
      if (result.kind !== 'packets') throw new Error(JSON.stringify(result));
      return result.packets;
    });
    expect(packets.map((p) => [p.sequenceNumber, p.timestamp, p.marker])).toEqual([
      [100, 5000, true],
      [101, 5960, false],
      [102, 6920, false],
      [103, 7880, false],
      [104, 12_680, true], // 80 ms of silence (DTX) before it
      [105, 13_640, false],
    ]);
    expect(packets.map((p) => p.payload[1])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(packets[0]).toMatchObject({ kind: 'audio', ssrc: 77, payloadType: 111, size: 12 + 61 });
    expect(audio.getStats()).toMatchObject({ frames: 6, groups: 6, packets: 6, bytes: packets.reduce((sum, p) => sum + p.payload.length + 4, 0) });
  });

  it('drops a frame older than the last one sent, and a late group', () => {
    const audio = pipeline();
    const frame = (group: number, timestampUs: number) => ({ group, index: 0, data: encodeHangFrame({ timestampUs, payload: opus() }) });
    expect(audio.process(frame(1, 20_000)).kind).toBe('packets');
    expect(audio.process(frame(2, 20_000))).toEqual({ kind: 'dropped', reason: 'late_timestamp' });
    expect(audio.process(frame(3, 0))).toEqual({ kind: 'dropped', reason: 'late_timestamp' });
    expect(audio.process(frame(0, 40_000))).toEqual({ kind: 'dropped', reason: 'late_group' });
    expect(audio.process(frame(4, 40_000)).kind).toBe('packets');
    expect(audio.getStats().dropped).toEqual({ late_timestamp: 2, late_group: 1 });
  });

  it('shares the broadcast clock with video: offsets between tracks survive', () => {
    const clock = new MediaClock();
    const video = new RtpStamper({ kind: 'video', payloadType: 102, clockRate: 90_000, clock, initialTimestamp: 0 });
    const audio = new RtpStamper({ kind: 'audio', payloadType: 111, clockRate: 48_000, clock, initialTimestamp: 0 });
    expect(audio.timestamp(2_000_000)).toBe(0); // audio came first: the origin
    expect(video.timestamp(2_100_000)).toBe(9000); // 100 ms later at 90 kHz
    expect(audio.timestamp(2_100_000)).toBe(4800); // the same instant at 48 kHz
  });

  it.each([
    ['an Opus packet with a bad frame count', encodeHangFrame({ timestampUs: 0, payload: Uint8Array.of(0xff, 0x00) }), 'invalid_opus'],
    ['a packet over 4 KiB', encodeHangFrame({ timestampUs: 0, payload: opus(4096) }), 'frame_too_large'],
  ])('fails the track on %s', (_name, data, reason) => {
    expect(pipeline().process({ group: 0, index: 0, data })).toMatchObject({ kind: 'failed', reason });
  });

  it("drops hang's end marker (a timestamp alone) without failing", () => {
    const audio = pipeline();
    expect(audio.process({ group: 0, index: 0, data: Uint8Array.of(0x05) })).toEqual({ kind: 'dropped', reason: 'end_marker' });
    expect(audio.process({ group: 1, index: 0, data: encodeHangFrame({ timestampUs: 6, payload: opus() }) }).kind).toBe('packets');
  });

  it('copies the payload: a reused receive buffer cannot change a packet already sent', () => {
    const data = encodeHangFrame({ timestampUs: 0, payload: opus(10, 1) });
    const result = pipeline().process({ group: 0, index: 0, data });
    data.fill(9);
    expect(result.kind === 'packets' && result.packets[0]!.payload[1]).toBe(1);
  });

  it('never throws on 10 000 random frames', () => {
    const audio = pipeline();
    for (let i = 0; i < 10_000; i += 1) audio.process({ group: i, index: 0, data: Uint8Array.from({ length: i % 20 }, () => Math.floor(Math.random() * 256)) });
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine
});
