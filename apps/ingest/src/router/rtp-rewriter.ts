/**
 * Per-viewer RTP header rewriting (pure; werift's `process(input) → output` style).
 *
 * A viewer sees one continuous RTP stream per kind, whatever happens upstream: its own SSRC and
 * payload type, sequence numbers that go on by one across a publisher switch, and timestamps
 * that advance by the wall-clock time between the last packet of the old source and the first
 * packet of the new one. A new source is recognised by its SSRC.
 *
 * Packets the router receives but does not forward (a publisher's padding-only probes: Chrome
 * without RTX sends them on the media SSRC, numbered in the media sequence) are `skip`ped: they
 * are taken out of the viewer's numbering, so the viewer sees no hole. A hole is not harmless:
 * the viewer counts it lost, NACKs what never existed, and libwebrtc's H.264 frame-continuity
 * check holds every later frame until a keyframe it asks for itself (~3 s of frozen video).
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
  /**
   * Audio: a new source's first packet starts at least one packet (the last timestamp step) after
   * the previous one, even when it follows it sooner — two audio frames must not overlap.
   */
  noOverlap?: boolean;
}

const SEQ_MOD = 0x10000;
const TS_MOD = 0x100000000;

/** Signed distance a→b in a circular space of `mod` (RFC 3550 A.1 style serial arithmetic). */
export function serialDiff(a: number, b: number, mod: number): number {
  let diff = (b - a) % mod;
  if (diff < 0) diff += mod;
  return diff >= mod / 2 ? diff - mod : diff;
}

/** Skipped input packets further back than this (in packets) are forgotten; older input is dropped. */
const SKIP_WINDOW = 0x1000;

export class RtpRewriter {
  private sourceSsrc: number | undefined;
  /** Output = extended input sequence number + seqOffset − skipped packets before it. */
  private seqOffset = 0;
  private tsOffset = 0;
  /** Highest extended input sequence number of the current source. */
  private highestExt = 0;
  private lastOutSeq: number | undefined;
  private lastOutTs: number | undefined;
  /** The last positive timestamp step between output packets: one packet's duration, for `noOverlap`. */
  private lastOutStep = 0;
  private lastArrivalMs = 0;
  /** Extended input sequence number the current source was re-based on; older packets are dropped. */
  private baseExt = 0;
  /** Skipped extended input sequence numbers within SKIP_WINDOW of the highest, ascending. */
  private skipped: number[] = [];
  /** Skipped packets forgotten from `skipped` (all before `forgottenUpTo`). */
  private forgotten = 0;
  private forgottenUpTo = 0;

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
    let ext: number;
    if (input.ssrc !== this.sourceSsrc) ext = this.rebase(input, arrivalMs);
    else {
      ext = this.extend(input.sequenceNumber);
      if (ext < this.baseExt || ext < this.forgottenUpTo) return false;
      if (ext > this.highestExt) this.highestExt = ext;
    }
    const sequenceNumber = (((ext + this.seqOffset - this.skippedBefore(ext)) % SEQ_MOD) + SEQ_MOD) % SEQ_MOD;
    const timestamp = (input.timestamp + this.tsOffset) % TS_MOD;
    if (this.lastOutSeq === undefined || serialDiff(this.lastOutSeq, sequenceNumber, SEQ_MOD) > 0) {
      const step = this.lastOutTs === undefined ? 0 : serialDiff(this.lastOutTs, timestamp, TS_MOD);
      if (step > 0) this.lastOutStep = step;
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

  /**
   * An input packet of the current source that is not forwarded (padding-only probe, another
   * payload type): the output numbering closes over it. Only a packet newer than every packet
   * seen so far can be taken out (older output numbers are already on the wire); an older one
   * stays a hole. A packet of another source, or before the first source, changes nothing.
   */
  skip(input: { ssrc: number; sequenceNumber: number }): void {
    if (input.ssrc !== this.sourceSsrc) return;
    const ext = this.extend(input.sequenceNumber);
    if (ext <= this.highestExt) return;
    this.highestExt = ext;
    this.skipped.push(ext);
    while (this.skipped.length > 0 && this.skipped[0]! < ext - SKIP_WINDOW) {
      this.forgottenUpTo = this.skipped.shift()! + 1;
      this.forgotten += 1;
    }
  }

  /** The next packet starts a new source even if its SSRC is unchanged (e.g. a reconnect reusing SSRCs). */
  reset(): void {
    this.sourceSsrc = undefined;
  }

  /** 16-bit input sequence number → extended, nearest to the highest seen. */
  private extend(seq: number): number {
    return this.highestExt + serialDiff(this.highestExt % SEQ_MOD, seq, SEQ_MOD);
  }

  private skippedBefore(ext: number): number {
    const list = this.skipped;
    let i = list.length;
    while (i > 0 && list[i - 1]! >= ext) i -= 1;
    return this.forgotten + i;
  }

  /** Starts the current source at `input`; returns its extended sequence number. */
  private rebase(input: RtpHeaderFields, arrivalMs: number): number {
    this.sourceSsrc = input.ssrc;
    // Extended numbers start one cycle up, so "before the base" stays non-negative arithmetic.
    const ext = SEQ_MOD + input.sequenceNumber;
    this.baseExt = ext;
    this.highestExt = ext;
    this.skipped = [];
    this.forgotten = 0;
    this.forgottenUpTo = 0;
    if (this.lastOutSeq === undefined || this.lastOutTs === undefined) {
      // First source: start where it starts (its values are random already, RFC 3550 §5.1).
      this.seqOffset = -SEQ_MOD;
      this.tsOffset = 0;
      return ext;
    }
    const nextSeq = (this.lastOutSeq + 1) % SEQ_MOD;
    const elapsedTicks = Math.max(1, Math.round(((arrivalMs - this.lastArrivalMs) * this.options.clockRate) / 1000), this.options.noOverlap ? this.lastOutStep : 0);
    const nextTs = (this.lastOutTs + elapsedTicks) % TS_MOD;
    this.seqOffset = nextSeq - ext;
    this.tsOffset = (nextTs - input.timestamp + TS_MOD) % TS_MOD;
    return ext;
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
