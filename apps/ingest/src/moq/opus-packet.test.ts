import { describe, expect, it } from 'vitest';
import { readOpusPacket } from './opus-packet';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('readOpusPacket', () => {
  it.each([
    // TOC = config << 3 | stereo << 2 | code
    ['CELT FB 20 ms, one frame (what Chrome sends)', 'fc ff fe', 960, 1],
    ['CELT 2.5 ms', '80 00', 120, 1],
    ['SILK NB 10 ms', '00 00', 480, 1],
    ['SILK WB 60 ms', '58 00', 2880, 1],
    ['Hybrid SWB 10 ms', '60 00', 480, 1],
    ['Hybrid FB 20 ms', '78 00', 960, 1],
    ['code 1: two 20 ms frames of equal size', 'fd 0102 0304', 1920, 2],
    ['code 2: two frames, 1-byte length', 'fe 02 0102 03', 1920, 2],
    ['code 2: two frames, 2-byte length (252 + 4 × 0 = 252)', `fe fc00 ${'00'.repeat(252)}`, 1920, 2],
    ['code 3: six 20 ms frames = 120 ms', 'ff 06 00', 5760, 6],
    ['code 3: 48 frames of 2.5 ms = 120 ms', '83 30 00', 5760, 48],
  ])('%s', (_name, packet, samples, frames) => {
    expect(readOpusPacket(hex(packet))).toEqual({ ok: true, samples, frames });
  });

  it.each([
    ['empty', '', /R1/],
    ['code 1 with an odd payload', 'fd 010203', /R3/],
    ['code 2 without a length', 'fe', /R4/],
    ['code 2 with a length past the end', 'fe 05 0102', /R4/],
    ['code 2 with a cut 2-byte length', 'fe fd', /R4/],
    ['code 3 without a count', 'ff', /R6/],
    ['code 3 with zero frames', 'ff 00', /R5/],
    ['code 3: seven 20 ms frames = 140 ms', 'ff 07 00', /more than 120 ms/],
  ])('refuses %s', (_name, packet, detail) => {
    const result = readOpusPacket(hex(packet));
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.detail).toMatch(detail);
  });

  it('never throws on 20 000 random packets, and never reports more than 120 ms', () => {
    for (let i = 0; i < 20_000; i += 1) {
      const result = readOpusPacket(Uint8Array.from({ length: i % 8 }, () => Math.floor(Math.random() * 256)));
      if (result.ok) expect(result.samples).toBeLessThanOrEqual(5760);
    }
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine
});
