import { describe, expect, it } from 'vitest';
import { rtcpPackets } from './rtcp-header';
import { decodeRemb, encodeRemb } from './remb';

const decode = (data: Uint8Array) => decodeRemb(rtcpPackets(data)[0]!);

describe('REMB', () => {
  it.each([
    [0, 0],
    [300_000, 300_000],
    [2_500_000, 2_500_000], // 18 bits of mantissa: 2 500 000 = 156 250 × 2^4
    [123_456_789, 123_456_512], // rounded down to what the mantissa can say
  ])('round-trips %i bit/s (read back %i)', (bitrate, readBack) => {
    expect(decode(encodeRemb(7, bitrate, [1, 2]))).toEqual({ type: 'remb', senderSsrc: 7, bitrate: readBack, ssrcs: [1, 2] });
  });

  it('refuses an SSRC count past the packet', () => {
    const data = encodeRemb(7, 1000, [1]);
    data[16] = 5;
    expect(decode(data)).toBeUndefined();
  });
});
