/**
 * Reception report blocks (RFC 3550 §6.4.1–6.4.2): what a receiver says of one of our SSRCs in a
 * receiver report (RR), or in a sender report's blocks. The fields a rate controller reads:
 * - fraction lost since the previous report (8-bit fixed point, /256),
 * - cumulative packets lost (signed 24 bits: duplicates can make it negative),
 * - the extended highest sequence number received, interarrival jitter (RTP clock units),
 * - LSR (the middle 32 bits of the NTP time of our last SR) and DLSR (the delay since it arrived,
 *   in 1/65536 s): the round-trip time is arrival − LSR − DLSR (§6.4.1, "round-trip propagation").
 */
import { RTCP_RR, RTCP_SR, type RtcpPacketView, writeRtcpHeader } from './rtcp-header';

export interface ReportBlock {
  /** The SSRC the block is about (ours). */
  ssrc: number;
  /** Fraction of packets lost since the previous report, 0…1 (the wire's n/256). */
  fractionLost: number;
  /** Packets lost since the start of reception (may be negative: duplicates). */
  cumulativeLost: number;
  /** Cycles × 65536 + highest sequence number received. */
  highestSequence: number;
  /** Interarrival jitter, RTP timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from us; 0: none yet. */
  lastSenderReport: number;
  /** Delay between receiving that SR and sending this block, 1/65536 s. */
  delaySinceLastSenderReport: number;
}

export interface ReceiverReport {
  type: 'report';
  /** The reporter's SSRC. */
  senderSsrc: number;
  blocks: ReportBlock[];
}

/** RR (PT 201) or SR (PT 200): their report blocks; undefined for another packet or a short one. */
export function decodeReceiverReport({ type, count, packet }: RtcpPacketView): ReceiverReport | undefined {
  if (type !== RTCP_RR && type !== RTCP_SR) return undefined;
  // RR: header + reporter SSRC; SR adds 20 bytes of sender info (§6.4.1).
  const first = type === RTCP_SR ? 28 : 8;
  if (packet.byteLength < first || first + count * 24 > packet.byteLength) return undefined;
  const blocks: ReportBlock[] = [];
  for (let i = 0, at = first; i < count; i += 1, at += 24) {
    const lostWord = packet.getUint32(at + 4);
    const cumulative = lostWord & 0xffffff;
    blocks.push({
      ssrc: packet.getUint32(at),
      fractionLost: (lostWord >>> 24) / 256,
      cumulativeLost: cumulative & 0x800000 ? cumulative - 0x1000000 : cumulative,
      highestSequence: packet.getUint32(at + 8),
      jitter: packet.getUint32(at + 12),
      lastSenderReport: packet.getUint32(at + 16),
      delaySinceLastSenderReport: packet.getUint32(at + 20),
    });
  }
  return { type: 'report', senderSsrc: packet.getUint32(4), blocks };
}

/** An RR with these blocks (at most 31): what a receiver would send; for tests and peers. */
export function encodeReceiverReport(senderSsrc: number, blocks: ReportBlock[]): Uint8Array {
  const out = new Uint8Array(8 + blocks.length * 24);
  const view = new DataView(out.buffer);
  writeRtcpHeader(view, RTCP_RR, blocks.length, out.length);
  view.setUint32(4, senderSsrc >>> 0);
  blocks.forEach((block, i) => {
    const at = 8 + i * 24;
    const fraction = Math.min(255, Math.max(0, Math.round(block.fractionLost * 256)));
    view.setUint32(at, block.ssrc >>> 0);
    view.setUint32(at + 4, ((fraction << 24) | (block.cumulativeLost & 0xffffff)) >>> 0);
    view.setUint32(at + 8, block.highestSequence >>> 0);
    view.setUint32(at + 12, block.jitter >>> 0);
    view.setUint32(at + 16, block.lastSenderReport >>> 0);
    view.setUint32(at + 20, block.delaySinceLastSenderReport >>> 0);
  });
  return out;
}
