/**
 * RTP payloads of one H.264 access unit, RFC 6184 packetization-mode 1 (non-interleaved, §6.3),
 * the mode WebRTC receivers and ffmpeg take: a NAL unit that fits is sent as it is (single NAL
 * unit packet, §5.6), the parameter sets before a picture share one STAP-A (§5.7.1), a NAL unit
 * that does not fit is cut into FU-A fragments (§5.8). The marker bit is set on the last packet
 * of the access unit (§5.1). Pure: NAL units in, payloads out, each in a buffer of its own.
 */
import { H264_NAL, nalType } from './h264-annexb';

export const RTP_MAX_PAYLOAD = 1200;
const STAP_A = 24;
const FU_A = 28;

export interface RtpPayload {
  payload: Buffer;
  marker: boolean;
}

export type DroppedNalReason = 'access_unit_delimiter' | 'filler_data' | 'reserved_type';

export interface PacketizedAccessUnit {
  packets: RtpPayload[];
  dropped: Array<{ type: number; reason: DroppedNalReason }>;
}

/**
 * Why a NAL unit is not sent:
 * - an access unit delimiter (9) marks access unit boundaries in a byte stream; RTP marks them
 *   with the marker bit and the timestamp (§5.1), and WebRTC senders do not send them;
 * - filler data (12) pads a constant bit rate: bandwidth spent on nothing;
 * - types 0 and 24–31 are not NAL unit types H.264 defines, and in an RTP payload they would be
 *   read as aggregation or fragmentation packets (§5.2).
 */
function dropReason(type: number): DroppedNalReason | undefined {
  if (type === H264_NAL.aud) return 'access_unit_delimiter';
  if (type === H264_NAL.filler) return 'filler_data';
  if (type === 0 || type >= 24) return 'reserved_type';
  return undefined;
}

function isParameterSet(nal: Uint8Array): boolean {
  const type = nalType(nal);
  return type === H264_NAL.sps || type === H264_NAL.pps;
}

/**
 * `nals`: the access unit's NAL units without start codes (non-empty; emulation prevention bytes
 * in place). `maxPayloadSize`: bytes of RTP payload per packet (default 1200, which leaves room
 * for the RTP header, header extensions and SRTP within a 1280-byte IPv6 minimum MTU).
 */
export function packetizeH264(nals: Uint8Array[], maxPayloadSize = RTP_MAX_PAYLOAD): PacketizedAccessUnit {
  if (!Number.isInteger(maxPayloadSize) || maxPayloadSize < 3 || maxPayloadSize > 0xffff) throw new RangeError(`maxPayloadSize ${maxPayloadSize} is not in 3…65535`);
  const dropped: PacketizedAccessUnit['dropped'] = [];
  const kept: Uint8Array[] = [];
  for (const nal of nals) {
    if (nal.length === 0) continue;
    const reason = dropReason(nalType(nal));
    if (reason) dropped.push({ type: nalType(nal), reason });
    else kept.push(nal);
  }
  const packets: RtpPayload[] = [];
  for (let i = 0; i < kept.length; ) {
    // A run of SPS/PPS goes out in one STAP-A when at least two fit: a receiver then has the
    // parameter sets and the picture's first packet together, and codec-probe sees the SPS.
    let size = 1;
    let end = i;
    while (end < kept.length && isParameterSet(kept[end]!) && size + 2 + kept[end]!.length <= maxPayloadSize) {
      size += 2 + kept[end]!.length;
      end += 1;
    }
    if (end - i >= 2) {
      packets.push({ payload: stapA(kept.slice(i, end), size), marker: false });
      i = end;
      continue;
    }
    const nal = kept[i]!;
    if (nal.length <= maxPayloadSize) packets.push({ payload: copy(nal), marker: false });
    else for (const payload of fuA(nal, maxPayloadSize)) packets.push({ payload, marker: false });
    i += 1;
  }
  const last = packets[packets.length - 1];
  if (last) last.marker = true;
  return { packets, dropped };
}

/** §5.7.1: F is the OR of the NAL units' F bits, NRI their maximum; then 16-bit size + NAL unit each. */
function stapA(nals: Uint8Array[], size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let f = 0;
  let nri = 0;
  let offset = 1;
  for (const nal of nals) {
    f |= nal[0]! & 0x80;
    nri = Math.max(nri, nal[0]! & 0x60);
    out.writeUInt16BE(nal.length, offset);
    out.set(nal, offset + 2);
    offset += 2 + nal.length;
  }
  out[0] = f | nri | STAP_A;
  return out;
}

/**
 * §5.8: FU indicator (the NAL header's F and NRI, type 28), FU header (S, E, R = 0, the NAL
 * type), then a piece of the NAL unit after its header. Pieces are of equal size (±1 byte), so
 * no packet of the picture is a tiny tail.
 */
function fuA(nal: Uint8Array, maxPayloadSize: number): Buffer[] {
  const indicator = (nal[0]! & 0xe0) | FU_A;
  const type = nal[0]! & 0x1f;
  const body = nal.subarray(1);
  const count = Math.ceil(body.length / (maxPayloadSize - 2));
  const base = Math.floor(body.length / count);
  const larger = body.length % count;
  const out: Buffer[] = [];
  let offset = 0;
  for (let k = 0; k < count; k += 1) {
    const length = base + (k < larger ? 1 : 0);
    const packet = Buffer.allocUnsafe(2 + length);
    packet[0] = indicator;
    packet[1] = (k === 0 ? 0x80 : 0) | (k === count - 1 ? 0x40 : 0) | type;
    packet.set(body.subarray(offset, offset + length), 2);
    offset += length;
    out.push(packet);
  }
  return out;
}

function copy(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  out.set(bytes);
  return out;
}
