/**
 * One UDP datagram of a rendition set, decoded (pure; never throws). The transcoder's ffmpeg sends
 * every rendition's RTP and its RTCP to one port (rtcp-mux, RFC 5761), so a datagram is either:
 * - RTP (RFC 3550 §5.1): fixed header, CSRC list, header extension (§5.3.1) and padding taken
 *   off; a padding-only packet decodes with an empty payload.
 * - RTCP (RFC 3550 §6): told apart by its second byte, the payload type, in 192–223 (RFC 5761 §4:
 *   RTP payload types there would collide); sender reports (§6.4.1) are read, other packets of
 *   the compound skipped.
 * Anything else (wrong version, lengths that overrun the datagram) decodes to `undefined`.
 */

export interface RtpPacketFields {
  type: 'rtp';
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
  payloadType: number;
  marker: boolean;
  /** The payload, a view into the datagram (no copy). */
  payload: Buffer;
  /** Size on the wire (the datagram), bytes. */
  size: number;
}

/** RFC 3550 §6.4.1: the sender's wall clock (NTP) against its RTP clock at one instant. */
export interface SenderReportFields {
  ssrc: number;
  /** NTP timestamp as Unix time, ms (fractional). */
  ntpMs: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

export interface RtcpPacketFields {
  type: 'rtcp';
  senderReports: SenderReportFields[];
}

export type RtpDatagram = RtpPacketFields | RtcpPacketFields;

const RTCP_SR = 200;
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

export function decodeRtpDatagram(datagram: Buffer): RtpDatagram | undefined {
  if (datagram.length < 4 || datagram[0]! >> 6 !== 2) return undefined;
  const second = datagram[1]!;
  if (second >= 192 && second <= 223) return decodeRtcp(datagram);
  return decodeRtp(datagram);
}

function decodeRtp(datagram: Buffer): RtpPacketFields | undefined {
  if (datagram.length < 12) return undefined;
  const first = datagram[0]!;
  let offset = 12 + 4 * (first & 0x0f);
  if (first & 0x10) {
    // §5.3.1: 16-bit profile-defined id, 16-bit length in 32-bit words, then the words.
    if (offset + 4 > datagram.length) return undefined;
    offset += 4 + 4 * datagram.readUInt16BE(offset + 2);
  }
  let end = datagram.length;
  if (first & 0x20) {
    // §5.1: the last octet counts the padding octets, itself included.
    const padding = datagram[end - 1]!;
    if (padding === 0) return undefined;
    end -= padding;
  }
  if (offset > end) return undefined;
  return {
    type: 'rtp',
    ssrc: datagram.readUInt32BE(8),
    sequenceNumber: datagram.readUInt16BE(2),
    timestamp: datagram.readUInt32BE(4),
    payloadType: datagram[1]! & 0x7f,
    marker: (datagram[1]! & 0x80) !== 0,
    payload: datagram.subarray(offset, end),
    size: datagram.length,
  };
}

function decodeRtcp(datagram: Buffer): RtcpPacketFields | undefined {
  const senderReports: SenderReportFields[] = [];
  let offset = 0;
  // Every packet of a compound has the same 4-byte header; its length is in 32-bit words minus one.
  while (offset + 4 <= datagram.length) {
    if (datagram[offset]! >> 6 !== 2) return undefined;
    const length = 4 * (datagram.readUInt16BE(offset + 2) + 1);
    if (offset + length > datagram.length) return undefined;
    if (datagram[offset + 1] === RTCP_SR && length >= 28) {
      const seconds = datagram.readUInt32BE(offset + 8);
      const fraction = datagram.readUInt32BE(offset + 12);
      senderReports.push({
        ssrc: datagram.readUInt32BE(offset + 4),
        ntpMs: (seconds - NTP_UNIX_OFFSET_S) * 1000 + (fraction / 0x100000000) * 1000,
        rtpTimestamp: datagram.readUInt32BE(offset + 16),
        packetCount: datagram.readUInt32BE(offset + 20),
        octetCount: datagram.readUInt32BE(offset + 24),
      });
    }
    offset += length;
  }
  return offset === datagram.length ? { type: 'rtcp', senderReports } : undefined;
}
