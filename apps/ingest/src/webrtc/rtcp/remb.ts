/**
 * Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb-03 §2.2): a payload-specific
 * feedback (PT 206, FMT 15) in which the receiver states the total bitrate it estimates the path
 * can carry for the listed SSRCs. Chrome computes it with its receive-side delay-based estimator
 * (inter-arrival delay gradients, an overuse detector and AIMD) when `goog-remb` is negotiated
 * and no transport-wide sequence numbers are sent, and sends it about every 200 ms with an RR.
 *
 *   unique identifier 'R' 'E' 'M' 'B' | Num SSRC (8) | BR Exp (6) | BR Mantissa (18) | SSRC feedback × Num SSRC
 */
import { RTCP_PSFB, type RtcpPacketView, writeRtcpHeader } from './rtcp-header';

export const FMT_REMB = 15;
const REMB_ID = 0x52454d42; // 'REMB'

export interface Remb {
  type: 'remb';
  senderSsrc: number;
  /** Estimated bitrate for all the listed SSRCs together, bit/s. */
  bitrate: number;
  ssrcs: number[];
}

export function decodeRemb({ type, count, packet }: RtcpPacketView): Remb | undefined {
  if (type !== RTCP_PSFB || count !== FMT_REMB || packet.byteLength < 20) return undefined;
  if (packet.getUint32(12) !== REMB_ID) return undefined;
  const word = packet.getUint32(16);
  const ssrcCount = word >>> 24;
  if (20 + ssrcCount * 4 > packet.byteLength) return undefined;
  const exponent = (word >>> 18) & 0x3f;
  const mantissa = word & 0x3ffff;
  const ssrcs: number[] = [];
  for (let i = 0; i < ssrcCount; i += 1) ssrcs.push(packet.getUint32(20 + i * 4));
  return { type: 'remb', senderSsrc: packet.getUint32(4), bitrate: mantissa * 2 ** exponent, ssrcs };
}

/** A REMB packet for `bitrate` (rounded down to what 18 bits of mantissa can say). */
export function encodeRemb(senderSsrc: number, bitrate: number, ssrcs: number[]): Uint8Array {
  const out = new Uint8Array(20 + ssrcs.length * 4);
  const view = new DataView(out.buffer);
  writeRtcpHeader(view, RTCP_PSFB, FMT_REMB, out.length);
  view.setUint32(4, senderSsrc >>> 0);
  view.setUint32(8, 0); // media source SSRC: always 0 (§2.2)
  view.setUint32(12, REMB_ID);
  let mantissa = Math.max(0, Math.floor(bitrate));
  let exponent = 0;
  while (mantissa > 0x3ffff) {
    mantissa = Math.floor(mantissa / 2);
    exponent += 1;
  }
  view.setUint32(16, ((ssrcs.length << 24) | (exponent << 18) | mantissa) >>> 0);
  ssrcs.forEach((ssrc, i) => view.setUint32(20 + i * 4, ssrc >>> 0));
  return out;
}
