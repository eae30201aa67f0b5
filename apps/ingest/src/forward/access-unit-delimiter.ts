/**
 * Ends each H.264 access unit for ffmpeg's RTP input as soon as its last packet is sent (pure).
 *
 * ffmpeg joins the NAL units of its RTP H.264 input into frames with a parser that ends a frame
 * only when it sees the start of the next one (a first slice, or an access unit delimiter, SPS,
 * PPS or SEI: H.264 §7.4.1.2.3). It ignores the marker bit (RFC 6184 §5.1), so every frame waited
 * for the next one, a frame interval (33 ms at 30 fps) on every rung, WebRTC and LL-HLS alike
 * (frame-holdback.int.test.ts). An access unit delimiter sent right after the marker packet ends
 * the frame at once: it is the first NAL unit of the next access unit, where H.264 puts it.
 *
 * The delimiter carries the timestamp the next frame is predicted to have: ffmpeg dates a frame
 * by the packet its first byte came in, the delimiter. At a steady frame rate the prediction is
 * exact, and a frame's error never carries to the next (each delimiter counts from the frame it
 * follows); after a gap (frames skipped or lost) one frame is dated early. The forward's sequence numbers move up by one per delimiter sent.
 */
import type { OutboundRtp } from '../webrtc/engine';

/** NAL unit type 9, primary_pic_type 7 (any slice type) and the RBSP stop bit (H.264 §7.3.2.4). */
const AUD_PAYLOAD = Buffer.from([0x09, 0xf0]);
/** A frame interval before any is measured: 30 fps on the 90 kHz clock. */
const DEFAULT_INTERVAL = 3000;
/** Intervals longer than this many times the current estimate are gaps, not a new rate. */
const GAP_FACTOR = 3;
/** Each interval moves the estimate this part of the way (jittery capture clocks average out). */
const SMOOTHING = 1 / 4;
const SEQ_MOD = 0x1_0000;
const TS_MOD = 0x1_0000_0000;

export class AccessUnitDelimiter {
  private inserted = 0;
  private lastTimestamp: number | undefined;
  private interval = DEFAULT_INTERVAL;
  private longSteps = 0;

  /** The sequence number `rtp` goes out with, after the delimiters sent before it. */
  sequenceNumber(rtp: OutboundRtp): number {
    return (rtp.sequenceNumber + this.inserted) % SEQ_MOD;
  }

  /**
   * Called for every video packet as sent (numbered with `sequenceNumber`): the delimiter to send
   * right after it when it ends a frame (its marker bit), else undefined.
   */
  after(sent: OutboundRtp): OutboundRtp | undefined {
    this.measure(sent.timestamp >>> 0);
    if (!sent.marker) return undefined;
    this.inserted += 1;
    return {
      sequenceNumber: (sent.sequenceNumber + 1) % SEQ_MOD,
      timestamp: ((sent.timestamp >>> 0) + Math.round(this.interval)) % TS_MOD,
      ssrc: sent.ssrc,
      payloadType: sent.payloadType,
      marker: false,
      payload: AUD_PAYLOAD,
    };
  }

  private measure(timestamp: number): void {
    const last = this.lastTimestamp;
    if (last === timestamp) return;
    this.lastTimestamp = timestamp;
    if (last === undefined) return;
    const step = (timestamp - last + TS_MOD) % TS_MOD;
    // A step back (reordering, a new source) tells nothing of the frame rate.
    if (step === 0 || step >= TS_MOD / 2) return;
    if (step > this.interval * GAP_FACTOR) {
      // One long step is a gap; two in a row, a lower frame rate, taken as it is.
      this.longSteps += 1;
      if (this.longSteps >= 2) this.interval = step;
      return;
    }
    this.longSteps = 0;
    this.interval += (step - this.interval) * SMOOTHING;
  }
}
