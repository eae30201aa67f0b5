import { describe, expect, it } from 'vitest';
import { decodeHangFrame, encodeHangFrame } from './hang-frame';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('hang legacy frame', () => {
  it.each([
    // A frame as <moq-publish> sent it in the spike: 4-byte timestamp, then an Annex B SPS.
    ['4-byte timestamp + Annex B', '80 0f 42 40 00 00 00 01 67 42', 1_000_000, '00 00 00 01 67 42'],
    ['1-byte timestamp 0 + Opus TOC', '00 fc ff fe', 0, 'fc ff fe'],
    ['8-byte timestamp', 'c0 00 00 01 00 00 00 00 78', 2 ** 32, '78'],
  ])('decodes %s', (_name, frame, timestampUs, payload) => {
    expect(decodeHangFrame(hex(frame), 1024)).toEqual({ ok: true, timestampUs, payload: hex(payload) });
  });

  it.each([
    ['an empty frame', '', 1024, 'truncated_timestamp'],
    ['a frame ending inside its timestamp', '80 0f 42', 1024, 'truncated_timestamp'],
    ['a timestamp past 2^53', 'ff ff ff ff ff ff ff ff 00', 1024, 'timestamp_too_large'],
    ['a payload over the cap', '00 01 02 03 04', 3, 'frame_too_large'],
  ])('refuses %s', (_name, frame, max, reason) => {
    const result = decodeHangFrame(hex(frame), max);
    expect(result).toMatchObject({ ok: false, reason });
    expect(result.ok === false && result.detail.length).toBeGreaterThan(0);
  });

  it('takes a timestamp alone: the end marker hang publishers may send', () => {
    expect(decodeHangFrame(hex('80 0f 42 40'), 1024)).toEqual({ ok: true, timestampUs: 1_000_000, payload: new Uint8Array(0) });
  });

  it('takes a payload exactly at the cap', () => {
    expect(decodeHangFrame(hex('00 01 02 03'), 3)).toMatchObject({ ok: true, payload: hex('01 02 03') });
  });

  it('round-trips', () => {
    for (let i = 0; i < 2000; i += 1) {
      const timestampUs = Math.floor(Math.random() * 2 ** (1 + (i % 53)));
      const payload = Uint8Array.from({ length: i % 300 }, () => Math.floor(Math.random() * 256));
      expect(decodeHangFrame(encodeHangFrame({ timestampUs, payload }), 300)).toEqual({ ok: true, timestampUs, payload });
    }
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine

  it('never throws on 20 000 corrupted frames, and what it accepts is inside the frame and under the cap', () => {
    for (let i = 0; i < 20_000; i += 1) {
      const frame = Uint8Array.from({ length: Math.floor(Math.random() * 24) }, () => Math.floor(Math.random() * 256));
      const result = decodeHangFrame(frame, 16);
      if (!result.ok) continue;
      expect(result.payload.length).toBeLessThanOrEqual(16);
      expect(result.payload.byteOffset + result.payload.length).toBe(frame.byteOffset + frame.length);
      expect(Number.isSafeInteger(result.timestampUs)).toBe(true);
    }
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine
});
