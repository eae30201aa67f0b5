import { describe, expect, it } from 'vitest';
import { decodeControlDatagram, encodeKeyframeRequest, encodeSessionEnd } from './moq-control';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('MoQ back channel datagrams', () => {
  it.each([
    [1, '6f 61 01 01 00 00 00 01'],
    [0x01020304, '6f 61 01 01 01 02 03 04'],
    [2 ** 32 + 5, '6f 61 01 01 00 00 00 05'],
  ])('keyframe request %d is %s', (request, bytes) => {
    expect(encodeKeyframeRequest(request)).toEqual(hex(bytes));
    expect(decodeControlDatagram(hex(bytes))).toEqual({ type: 'keyframe-request', version: 1, request: request % 2 ** 32 });
  });

  it('a session-end notice for a replaced publisher is 6f 61 01 02 01', () => {
    expect(encodeSessionEnd('replaced')).toEqual(hex('6f 61 01 02 01'));
    expect(decodeControlDatagram(hex('6f 61 01 02 01'))).toEqual({ type: 'session-end', version: 1, reason: 'replaced' });
  });

  it.each([
    ['empty', ''],
    ['another magic', '6f 62 01 01 00 00 00 01'],
    ['version 2', '6f 61 02 01 00 00 00 01'],
    ['an unknown type', '6f 61 01 03 00 00 00 01'],
    ['a session end with an unknown reason', '6f 61 01 02 07'],
    ['a long session end', '6f 61 01 02 01 00'],
    ['a short request', '6f 61 01 01 00 00 01'],
    ['a long request', '6f 61 01 01 00 00 00 01 00'],
  ])('ignores %s', (_name, bytes) => {
    expect(decodeControlDatagram(hex(bytes))).toBeUndefined();
  });

  it('reads a datagram at an offset inside a larger buffer', () => {
    const buffer = new Uint8Array(20);
    buffer.set(encodeKeyframeRequest(42), 7);
    expect(decodeControlDatagram(buffer.subarray(7, 15))).toMatchObject({ request: 42 });
  });

  it('never throws on 10 000 random datagrams', () => {
    for (let i = 0; i < 10_000; i += 1) {
      const bytes = Uint8Array.from({ length: i % 12 }, () => Math.floor(Math.random() * 256));
      if (i % 2) bytes.set([0x6f, 0x61, 0x01].slice(0, bytes.length));
      const message = decodeControlDatagram(bytes);
      if (message) expect(bytes.length).toBe(message.type === 'keyframe-request' ? 8 : 5);
    }
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine
});
