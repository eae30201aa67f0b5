/**
 * One track's RTP clock against the wall clock, as its frames go by (pure): what a sender report
 * says of the track (RFC 3550 §6.4.1: "the same time as the NTP timestamp"), and when a frame of
 * a forwarded track went by.
 *
 * A frame is dated by its first packet (later packets of a burst would date it late). With
 * `smoothing` 1 the clock is the latest frame's; below 1, each frame moves it only that part of
 * the way, so a frame that left late (a transcoder's frames leave in bursts, ±20 ms; ffmpeg's
 * paced audio saw-tooths by a packet) does not tilt a receiver's mapping: libwebrtc fits a line
 * through 20 reports, one a second, and one report off by 25 ms skews it for 20 s. A frame off
 * by more than SNAP_MS is a new timeline (a source that restarted), taken as it is.
 */
import { serialDiff } from '../../router/rtp-rewriter';

const TS_MOD = 0x1_0000_0000;
/** What sender reports use: a frame moves the clock an eighth of its lateness (~0.3 s to follow a real change at 30 fps). */
export const REPORT_SMOOTHING = 1 / 8;
/** A frame this far off the clock (ms) resets it instead of nudging it. */
export const SNAP_MS = 250;

export class SendClock {
  private latest: { timestamp: number; atMs: number } | undefined;

  constructor(
    readonly clockRate: number,
    private readonly smoothing = 1,
  ) {}

  /** The first packet of the frame at `timestamp` went by at `atMs`; further packets of the same frame change nothing. */
  observe(timestamp: number, atMs: number): void {
    const ts = timestamp >>> 0;
    if (this.latest?.timestamp === ts) return;
    const predicted = this.timeOf(ts);
    const error = predicted === undefined ? 0 : atMs - predicted;
    this.latest = { timestamp: ts, atMs: predicted === undefined || Math.abs(error) > SNAP_MS ? atMs : predicted + error * this.smoothing };
  }

  /** When the frame at `timestamp` went (or goes) by, ms on the observer's clock; undefined before any frame. */
  timeOf(timestamp: number): number | undefined {
    if (!this.latest) return undefined;
    return this.latest.atMs + (serialDiff(this.latest.timestamp, timestamp >>> 0, TS_MOD) * 1000) / this.clockRate;
  }

  /** The RTP timestamp of the instant `atMs` (inverse of timeOf); undefined before any frame. */
  timestampAt(atMs: number): number | undefined {
    if (!this.latest) return undefined;
    return (this.latest.timestamp + Math.round(((atMs - this.latest.atMs) * this.clockRate) / 1000)) >>> 0;
  }
}
