import { describe, expect, it } from 'vitest';
import { decodeBackChannelMessage, encodeBackChannelMessage } from './moq-back-channel';

describe('MoQ back channel', () => {
  it('round-trips a keyframe request', () => {
    const bytes = encodeBackChannelMessage({ type: 'keyframe-request' });
    expect(Buffer.from(bytes).toString('latin1')).toBe('onair\x01\x01');
    expect(decodeBackChannelMessage(bytes)).toEqual({ type: 'keyframe-request' });
  });

  it.each([
    ['empty', []],
    ['truncated', [0x6f, 0x6e, 0x61, 0x69, 0x72, 1]],
    ['another magic', [0x6f, 0x6e, 0x61, 0x69, 0x73, 1, 1]],
    ['a future version', [0x6f, 0x6e, 0x61, 0x69, 0x72, 2, 1]],
    ['an unknown type', [0x6f, 0x6e, 0x61, 0x69, 0x72, 1, 9]],
  ])('ignores %s', (_name, bytes) => {
    expect(decodeBackChannelMessage(Uint8Array.from(bytes))).toBeUndefined();
  });

  it('decodes a random datagram exactly when it carries the header, version 1 and type 1', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const header = [0x6f, 0x6e, 0x61, 0x69, 0x72, 1, 1];
    let decoded = 0;
    for (let i = 0; i < 5000; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(random() * 12) }, () => Math.floor(random() * 256));
      // Most random datagrams would fail at the first byte: plant a prefix of the header in half.
      if (random() < 0.5) bytes.set(header.slice(0, Math.min(bytes.length, Math.floor(random() * 8))));
      const expected = bytes.length >= 7 && header.every((byte, index) => bytes[index] === byte);
      expect(decodeBackChannelMessage(bytes)).toEqual(expected ? { type: 'keyframe-request' } : undefined);
      if (expected) decoded += 1;
    }
    expect(decoded).toBeGreaterThan(0);
  });
});
