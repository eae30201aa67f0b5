/**
 * Measures one incoming track from its packets (pure; time passed in): packets, bytes, bitrate
 * and frame rate over the last completed one-second window, and packets lost from sequence
 * gaps (RFC 3550 §A.3: expected − received over extended sequence numbers).
 */
export interface TrackMeterSnapshot {
  packets: number;
  bytes: number;
  bitrateKbps: number;
  fps: number | null;
  packetsLost: number;
}

const WINDOW_MS = 1000;

export class TrackMeter {
  private packets = 0;
  private bytes = 0;
  private baseSeq: number | undefined;
  private cycles = 0;
  private maxSeq = 0;
  private windowStart: number | undefined;
  private windowBytes = 0;
  private windowFirstTs: number | undefined;
  private windowLastTs: number | undefined;
  private windowFrames = 0;
  private bitrateKbps = 0;
  private fps: number | null = null;

  constructor(private readonly clockRate: number) {}

  /** One received packet: `size` bytes on the wire (header + payload). */
  record(packet: { sequenceNumber: number; timestamp: number }, size: number, nowMs: number): void {
    this.packets += 1;
    this.bytes += size;
    this.trackSequence(packet.sequenceNumber);
    if (this.windowStart === undefined) this.windowStart = nowMs;
    if (nowMs - this.windowStart >= WINDOW_MS) this.closeWindow(nowMs);
    this.windowBytes += size;
    if (packet.timestamp !== this.windowLastTs) {
      // A new RTP timestamp is a new frame (RFC 3550: all packets of a frame share it).
      this.windowFrames += 1;
      this.windowFirstTs ??= packet.timestamp;
      this.windowLastTs = packet.timestamp;
    }
  }

  /** A received packet without media (padding-only probe): counts for loss, not for rate or fps. */
  recordNoMedia(packet: { sequenceNumber: number }): void {
    this.packets += 1;
    this.trackSequence(packet.sequenceNumber);
  }

  snapshot(nowMs: number): TrackMeterSnapshot {
    const stale = this.windowStart === undefined || nowMs - this.windowStart > 3 * WINDOW_MS;
    const expected = this.baseSeq === undefined ? 0 : this.cycles + this.maxSeq - this.baseSeq + 1;
    return {
      packets: this.packets,
      bytes: this.bytes,
      bitrateKbps: stale ? 0 : this.bitrateKbps,
      fps: stale ? null : this.fps,
      packetsLost: Math.max(0, expected - this.packets),
    };
  }

  private trackSequence(seq: number): void {
    if (this.baseSeq === undefined) {
      this.baseSeq = seq;
      this.maxSeq = seq;
      return;
    }
    const delta = (seq - this.maxSeq + 0x10000) % 0x10000;
    if (delta > 0 && delta < 0x8000) {
      if (seq < this.maxSeq) this.cycles += 0x10000;
      this.maxSeq = seq;
    }
  }

  private closeWindow(nowMs: number): void {
    const elapsed = nowMs - this.windowStart!;
    this.bitrateKbps = Math.round((this.windowBytes * 8) / elapsed);
    if (this.windowFrames >= 2 && this.windowFirstTs !== undefined && this.windowLastTs !== undefined) {
      const span = (this.windowLastTs - this.windowFirstTs + 0x100000000) % 0x100000000;
      this.fps = span > 0 ? Math.round((((this.windowFrames - 1) * this.clockRate) / span) * 10) / 10 : null;
    }
    this.windowStart = nowMs;
    this.windowBytes = 0;
    this.windowFrames = 0;
    this.windowFirstTs = undefined;
    this.windowLastTs = undefined;
  }
}
