import { describe, expect, it } from 'vitest';
import type { OutboundRtp } from '../webrtc/engine';
import { AccessUnitDelimiter } from './access-unit-delimiter';

const packet = (sequenceNumber: number, timestamp: number, marker: boolean): OutboundRtp => ({ sequenceNumber, timestamp, ssrc: 1234, payloadType: 96, marker, payload: Buffer.from([0x65, 0x88]) });

/** Sends `frames` (packets per frame, timestamp steps) through a delimiter as the forward does: what goes out, in order. */
function forward(delimiter: AccessUnitDelimiter, frames: Array<{ timestamp: number; packets: number }>, firstSequence = 100): OutboundRtp[] {
  const out: OutboundRtp[] = [];
  let sequence = firstSequence;
  for (const frame of frames) {
    for (let i = 0; i < frame.packets; i++) {
      const input = packet(sequence++ & 0xffff, frame.timestamp, i === frame.packets - 1);
      const sent = { ...input, sequenceNumber: delimiter.sequenceNumber(input) };
      out.push(sent);
      const ending = delimiter.after(sent);
      if (ending) out.push(ending);
    }
  }
  return out;
}

const isDelimiter = (rtp: OutboundRtp) => rtp.payload.length === 2 && rtp.payload[0] === 0x09;

describe('AccessUnitDelimiter', () => {
  it('sends an access unit delimiter (H.264 §7.3.2.4: type 9, any slice type) right after each frame\'s marker packet, and nothing after the others', () => {
    const out = forward(new AccessUnitDelimiter(), [{ timestamp: 0, packets: 3 }, { timestamp: 3000, packets: 1 }]);
    expect(out.map((rtp) => (isDelimiter(rtp) ? 'AUD' : rtp.marker ? 'end' : 'part'))).toEqual(['part', 'part', 'end', 'AUD', 'end', 'AUD']);
    const delimiter = out[3]!;
    expect([...delimiter.payload]).toEqual([0x09, 0xf0]);
    expect(delimiter).toMatchObject({ ssrc: 1234, payloadType: 96, marker: false });
  });

  it('numbers the stream without a gap or a repeat, across the 16-bit wrap', () => {
    const frames = Array.from({ length: 40 }, (_, i) => ({ timestamp: i * 3000, packets: 1 + (i % 3) }));
    const out = forward(new AccessUnitDelimiter(), frames, 0xffe0);
    out.forEach((rtp, i) => expect(rtp.sequenceNumber).toBe((0xffe0 + i) & 0xffff));
  });

  it('dates each delimiter with the next frame\'s timestamp at a steady rate (ffmpeg dates the frame it starts by it)', () => {
    for (const step of [3000, 1500, 6000, 3003]) {
      const frames = Array.from({ length: 30 }, (_, i) => ({ timestamp: (0xffff_0000 + i * step) % 0x1_0000_0000, packets: 2 }));
      const out = forward(new AccessUnitDelimiter(), frames).filter(isDelimiter);
      // The estimate starts at 30 fps and settles on the source's rate (a quarter of the way a frame).
      for (let i = 20; i < frames.length - 1; i++) expect(Math.abs(out[i]!.timestamp - frames[i + 1]!.timestamp)).toBeLessThanOrEqual(Math.ceil(step / 100));
    }
  });

  it('after a gap (frames skipped), dates one frame early and the rest right; a lower frame rate is taken after two long steps', () => {
    const timestamps = [0, 3000, 6000, 9000, 27_000, 30_000, 33_000];
    const out = forward(new AccessUnitDelimiter(), timestamps.map((timestamp) => ({ timestamp, packets: 1 }))).filter(isDelimiter);
    expect(out.map((rtp) => rtp.timestamp)).toEqual([3000, 6000, 9000, 12_000, 30_000, 33_000, 36_000]);

    const slower = [0, 3000, 6000, 9000, 27_000, 45_000, 63_000, 81_000];
    const out2 = forward(new AccessUnitDelimiter(), slower.map((timestamp) => ({ timestamp, packets: 1 }))).filter(isDelimiter);
    expect(out2.slice(-3).map((rtp) => rtp.timestamp)).toEqual([63_000, 81_000, 99_000]);
  });

  it('a frame\'s timestamp step back (a new source) changes nothing of the rate', () => {
    const timestamps = [90_000, 93_000, 96_000, 99_000, 500, 3500];
    const out = forward(new AccessUnitDelimiter(), timestamps.map((timestamp) => ({ timestamp, packets: 1 }))).filter(isDelimiter);
    expect(out.map((rtp) => rtp.timestamp)).toEqual([93_000, 96_000, 99_000, 102_000, 3500, 6500]);
  });
});
