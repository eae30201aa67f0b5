import { describe, expect, it } from 'vitest';
import {
  GenericNack,
  PictureLossIndication,
  ReceiverEstimatedMaxBitrate,
  RtcpPayloadSpecificFeedback,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
} from 'werift';
import { parseRtcp } from './parse-rtcp';
import { encodeReceiverReport } from './receiver-report';
import { encodeTransportCcFeedback } from './transport-cc-feedback';
import { seededRandom, corrupt } from './test-random';

// Packets are written by werift's serializers: an independent implementation of RFC 3550/4585.
const block = { ssrc: 0xabc, fractionLost: 64, packetsLost: 12, highestSequence: 70_000, jitter: 90, lsr: 0x12345678, dlsr: 0x8000 };
const rr = () => new RtcpRrPacket({ ssrc: 1, reports: [new RtcpReceiverInfo(block)] }).serialize();
const pli = (mediaSsrc: number) => new RtcpPayloadSpecificFeedback({ feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc }) }).serialize();
const nack = (mediaSourceSsrc: number, lost: number[]) => new RtcpTransportLayerFeedback({ feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc, lost }) }).serialize();
const remb = (bitrate: bigint, brExp: number, brMantissa: number) => new RtcpPayloadSpecificFeedback({ feedback: new ReceiverEstimatedMaxBitrate({ senderSsrc: 1, mediaSsrc: 0, ssrcNum: 1, ssrcFeedbacks: [0xabc], bitrate, brExp, brMantissa }) }).serialize();
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
const readBlock = { ssrc: 0xabc, fractionLost: 0.25, cumulativeLost: 12, highestSequence: 70_000, jitter: 90, lastSenderReport: 0x12345678, delaySinceLastSenderReport: 0x8000 };

describe('parseRtcp', () => {
  it.each([
    ['a PLI alone', pli(0xabc), [{ type: 'pli', mediaSsrc: 0xabc }]],
    ['a receiver report and a PLI (compound, as Chrome sends it)', Buffer.concat([rr(), pli(0xabc)]), [{ type: 'report', senderSsrc: 1, blocks: [readBlock] }, { type: 'pli', mediaSsrc: 0xabc }]],
    ['a FIR', fir(0xabc), [{ type: 'fir', ssrcs: [0xabc] }]],
    ['a NACK with a bitmask', nack(0xabc, [100, 101, 103, 116]), [{ type: 'nack', mediaSsrc: 0xabc, lost: [100, 101, 103, 116] }]],
    ['a NACK across the sequence wrap', nack(0xabc, [65534, 65535, 0, 1]), [{ type: 'nack', mediaSsrc: 0xabc, lost: [65534, 65535, 0, 1] }]],
    ['a NACK then a PLI for another SSRC', Buffer.concat([nack(5, [7]), pli(9)]), [{ type: 'nack', mediaSsrc: 5, lost: [7] }, { type: 'pli', mediaSsrc: 9 }]],
    ['an RR with a negative cumulative loss (duplicates)', Buffer.from(encodeReceiverReport(1, [{ ...readBlock, cumulativeLost: -3 }])), [{ type: 'report', senderSsrc: 1, blocks: [{ ...readBlock, cumulativeLost: -3 }] }]],
    ['an RR after REMB (Chrome: RR + REMB every ~200 ms)', Buffer.concat([rr(), remb(1_000_000n, 3, 125_000)]), [{ type: 'report', senderSsrc: 1, blocks: [readBlock] }, { type: 'remb', senderSsrc: 1, bitrate: 1_000_000, ssrcs: [0xabc] }]],
    ['an SR with a report block', new RtcpSrPacket({ ssrc: 7, senderInfo: new RtcpSenderInfo({ ntpTimestamp: 1n, rtpTimestamp: 2, packetCount: 3, octetCount: 4 }), reports: [new RtcpReceiverInfo(block)] }).serialize(), [{ type: 'report', senderSsrc: 7, blocks: [readBlock] }]],
    ['transport-cc feedback', Buffer.from(encodeTransportCcFeedback({ senderSsrc: 1, mediaSsrc: 2, feedbackCount: 3, baseSequence: 10, referenceTimeUs: 64_000, packets: [{ receivedAtUs: 64_500 }, { receivedAtUs: null }] })), [{ type: 'transport-cc', senderSsrc: 1, mediaSsrc: 2, feedbackCount: 3, baseSequence: 10, referenceTimeUs: 64_000, packets: [{ sequence: 10, receivedAtUs: 64_500 }, { sequence: 11, receivedAtUs: null }] }]],
  ])('finds %s', (_name, data, expected) => {
    expect(parseRtcp(data)).toEqual(expected);
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['a length past the end', (() => { const b = pli(1); b.writeUInt16BE(40, 2); return b; })()],
    ['not version 2', (() => { const b = pli(1); b[0] = 0x01; return b; })()],
    ['three stray bytes', Buffer.from([0x81, 206, 0])],
    ['an RR whose count says more blocks than it holds', (() => { const b = rr(); b[0] = 0x82; return b; })()],
    ['a PSFB FMT 15 that is not REMB', (() => { const b = remb(1n, 0, 1); b.write('XXXX', 12); return b; })()],
    ['padding that claims more than the packet', (() => { const b = pli(1); b[0]! |= 0x20; b[b.length - 1] = 200; return b; })()],
  ])('skips what is malformed (%s) without throwing', (_name, data) => {
    expect(parseRtcp(data)).toEqual([]);
  });

  it('stops at a malformed packet but keeps what came before it', () => {
    const broken = pli(2);
    broken.writeUInt16BE(99, 2);
    expect(parseRtcp(Buffer.concat([pli(1), broken]))).toEqual([{ type: 'pli', mediaSsrc: 1 }]);
  });

  it('survives 20 000 corrupted compounds: never throws, every report field in range', () => {
    const random = seededRandom(8_888);
    const valid = [Buffer.concat([rr(), remb(2_500_000n, 4, 156_250)]), Buffer.concat([nack(1, [1, 2, 5]), pli(1)]), Buffer.from(encodeTransportCcFeedback({ senderSsrc: 1, mediaSsrc: 2, feedbackCount: 0, baseSequence: 65_530, referenceTimeUs: 640_000, packets: Array.from({ length: 40 }, (_, i) => ({ receivedAtUs: i % 5 === 0 ? null : 640_000 + i * 900 })) }))];
    let found = 0;
    for (let i = 0; i < 20_000; i++) {
      const data = corrupt(random, valid[i % valid.length]!, i);
      for (const message of parseRtcp(data)) {
        found += 1;
        if (message.type === 'report') for (const b of message.blocks) expect(b.fractionLost).toBeLessThan(1);
        if (message.type === 'remb') expect(message.bitrate).toBeGreaterThanOrEqual(0);
        if (message.type === 'transport-cc') expect(message.packets.length).toBeLessThanOrEqual(4096);
      }
    }
    expect(found).toBeGreaterThan(1000);
  });
});
