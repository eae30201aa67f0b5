/**
 * The RTCP an engine that forwards RTP must speak itself when its WebRTC stack leaves RTCP to
 * the application (node-datachannel hands a send track's incoming RTCP over as bytes): read a
 * viewer's feedback, and write the sender report that lets a player synchronise audio with video.
 */

/** RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1). */
const PT_SR = 200;
const PT_SDES = 202;
const PT_RTPFB = 205;
const PT_PSFB = 206;
/** Feedback message types: generic NACK (RFC 4585 §6.2.1), PLI (§6.3.1), FIR (RFC 5104 §4.3.1). */
const FMT_NACK = 1;
const FMT_PLI = 1;
const FMT_FIR = 4;
/** Seconds from 1900 (the NTP epoch) to 1970. */
const NTP_EPOCH_OFFSET = 2_208_988_800;

export type RtcpFeedback =
  | { type: 'pli'; mediaSsrc: number }
  | { type: 'fir'; ssrcs: number[] }
  | { type: 'nack'; mediaSsrc: number; lost: number[] };

/**
 * Feedback found in one (compound) RTCP datagram, in order. Anything else (receiver reports,
 * REMB, SDES) and anything malformed is skipped: a bad length ends the walk, never throws.
 */
export function parseRtcpFeedback(data: Uint8Array): RtcpFeedback[] {
  const out: RtcpFeedback[] = [];
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  while (offset + 4 <= data.length) {
    const first = data[offset]!;
    if (first >> 6 !== 2) break;
    const count = first & 0x1f;
    const type = data[offset + 1]!;
    const end = offset + (view.getUint16(offset + 2) + 1) * 4;
    if (end > data.length) break;
    // Feedback packets: header, sender SSRC, media SSRC, then the FCI (RFC 4585 §6.1).
    if ((type === PT_RTPFB || type === PT_PSFB) && end - offset >= 12) {
      const mediaSsrc = view.getUint32(offset + 8);
      if (type === PT_PSFB && count === FMT_PLI) out.push({ type: 'pli', mediaSsrc });
      else if (type === PT_PSFB && count === FMT_FIR) {
        // FCI entries: SSRC, sequence number, reserved (8 bytes each).
        const ssrcs: number[] = [];
        for (let at = offset + 12; at + 8 <= end; at += 8) ssrcs.push(view.getUint32(at));
        out.push({ type: 'fir', ssrcs });
      } else if (type === PT_RTPFB && count === FMT_NACK) {
        // FCI entries: PID and a bitmask of the 16 following lost packets (BLP).
        const lost: number[] = [];
        for (let at = offset + 12; at + 4 <= end; at += 4) {
          const pid = view.getUint16(at);
          const blp = view.getUint16(at + 2);
          lost.push(pid);
          for (let bit = 0; bit < 16; bit += 1) if (blp & (1 << bit)) lost.push((pid + bit + 1) & 0xffff);
        }
        out.push({ type: 'nack', mediaSsrc, lost });
      }
    }
    offset = end;
  }
  return out;
}

export interface SenderReportFields {
  ssrc: number;
  /** Wall-clock time the report describes, ms since 1970. */
  wallTimeMs: number;
  /** RTP timestamp of the same instant. */
  rtpTimestamp: number;
  packetCount: number;
  /** Payload octets sent (RFC 3550 §6.4.1: headers and padding excluded). */
  octetCount: number;
  cname: string;
}

/** A compound RTCP packet: SR without report blocks, then SDES with the CNAME (RFC 3550 §6.1). */
export function buildSenderReport(fields: SenderReportFields): Buffer {
  const cname = Buffer.from(fields.cname, 'utf8').subarray(0, 255);
  // SDES chunk: SSRC, CNAME item (type, length, text), then at least one null octet up to a
  // 32-bit boundary (RFC 3550 §6.5).
  const chunkBytes = Math.ceil((4 + 2 + cname.length + 1) / 4) * 4;
  const out = Buffer.alloc(28 + 4 + chunkBytes);
  out[0] = 0x80;
  out[1] = PT_SR;
  out.writeUInt16BE(6, 2);
  out.writeUInt32BE(fields.ssrc >>> 0, 4);
  const seconds = fields.wallTimeMs / 1000 + NTP_EPOCH_OFFSET;
  const whole = Math.floor(seconds);
  out.writeUInt32BE(whole >>> 0, 8);
  out.writeUInt32BE(Math.min(0xffffffff, Math.floor((seconds - whole) * 2 ** 32)) >>> 0, 12);
  out.writeUInt32BE(fields.rtpTimestamp >>> 0, 16);
  out.writeUInt32BE(fields.packetCount >>> 0, 20);
  out.writeUInt32BE(fields.octetCount >>> 0, 24);
  out[28] = 0x81;
  out[29] = PT_SDES;
  out.writeUInt16BE((4 + chunkBytes) / 4 - 1, 30);
  out.writeUInt32BE(fields.ssrc >>> 0, 32);
  out[36] = 1;
  out[37] = cname.length;
  cname.copy(out, 38);
  return out;
}
