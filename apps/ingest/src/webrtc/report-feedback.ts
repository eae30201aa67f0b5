/**
 * A viewer's reception report block (RFC 3550 §6.4.1) about one of our tracks, turned into the
 * `ViewerFeedback` the rate controller reads — the same way for every viewer engine, from what the
 * engine remembers of its own sending: when each recent packet left and the payload octets up to
 * it (a SendLog, or the ring the libdatachannel engine answers NACKs from), our payload octets so far, when the last packet left, and our last sender reports.
 * Pure: the caller passes the clock (performance.now).
 */
import type { MediaKind, ViewerFeedback } from './engine';
import type { RtcpMessage } from './rtcp/parse-rtcp';
import type { ReportBlock } from './rtcp/receiver-report';

/** When a recent packet left and the track's payload octets up to and including it. */
export interface SentPackets {
  /** `sequenceNumber`: its low 16 bits count (a report's is extended); undefined when no longer kept. */
  sent(sequenceNumber: number): { at: number; octets: number } | undefined;
}

/**
 * When each of a track's last `capacity` packets left and the track's payload octets up to and
 * including it, by sequence number, in typed arrays (no object per packet: this is on the send
 * path of every viewer).
 */
export class SendLog implements SentPackets {
  /** The 16-bit sequence number held in each slot; -1: none yet. */
  private readonly seq: Int32Array;
  private readonly sentAt: Float64Array;
  private readonly octetsUpTo: Float64Array;

  constructor(private readonly capacity: number) {
    this.seq = new Int32Array(capacity).fill(-1);
    this.sentAt = new Float64Array(capacity);
    this.octetsUpTo = new Float64Array(capacity);
  }

  record(sequenceNumber: number, sentAt: number, octetsUpTo: number): void {
    const seq = sequenceNumber & 0xffff;
    const slot = seq % this.capacity;
    this.seq[slot] = seq;
    this.sentAt[slot] = sentAt;
    this.octetsUpTo[slot] = octetsUpTo;
  }

  /** When `sequenceNumber` (its low 16 bits: a report's is extended) left and the payload octets sent up to it; undefined when no longer kept. */
  sent(sequenceNumber: number): { at: number; octets: number } | undefined {
    const seq = sequenceNumber & 0xffff;
    const slot = seq % this.capacity;
    return this.seq[slot] === seq ? { at: this.sentAt[slot]!, octets: this.octetsUpTo[slot]! } : undefined;
  }
}

/** One of our sender reports: the middle 32 bits of the NTP time it carried (what a receiver echoes as LSR) and when it left (same clock as `now`). */
export interface SentSenderReport {
  ntp: number;
  sentAt: number;
}

/** What an engine knows of one of its send tracks when a report about it arrives. */
export interface TrackSending {
  /** Our SSRC: what a report block names. */
  ssrc: number;
  kind: MediaKind;
  clockRate: number;
  /** Our payload octets of this track sent so far. */
  payloadOctets: number;
  /** When the last packet of the track left (same clock as `now`). */
  lastPacketAt: number;
  /** Recent packets (a SendLog, or a ring that also keeps them for NACKs); undefined: the engine keeps none for this track (behindMs and deliveredOctets are then null). */
  history: SentPackets | undefined;
  /** Our recent sender reports, oldest first. */
  senderReports: readonly SentSenderReport[];
}

/**
 * RFC 3550 §6.4.1: the round trip is the time since the sender report the block echoes (LSR)
 * left, less the receiver's hold of it (DLSR, 1/65536 s); null when it echoes none we remember
 * (LSR 0: it has had none yet). The newest match wins: an engine whose reports repeat an NTP time
 * (werift's, when no packet left between two) is echoed about the last one the receiver got.
 */
export function reportRoundTripMs(block: ReportBlock, senderReports: readonly SentSenderReport[], now: number): number | null {
  if (block.lastSenderReport === 0) return null;
  for (let i = senderReports.length - 1; i >= 0; i -= 1) {
    const report = senderReports[i]!;
    if (report.ntp === block.lastSenderReport) return Math.max(0, now - report.sentAt - (block.delaySinceLastSenderReport * 1000) / 65_536);
  }
  return null;
}

/**
 * The block as feedback. How far the receiver is behind our sending: from when the packet of its
 * highest sequence number left to when our latest did; and the octets it got, counted at our end
 * (ViewerFeedback's `behindMs`, `deliveredOctets`, `sentOctets`).
 */
export function reportFeedback(track: TrackSending, block: ReportBlock, now: number): ViewerFeedback {
  const newest = track.history?.sent(block.highestSequence);
  return {
    type: 'report',
    kind: track.kind,
    fractionLost: block.fractionLost,
    cumulativeLost: block.cumulativeLost,
    highestSequence: block.highestSequence,
    jitterMs: (block.jitter * 1000) / track.clockRate,
    rttMs: reportRoundTripMs(block, track.senderReports, now),
    behindMs: newest ? Math.max(0, track.lastPacketAt - newest.at) : null,
    deliveredOctets: newest ? newest.octets : null,
    sentOctets: track.payloadOctets,
  };
}

/**
 * What one RTCP message of a viewer tells the rate controller: a feedback per report block about
 * one of `tracks` (an RR, or an SR's blocks; with BUNDLE a block may name any of them), or its
 * REMB. Other messages (NACK, PLI, FIR, …) say nothing about the path here.
 */
export function viewerFeedback(message: RtcpMessage, tracks: readonly TrackSending[], now: number): ViewerFeedback[] {
  if (message.type === 'remb') return [{ type: 'remb', bitrate: message.bitrate }];
  if (message.type !== 'report') return [];
  const out: ViewerFeedback[] = [];
  for (const block of message.blocks) {
    const track = tracks.find((t) => t.ssrc === block.ssrc);
    if (track) out.push(reportFeedback(track, block, now));
  }
  return out;
}
