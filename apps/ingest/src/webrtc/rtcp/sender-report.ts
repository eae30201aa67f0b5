/**
 * The sender report (RFC 3550 §6.4.1) onair sends for each track of a viewer: it maps the track's
 * RTP clock to a wall clock (NTP), which is how a player puts audio and video of one CNAME in sync,
 * and its NTP time comes back in the viewer's reception reports (LSR) for the round-trip time.
 */
import { RTCP_SDES, RTCP_SR } from './rtcp-header';

/** Seconds from 1900 (the NTP epoch) to 1970. */
const NTP_EPOCH_OFFSET = 2_208_988_800;

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

/** NTP timestamp of `wallTimeMs` as [seconds since 1900, 32-bit fraction]. */
function ntpOf(wallTimeMs: number): [number, number] {
  const seconds = wallTimeMs / 1000 + NTP_EPOCH_OFFSET;
  const whole = Math.floor(seconds);
  return [whole >>> 0, Math.min(0xffffffff, Math.floor((seconds - whole) * 2 ** 32)) >>> 0];
}

/** The middle 32 bits of the NTP timestamp of `wallTimeMs`: what a reception report's LSR echoes (§6.4.1). */
export function ntpMiddle32(wallTimeMs: number): number {
  const [seconds, fraction] = ntpOf(wallTimeMs);
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

/** A compound RTCP packet: SR without report blocks, then SDES with the CNAME (RFC 3550 §6.1). */
export function buildSenderReport(fields: SenderReportFields): Buffer {
  const cname = Buffer.from(fields.cname, 'utf8').subarray(0, 255);
  // SDES chunk: SSRC, CNAME item (type, length, text), then at least one null octet up to a
  // 32-bit boundary (RFC 3550 §6.5).
  const chunkBytes = Math.ceil((4 + 2 + cname.length + 1) / 4) * 4;
  const out = Buffer.alloc(28 + 4 + chunkBytes);
  out[0] = 0x80;
  out[1] = RTCP_SR;
  out.writeUInt16BE(6, 2);
  out.writeUInt32BE(fields.ssrc >>> 0, 4);
  const [seconds, fraction] = ntpOf(fields.wallTimeMs);
  out.writeUInt32BE(seconds, 8);
  out.writeUInt32BE(fraction, 12);
  out.writeUInt32BE(fields.rtpTimestamp >>> 0, 16);
  out.writeUInt32BE(fields.packetCount >>> 0, 20);
  out.writeUInt32BE(fields.octetCount >>> 0, 24);
  out[28] = 0x81;
  out[29] = RTCP_SDES;
  out.writeUInt16BE((4 + chunkBytes) / 4 - 1, 30);
  out.writeUInt32BE(fields.ssrc >>> 0, 32);
  out[36] = 1;
  out[37] = cname.length;
  cname.copy(out, 38);
  return out;
}
