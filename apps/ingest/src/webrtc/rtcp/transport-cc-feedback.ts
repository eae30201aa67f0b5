/**
 * Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01
 * §3.1): a transport-layer feedback (PT 205, FMT 15) in which the receiver lists, for a range of
 * transport-wide sequence numbers (the header extension of §2, one counter across all SSRCs of
 * the transport), which packets arrived and when. The sender compares arrival spacing with its
 * own send spacing: the delay-based half of send-side bandwidth estimation.
 *
 *   base sequence number (16) | packet status count (16)
 *   reference time (24, signed, × 64 ms) | feedback packet count (8)
 *   packet chunks (16 bits each) … | receive deltas (8 or 16 bits each, × 250 µs) … | padding
 *
 * Chunks (§3.1.3, §3.1.4): a run-length chunk (T = 0: a 2-bit status and a 13-bit run), or a
 * status vector chunk (T = 1) of 14 one-bit symbols (S = 0) or 7 two-bit symbols (S = 1).
 * Symbols: 0 not received, 1 received with a small delta (1 byte, unsigned), 2 received with a
 * large or negative delta (2 bytes, signed); 3 is reserved and refused.
 */
import { RTCP_RTPFB, type RtcpPacketView, writeRtcpHeader } from './rtcp-header';

export const FMT_TRANSPORT_CC = 15;
/** More statuses than any real feedback carries (Chrome sends one per ~100 ms, a few hundred packets at most): a bound on what a stranger's packet can make us build. */
export const MAX_TRANSPORT_CC_STATUSES = 4096;

const NOT_RECEIVED = 0;
const SMALL_DELTA = 1;
const LARGE_DELTA = 2;
const DELTA_UNIT_US = 250;
const REFERENCE_UNIT_US = 64_000;

export interface TransportCcPacketStatus {
  /** Transport-wide sequence number (16 bits). */
  sequence: number;
  /** Arrival time in µs on the receiver's clock (reference time + deltas), or null: not received. */
  receivedAtUs: number | null;
}

export interface TransportCcFeedback {
  type: 'transport-cc';
  senderSsrc: number;
  mediaSsrc: number;
  /** Feedback packet count (8 bits): tells a lost feedback packet. */
  feedbackCount: number;
  baseSequence: number;
  /** Reference time, µs on the receiver's clock (signed 24 bits × 64 ms). */
  referenceTimeUs: number;
  packets: TransportCcPacketStatus[];
}

export function decodeTransportCcFeedback({ type, count, packet }: RtcpPacketView): TransportCcFeedback | undefined {
  if (type !== RTCP_RTPFB || count !== FMT_TRANSPORT_CC || packet.byteLength < 20) return undefined;
  const baseSequence = packet.getUint16(12);
  const statusCount = packet.getUint16(14);
  if (statusCount > MAX_TRANSPORT_CC_STATUSES) return undefined;
  const referenceWord = packet.getUint32(16);
  const reference = referenceWord >>> 8;
  const referenceTimeUs = (reference & 0x800000 ? reference - 0x1000000 : reference) * REFERENCE_UNIT_US;
  const symbols = new Uint8Array(statusCount);
  let at = 20;
  let filled = 0;
  while (filled < statusCount) {
    if (at + 2 > packet.byteLength) return undefined;
    const chunk = packet.getUint16(at);
    at += 2;
    if ((chunk & 0x8000) === 0) {
      const status = (chunk >> 13) & 0x3;
      const run = chunk & 0x1fff;
      if (status === 3 || run === 0) return undefined;
      const end = Math.min(statusCount, filled + run);
      symbols.fill(status, filled, end);
      filled = end;
    } else if ((chunk & 0x4000) === 0) {
      for (let bit = 13; bit >= 0 && filled < statusCount; bit -= 1) symbols[filled++] = (chunk >> bit) & 1;
    } else {
      for (let pair = 6; pair >= 0 && filled < statusCount; pair -= 1) {
        const status = (chunk >> (pair * 2)) & 0x3;
        if (status === 3) return undefined;
        symbols[filled++] = status;
      }
    }
  }
  const packets: TransportCcPacketStatus[] = new Array(statusCount);
  let timeUs = referenceTimeUs;
  for (let i = 0; i < statusCount; i += 1) {
    const symbol = symbols[i]!;
    let receivedAtUs: number | null = null;
    if (symbol === SMALL_DELTA) {
      if (at + 1 > packet.byteLength) return undefined;
      timeUs += packet.getUint8(at) * DELTA_UNIT_US;
      at += 1;
      receivedAtUs = timeUs;
    } else if (symbol === LARGE_DELTA) {
      if (at + 2 > packet.byteLength) return undefined;
      timeUs += packet.getInt16(at) * DELTA_UNIT_US;
      at += 2;
      receivedAtUs = timeUs;
    }
    packets[i] = { sequence: (baseSequence + i) & 0xffff, receivedAtUs };
  }
  return { type: 'transport-cc', senderSsrc: packet.getUint32(4), mediaSsrc: packet.getUint32(8), feedbackCount: referenceWord & 0xff, baseSequence, referenceTimeUs, packets };
}

/**
 * Feedback for consecutive sequence numbers from `baseSequence` (what a receiver would send; for
 * tests and simulated links). Arrival times are rounded to the 250 µs grid; a gap from the
 * previous arrival outside −8192…8191.75 ms cannot be said and throws.
 */
export function encodeTransportCcFeedback(fields: Omit<TransportCcFeedback, 'type' | 'packets'> & { packets: Array<{ receivedAtUs: number | null }> }): Uint8Array {
  const { packets } = fields;
  const reference = Math.floor(fields.referenceTimeUs / REFERENCE_UNIT_US);
  const symbols: number[] = [];
  const deltas: number[] = [];
  let timeUs = reference * REFERENCE_UNIT_US;
  for (const { receivedAtUs } of packets) {
    if (receivedAtUs === null) {
      symbols.push(NOT_RECEIVED);
      continue;
    }
    const delta = Math.round((receivedAtUs - timeUs) / DELTA_UNIT_US);
    if (delta < -0x8000 || delta > 0x7fff) throw new RangeError(`receive delta ${delta * DELTA_UNIT_US} µs cannot be encoded`);
    timeUs += delta * DELTA_UNIT_US;
    symbols.push(delta >= 0 && delta <= 0xff ? SMALL_DELTA : LARGE_DELTA);
    deltas.push(delta);
  }
  const chunks: number[] = [];
  for (let i = 0; i < symbols.length; ) {
    let run = 1;
    while (i + run < symbols.length && symbols[i + run] === symbols[i] && run < 0x1fff) run += 1;
    if (run >= 7) {
      chunks.push((symbols[i]! << 13) | run);
      i += run;
      continue;
    }
    let chunk = 0xc000;
    for (let pair = 6; pair >= 0; pair -= 1, i += 1) if (i < symbols.length) chunk |= symbols[i]! << (pair * 2);
    chunks.push(chunk);
  }
  const deltaBytes = deltas.reduce((sum, delta) => sum + (delta >= 0 && delta <= 0xff ? 1 : 2), 0);
  const body = 20 + chunks.length * 2 + deltaBytes;
  const total = Math.ceil(body / 4) * 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  writeRtcpHeader(view, RTCP_RTPFB, FMT_TRANSPORT_CC, total);
  view.setUint32(4, fields.senderSsrc >>> 0);
  view.setUint32(8, fields.mediaSsrc >>> 0);
  view.setUint16(12, fields.baseSequence & 0xffff);
  view.setUint16(14, packets.length);
  view.setUint32(16, (((reference & 0xffffff) << 8) | (fields.feedbackCount & 0xff)) >>> 0);
  let at = 20;
  for (const chunk of chunks) {
    view.setUint16(at, chunk);
    at += 2;
  }
  for (const delta of deltas) {
    if (delta >= 0 && delta <= 0xff) view.setUint8(at++, delta);
    else {
      view.setInt16(at, delta);
      at += 2;
    }
  }
  return out;
}
