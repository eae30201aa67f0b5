/**
 * Per-viewer RTP header rewriting (pure; werift's `process(input) → output` style).
 *
 * A viewer sees one continuous RTP stream per kind, whatever happens upstream: its own SSRC and
 * payload type, sequence numbers that go on by one across a publisher switch, and timestamps
 * that advance by the wall-clock time between the last packet of the old source and the first
 * packet of the new one. A new source is recognised by its SSRC.
 */

export interface RtpHeaderFields {
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payloadType: number;
}

export interface RewriterOptions {
  /** SSRC the viewer's sender announced. */
  ssrc: number;
  /** Payload type the viewer negotiated for this codec. */
  payloadType: number;
  /** RTP clock rate, Hz (90000 video, 48000 opus). */
  clockRate: number;
}

const SEQ_MOD = 0x10000;
const TS_MOD = 0x100000000;

/** Signed distance a→b in a circular space of `mod` (RFC 3550 A.1 style serial arithmetic). */
export function serialDiff(a: number, b: number, mod: number): number {
  let diff = (b - a) % mod;
  if (diff < 0) diff += mod;
  return diff >= mod / 2 ? diff - mod : diff;
}

export class RtpRewriter {
  private sourceSsrc: number | undefined;
  private seqOffset = 0;
  private tsOffset = 0;
  /** Highest input sequence number of the current source (serial order). */
  private highestInSeq = 0;
  private lastOutSeq: number | undefined;
  private lastOutTs: number | undefined;
  private lastArrivalMs = 0;
  /** Input sequence number the current source was re-based on; older packets are dropped. */
  private baseInSeq = 0;

  constructor(private readonly options: RewriterOptions) {}

  /**
   * Returns the rewritten header for one input packet, or `undefined` when the packet must be
   * dropped (it precedes the point where the current source was joined). `arrivalMs` is the
   * receive time, used only to advance timestamps across a source switch.
   */
  process(input: RtpHeaderFields, arrivalMs: number): RtpHeaderFields | undefined {
    const out = { sequenceNumber: 0, timestamp: 0, ssrc: 0, payloadType: 0 };
    return this.rewrite(input, arrivalMs, out) ? out : undefined;
  }

  /**
   * `process` without allocating: writes the rewritten fields into `out` (the fan-out reuses one
   * object for every viewer of a packet) and returns false when the packet must be dropped.
   */
  rewrite(input: RtpHeaderFields, arrivalMs: number, out: RtpHeaderFields): boolean {
    if (input.ssrc !== this.sourceSsrc) this.rebase(input, arrivalMs);
    else if (serialDiff(this.baseInSeq, input.sequenceNumber, SEQ_MOD) < 0) return false;
    if (serialDiff(this.highestInSeq, input.sequenceNumber, SEQ_MOD) > 0) this.highestInSeq = input.sequenceNumber;
    const sequenceNumber = (input.sequenceNumber + this.seqOffset) % SEQ_MOD;
    const timestamp = (input.timestamp + this.tsOffset) % TS_MOD;
    if (this.lastOutSeq === undefined || serialDiff(this.lastOutSeq, sequenceNumber, SEQ_MOD) > 0) {
      this.lastOutSeq = sequenceNumber;
      this.lastOutTs = timestamp;
      this.lastArrivalMs = arrivalMs;
    }
    out.sequenceNumber = sequenceNumber;
    out.timestamp = timestamp;
    out.ssrc = this.options.ssrc;
    out.payloadType = this.options.payloadType;
    return true;
  }

  /** The next packet starts a new source even if its SSRC is unchanged (e.g. a reconnect reusing SSRCs). */
  reset(): void {
    this.sourceSsrc = undefined;
  }

  private rebase(input: RtpHeaderFields, arrivalMs: number): void {
    this.sourceSsrc = input.ssrc;
    this.baseInSeq = input.sequenceNumber;
    this.highestInSeq = input.sequenceNumber;
    if (this.lastOutSeq === undefined || this.lastOutTs === undefined) {
      // First source: start where it starts (its values are random already, RFC 3550 §5.1).
      this.seqOffset = 0;
      this.tsOffset = 0;
      return;
    }
    const nextSeq = (this.lastOutSeq + 1) % SEQ_MOD;
    const elapsedTicks = Math.max(1, Math.round(((arrivalMs - this.lastArrivalMs) * this.options.clockRate) / 1000));
    const nextTs = (this.lastOutTs + elapsedTicks) % TS_MOD;
    this.seqOffset = (nextSeq - input.sequenceNumber + SEQ_MOD) % SEQ_MOD;
    this.tsOffset = (nextTs - input.timestamp + TS_MOD) % TS_MOD;
  }
}

/**
 * Serializes one outbound packet: a 12-byte RTP header (V=2, no padding, no extensions, no
 * CSRCs) and the payload, into a new buffer (plain-RTP sinks and engines without their own
 * serializer).
 */
export function serializeRtp(packet: RtpHeaderFields & { marker: boolean; payload: Uint8Array }): Buffer {
  const out = Buffer.allocUnsafe(12 + packet.payload.length);
  out[0] = 0x80;
  out[1] = (packet.marker ? 0x80 : 0) | (packet.payloadType & 0x7f);
  out.writeUInt16BE(packet.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(packet.timestamp >>> 0, 4);
  out.writeUInt32BE(packet.ssrc >>> 0, 8);
  out.set(packet.payload, 12);
  return out;
}
