import { describe, expect, it } from 'vitest';
import {
  GenericNack,
  PictureLossIndication,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpTransportLayerFeedback,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  ReceiverEstimatedMaxBitrate,
} from 'werift';
import { buildSenderReport, parseRtcpFeedback } from './rtcp';

// Packets are written by werift's serializers: an independent implementation of RFC 3550/4585.
const rr = () => new RtcpRrPacket({ ssrc: 1, reports: [new RtcpReceiverInfo({ ssrc: 0xabc, fractionLost: 0, packetsLost: 0, highestSequence: 10, jitter: 0, lsr: 0, dlsr: 0 })] }).serialize();
const pli = (mediaSsrc: number) => new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc }) }).serialize();
const nack = (mediaSourceSsrc: number, lost: number[]) => new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc, lost }) }).serialize();
/** FIR (RFC 5104 §4.3.1): werift 0.25 does not export a serializer for it. */
function fir(ssrc: number): Buffer {
  const out = Buffer.alloc(20);
  out[0] = 0x84;
  out[1] = 206;
  out.writeUInt16BE(4, 2);
  out.writeUInt32BE(1, 4);
  out.writeUInt32BE(0, 8);
  out.writeUInt32BE(ssrc, 12);
  out[16] = 7;
  return out;
}

describe('parseRtcpFeedback', () => {
  it.each([
    ['a PLI alone', pli(0xabc), [{ type: 'pli', mediaSsrc: 0xabc }]],
    ['a PLI after a receiver report (compound, as Chrome sends it)', Buffer.concat([rr(), pli(0xabc)]), [{ type: 'pli', mediaSsrc: 0xabc }]],
    ['a FIR', fir(0xabc), [{ type: 'fir', ssrcs: [0xabc] }]],
    ['a NACK with a bitmask', nack(0xabc, [100, 101, 103, 116]), [{ type: 'nack', mediaSsrc: 0xabc, lost: [100, 101, 103, 116] }]],
    ['a NACK across the sequence wrap', nack(0xabc, [65534, 65535, 0, 1]), [{ type: 'nack', mediaSsrc: 0xabc, lost: [65534, 65535, 0, 1] }]],
    ['a NACK then a PLI for another SSRC', Buffer.concat([nack(5, [7]), pli(9)]), [{ type: 'nack', mediaSsrc: 5, lost: [7] }, { type: 'pli', mediaSsrc: 9 }]],
    ['a receiver report only', rr(), []],
    ['REMB (a PSFB of another FMT)', new RtcpPayloadSpecificFeedback({ feedback: new ReceiverEstimatedMaxBitrate({ senderSsrc: 1, mediaSsrc: 0, ssrcNum: 1, ssrcFeedbacks: [0xabc], bitrate: 1_000_000n, brExp: 3, brMantissa: 125000 }) }).serialize(), []],
  ])('finds %s', (_name, data, expected) => {
    expect(parseRtcpFeedback(data)).toEqual(expected);
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['a length past the end', (() => { const b = pli(1); b.writeUInt16BE(40, 2); return b; })()],
    ['not version 2', (() => { const b = pli(1); b[0] = 0x01; return b; })()],
    ['three stray bytes', Buffer.from([0x81, 206, 0])],
  ])('skips what is malformed (%s) without throwing', (_name, data) => {
    expect(parseRtcpFeedback(data)).toEqual([]);
  });

  it('stops at a malformed packet but keeps what came before it', () => {
    const broken = pli(2);
    broken.writeUInt16BE(99, 2);
    expect(parseRtcpFeedback(Buffer.concat([pli(1), broken]))).toEqual([{ type: 'pli', mediaSsrc: 1 }]);
  });
});

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
