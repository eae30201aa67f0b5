/**
 * NACK retransmission for a viewer's video (RFC 4585 §6.2.1), pure: the ring of recently sent
 * packets it is answered from, and the pacing of the answers — a packet is resent at most once a
 * round trip (queue included), and resends stay within a share of what the viewer is sent.
 * Used by the libdatachannel engine, which answers NACKs itself (datachannel-engine.ts).
 */
import type { OutboundRtp } from './engine';

/**
 * Packets kept per video track for NACK retransmission: more than a keyframe (a 1080p keyframe
 * at 4–6 Mbps is 120–250 packets) plus a round trip. The ring holds references to payloads every
 * viewer shares, ~17 KB per viewer.
 */
export const RETRANSMIT_HISTORY = 1024;
/**
 * A packet resent this recently is not resent again for another NACK naming it (ms), nor within
 * the round trip the latest report measured, queue included: Chrome re-asks every ~100 ms (its
 * own RTT guess as a receive-only peer), and behind a 600 ms queue each lost packet went out
 * ~6 times, the resends filling the queue the viewer had just been moved down to drain (it stayed
 * at 600 ms for 3 s after the switch).
 */
export const RESEND_HOLDOFF_MS = 20;
/** At most this many retransmissions per viewer per second: a NACK is a few bytes, each answer ~1.2 KB. */
export const MAX_RETRANSMITS_PER_SECOND = 300;
/** …and resent bytes at most this share of the media bytes sent over the last second (a path that loses more is congested: more sending is more loss). */
export const MAX_RETRANSMIT_SHARE = 0.25;
/** …though always this many bytes a second (a few packets) on a path that sends little. */
export const MIN_RETRANSMIT_BYTES = 16_000;

/** The last RETRANSMIT_HISTORY packets of one track, by sequence number, without per-packet objects. */
export class RetransmitRing {
  private readonly seq = new Int32Array(RETRANSMIT_HISTORY).fill(-1);
  private readonly timestamp = new Uint32Array(RETRANSMIT_HISTORY);
  private readonly head = new Uint8Array(RETRANSMIT_HISTORY);
  private readonly resentAt = new Float64Array(RETRANSMIT_HISTORY);
  /** When each packet left (performance.now) and the track's payload octets up to and including it: a reception report's highest sequence number says how far behind the receiver is. */
  private readonly sentAt = new Float64Array(RETRANSMIT_HISTORY);
  private readonly octetsUpTo = new Float64Array(RETRANSMIT_HISTORY);
  private readonly payload: Array<Buffer | undefined> = new Array(RETRANSMIT_HISTORY);

  store(packet: OutboundRtp, sentAt: number, octetsUpTo: number): void {
    const slot = packet.sequenceNumber % RETRANSMIT_HISTORY;
    this.sentAt[slot] = sentAt;
    this.octetsUpTo[slot] = octetsUpTo;
    this.seq[slot] = packet.sequenceNumber & 0xffff;
    this.timestamp[slot] = packet.timestamp;
    this.head[slot] = (packet.marker ? 0x80 : 0) | (packet.payloadType & 0x7f);
    this.payload[slot] = packet.payload;
    this.resentAt[slot] = -Infinity;
  }

  /** True when `sequenceNumber` may be resent now: not resent within `holdoffMs`. */
  mayResend(sequenceNumber: number, now: number, holdoffMs: number): boolean {
    return now - this.resentAt[sequenceNumber % RETRANSMIT_HISTORY]! >= holdoffMs;
  }

  markResent(sequenceNumber: number, now: number): void {
    this.resentAt[sequenceNumber % RETRANSMIT_HISTORY] = now;
  }

  /** When `sequenceNumber` (its low 16 bits) left and the payload octets sent up to it; undefined when it is no longer kept. */
  sent(sequenceNumber: number): { at: number; octets: number } | undefined {
    const seq = sequenceNumber & 0xffff;
    const slot = seq % RETRANSMIT_HISTORY;
    return this.seq[slot] === seq ? { at: this.sentAt[slot]!, octets: this.octetsUpTo[slot]! } : undefined;
  }

  get(sequenceNumber: number, ssrc: number): OutboundRtp | undefined {
    const slot = sequenceNumber % RETRANSMIT_HISTORY;
    const payload = this.payload[slot];
    if (this.seq[slot] !== sequenceNumber || !payload) return undefined;
    return { sequenceNumber, timestamp: this.timestamp[slot]!, ssrc, payloadType: this.head[slot]! & 0x7f, marker: (this.head[slot]! & 0x80) !== 0, payload };
  }
}

/** A packet NACKed again within this long of its last resend is not resent (the resend may still be on its way), ms. */
export function resendHoldoffMs(roundTripMs: number): number {
  return Math.max(RESEND_HOLDOFF_MS, roundTripMs);
}

/** The per-viewer retransmission budget over one-second windows (MAX_RETRANSMITS_PER_SECOND, MAX_RETRANSMIT_SHARE). */
export class RetransmitBudget {
  private startedAt = -Infinity;
  private count = 0;
  private bytes = 0;
  private sentBytesAtStart = 0;
  private budgetBytes = MIN_RETRANSMIT_BYTES;

  /** Whether a resend of `bytes` may go now (and counts it when it may); `sentBytes`: every byte sent to the viewer so far. */
  allow(now: number, bytes: number, sentBytes: number): boolean {
    if (now - this.startedAt >= 1000) {
      // This second's byte budget: a share of what went out over the last one.
      const elapsed = now - this.startedAt;
      this.budgetBytes = Number.isFinite(elapsed) ? Math.max(MIN_RETRANSMIT_BYTES, ((sentBytes - this.sentBytesAtStart) * 1000 * MAX_RETRANSMIT_SHARE) / elapsed) : MIN_RETRANSMIT_BYTES;
      this.startedAt = now;
      this.sentBytesAtStart = sentBytes;
      this.count = 0;
      this.bytes = 0;
    }
    if (this.count >= MAX_RETRANSMITS_PER_SECOND || this.bytes + bytes > this.budgetBytes) return false;
    this.count += 1;
    this.bytes += bytes;
    return true;
  }
}
