/**
 * Generic NACK (RFC 4585 §6.2.1), PLI (§6.3.1) and FIR (RFC 5104 §4.3.1): the feedback a viewer
 * sends about lost packets and pictures. Every feedback packet is header, sender SSRC, media SSRC,
 * then its FCI (RFC 4585 §6.1).
 */
import { RTCP_PSFB, RTCP_RTPFB, type RtcpPacketView } from './rtcp-header';

const FMT_NACK = 1;
const FMT_PLI = 1;
const FMT_FIR = 4;

export type LossFeedback =
  | { type: 'pli'; mediaSsrc: number }
  | { type: 'fir'; ssrcs: number[] }
  | { type: 'nack'; mediaSsrc: number; lost: number[] };

export function decodeLossFeedback({ type, count, packet }: RtcpPacketView): LossFeedback | undefined {
  if ((type !== RTCP_RTPFB && type !== RTCP_PSFB) || packet.byteLength < 12) return undefined;
  const mediaSsrc = packet.getUint32(8);
  const end = packet.byteLength;
  if (type === RTCP_PSFB && count === FMT_PLI) return { type: 'pli', mediaSsrc };
  if (type === RTCP_PSFB && count === FMT_FIR) {
    // FCI entries: SSRC, sequence number, reserved (8 bytes each).
    const ssrcs: number[] = [];
    for (let at = 12; at + 8 <= end; at += 8) ssrcs.push(packet.getUint32(at));
    return { type: 'fir', ssrcs };
  }
  if (type === RTCP_RTPFB && count === FMT_NACK) {
    // FCI entries: PID and a bitmask of the 16 following lost packets (BLP).
    const lost: number[] = [];
    for (let at = 12; at + 4 <= end; at += 4) {
      const pid = packet.getUint16(at);
      const blp = packet.getUint16(at + 2);
      lost.push(pid);
      for (let bit = 0; bit < 16; bit += 1) if (blp & (1 << bit)) lost.push((pid + bit + 1) & 0xffff);
    }
    return { type: 'nack', mediaSsrc, lost };
  }
  return undefined;
}
