/**
 * The common RTCP header (RFC 3550 §6.4.1): version 2, padding bit, a 5-bit count or feedback
 * message type (FMT, RFC 4585 §6.1), the packet type, and the length in 32-bit words minus one.
 * A datagram is a compound of such packets (§6.1); `rtcpPackets` walks one without copying.
 */

/** Packet types (RFC 3550 §12.1, RFC 4585 §6.1). */
export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
/** Transport-layer feedback (NACK, transport-wide CC). */
export const RTCP_RTPFB = 205;
/** Payload-specific feedback (PLI, FIR, REMB). */
export const RTCP_PSFB = 206;

export interface RtcpPacketView {
  /** Packet type (200 SR, 201 RR, 205 RTPFB, 206 PSFB, …). */
  type: number;
  /** Report count, or the feedback message type (FMT) of a feedback packet. */
  count: number;
  /** The whole packet, header included, padding excluded (a view into the datagram). */
  packet: DataView;
}

/**
 * The packets of a compound RTCP datagram, in order. The walk stops at the first packet that is
 * not version 2 or whose length runs past the datagram; what came before it is kept. Never throws.
 */
export function rtcpPackets(data: Uint8Array): RtcpPacketView[] {
  const out: RtcpPacketView[] = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  while (offset + 4 <= data.length) {
    const first = view.getUint8(offset);
    if (first >> 6 !== 2) break;
    const length = (view.getUint16(offset + 2) + 1) * 4;
    if (offset + length > data.length) break;
    let end = length;
    if (first & 0x20) {
      // §6.4.1: the last octet counts the padding octets, itself included.
      const padding = view.getUint8(offset + length - 1);
      if (padding === 0 || padding > length - 4) break;
      end -= padding;
    }
    out.push({ type: view.getUint8(offset + 1), count: first & 0x1f, packet: new DataView(data.buffer, data.byteOffset + offset, end) });
    offset += length;
  }
  return out;
}

/** Writes the common header of a packet of `totalBytes` (a multiple of 4) at the start of `out`. */
export function writeRtcpHeader(out: DataView, type: number, count: number, totalBytes: number): void {
  out.setUint8(0, 0x80 | (count & 0x1f));
  out.setUint8(1, type);
  out.setUint16(2, totalBytes / 4 - 1);
}
