import { describe, expect, it } from 'vitest';
import { RtcpPacketConverter, RtcpSourceDescriptionPacket, RtcpSrPacket } from 'werift';
import { buildSenderReport, ntpMiddle32 } from './sender-report';

describe('buildSenderReport', () => {
  it('is a compound SR + SDES CNAME that werift reads back with the same fields', () => {
    const wallTimeMs = Date.UTC(2026, 10, 22, 6, 0, 0, 250);
    const packet = buildSenderReport({ ssrc: 0xdeadbeef, wallTimeMs, rtpTimestamp: 0xfffffff0, packetCount: 1234, octetCount: 1_500_000, cname: 'abcdef0123456789' });
    expect(packet.length % 4).toBe(0);
    const [sr, sdes] = RtcpPacketConverter.deSerialize(packet) as [RtcpSrPacket, RtcpSourceDescriptionPacket];
    expect(sr).toBeInstanceOf(RtcpSrPacket);
    expect(sr.ssrc).toBe(0xdeadbeef);
    expect(sr.reports).toEqual([]);
    expect(sr.senderInfo.rtpTimestamp).toBe(0xfffffff0);
    expect(sr.senderInfo.packetCount).toBe(1234);
    expect(sr.senderInfo.octetCount).toBe(1_500_000);
    // NTP: seconds since 1900 in the high word, the fraction in the low word (RFC 3550 §4).
    const ntp = sr.senderInfo.ntpTimestamp;
    expect(Number(ntp >> 32n)).toBe(Math.floor(wallTimeMs / 1000) + 2_208_988_800);
    expect(Number(ntp & 0xffffffffn) / 2 ** 32).toBeCloseTo(0.25, 6);
    expect(sdes).toBeInstanceOf(RtcpSourceDescriptionPacket);
    expect(sdes.chunks[0]!.source).toBe(0xdeadbeef);
    expect(sdes.chunks[0]!.items[0]).toMatchObject({ type: 1, text: 'abcdef0123456789' });
  });

  it.each([1, 2, 3, 4])('pads the SDES chunk to a 32-bit boundary with at least one null octet (CNAME of %i bytes)', (length) => {
    const packet = buildSenderReport({ ssrc: 1, wallTimeMs: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0, cname: 'x'.repeat(length) });
    const sdesLength = (packet.readUInt16BE(30) + 1) * 4;
    expect(28 + sdesLength).toBe(packet.length);
    expect(packet[38 + length]).toBe(0);
  });
});

describe('ntpMiddle32', () => {
  it('is the middle 32 bits of the SR\'s NTP timestamp (what a reception report echoes as LSR)', () => {
    const wallTimeMs = Date.UTC(2026, 10, 22, 6, 0, 0, 500);
    const packet = buildSenderReport({ ssrc: 1, wallTimeMs, rtpTimestamp: 0, packetCount: 0, octetCount: 0, cname: 'x' });
    expect(ntpMiddle32(wallTimeMs)).toBe(((packet.readUInt16BE(10) << 16) | packet.readUInt16BE(12)) >>> 0);
    // 1/65536 s resolution: half a second is 0x8000 in the low half.
    expect(ntpMiddle32(wallTimeMs) & 0xffff).toBe(0x8000);
  });
});
