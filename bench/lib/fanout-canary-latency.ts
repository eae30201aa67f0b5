/**
 * The canary viewer's latency and freezes, from the frames its page displayed (pure; used by
 * bench/lib/fanout-canary.ts and bench/fanout.ts).
 *
 * The bench publisher is not a pixel clock, so there is no absolute glass-to-glass here. What is
 * there: at `requestVideoFrameCallback` each frame's RTP timestamp (90 kHz; the publisher replays
 * its clip in real time, and its timestamps run on continuously across loops; the ingest rewrites
 * them per viewer by a constant offset) and the time it is displayed. display − media time is
 * then latency + a constant, and the difference between two moments of one session is the change
 * in latency. The constant is taken out at the first frame, so the values are "ms more than at
 * the first frame"; a step's rise is its median minus the 0-viewer step's median.
 */

/** One displayed frame as the page saw it at rVFC. Times are epoch ms (the bench pages' clock). */
export interface CanaryFrame {
  /** rVFC `expectedDisplayTime`. */
  display: number;
  /** rVFC `rtpTimestamp`: 32-bit, 90 kHz. */
  rtp: number;
  /** rVFC `presentedFrames`: frames handed to the compositor so far (tells skipped callbacks). */
  presented: number;
  /** rVFC `receiveTime`: the frame's last packet arrived (WebRTC). */
  receive?: number;
  /** rVFC `captureTime`: the sender's capture time as Chrome estimates it (RTCP SR / abs-capture-time). */
  capture?: number;
}

/** What one window (or one step) of frames says about the canary. */
export interface CanaryWindow {
  frames: number;
  /** display − media time, ms relative to the session's first frame, one per frame. */
  latencies: number[];
  /**
   * receiveTime − media time per frame, ms relative to the session's first frame: when the frame's
   * last packet arrived. Its rise is delay before Chrome (publisher pacing, ingest fan-out order,
   * core 1 scheduling of the browser's network thread); the rest of a latency rise is Chrome
   * holding frames longer (jitter buffer target, decode).
   */
  arrivals: number[];
  /** display − receiveTime per frame (jitter buffer + decode + render), ms; empty without receiveTime. */
  receiveToDisplay: number[];
  /** display − captureTime per frame, ms; empty unless Chrome gave captureTime. */
  captureToDisplay: number[];
  /** Gaps between displayed frames above the freeze threshold that ended in this window, ms. */
  freezes: number[];
  /** Longest gap between displayed frames, ms (a stall still going on at the end counts). */
  maxGapMs: number;
  /** Frames the compositor got that rVFC did not call back for (presentedFrames jumps). */
  missedCallbacks: number;
  /** Jumps in media time that did not follow the display clock (publisher loop, takeover); rebased. */
  discontinuities: number;
}

/** Above this, a gap between displayed frames is a freeze (ms). */
export const DEFAULT_FREEZE_MS = 500;
/** A media-time jump this far off the display clock is a timestamp discontinuity, not latency. */
const DISCONTINUITY_MS = 3000;

/**
 * Follows one canary session across windows: extends the 32-bit RTP timestamps (RFC 3550 §5.1:
 * they wrap; the signed difference to the previous frame says which way), keeps the first frame's
 * offset, and counts gaps.
 */
export class CanaryLatencyTracker {
  private lastRtp: number | undefined;
  private extended = 0;
  private lastDisplay: number | undefined;
  private lastPresented: number | undefined;
  private origin: number | undefined;
  private lastLatency: number | undefined;
  private arrivalOrigin: number | undefined;
  /** A stall already counted as a freeze at a window's end, so its end is not counted again. */
  private stallCounted = false;

  constructor(private readonly freezeMs = DEFAULT_FREEZE_MS) {}

  /** Feeds the frames displayed since the last call; `now` (epoch ms) closes the window. */
  window(frames: readonly CanaryFrame[], now: number): CanaryWindow {
    const out: CanaryWindow = { frames: frames.length, latencies: [], arrivals: [], receiveToDisplay: [], captureToDisplay: [], freezes: [], maxGapMs: 0, missedCallbacks: 0, discontinuities: 0 };
    for (const f of frames) {
      if (this.lastRtp === undefined) {
        this.extended = f.rtp;
      } else {
        const step = ((f.rtp - this.lastRtp) | 0); // signed 32-bit difference
        this.extended += step;
      }
      this.lastRtp = f.rtp >>> 0;
      const media = this.extended / 90;
      if (this.lastDisplay !== undefined) {
        const gap = f.display - this.lastDisplay;
        out.maxGapMs = Math.max(out.maxGapMs, gap);
        if (gap > this.freezeMs && !this.stallCounted) out.freezes.push(gap);
        this.stallCounted = false;
      }
      if (this.origin === undefined) this.origin = f.display - media;
      let latency = f.display - media - this.origin;
      const previous = out.latencies.at(-1) ?? this.lastLatency;
      if (previous !== undefined && Math.abs(latency - previous) > DISCONTINUITY_MS && (this.lastDisplay === undefined || f.display - this.lastDisplay < this.freezeMs)) {
        // Media time jumped while frames kept coming at their pace: rebase instead of reading it as latency.
        this.origin += latency - previous;
        latency = previous;
        out.discontinuities += 1;
      }
      this.lastLatency = latency;
      out.latencies.push(latency);
      if (f.receive !== undefined && f.receive > 0) {
        out.receiveToDisplay.push(f.display - f.receive);
        // Rebased with the latency (a media-time jump moves both).
        const arrival = f.receive - media - this.origin;
        this.arrivalOrigin ??= arrival;
        out.arrivals.push(arrival - this.arrivalOrigin);
      }
      if (f.capture !== undefined && f.capture > 0) out.captureToDisplay.push(f.display - f.capture);
      if (this.lastPresented !== undefined && f.presented > this.lastPresented + 1) out.missedCallbacks += f.presented - this.lastPresented - 1;
      this.lastPresented = f.presented;
      this.lastDisplay = f.display;
    }
    // A stall that is still going on when the window closes is a freeze of this window.
    if (this.lastDisplay !== undefined) {
      const open = now - this.lastDisplay;
      out.maxGapMs = Math.max(out.maxGapMs, open);
      if (open > this.freezeMs && !this.stallCounted) {
        out.freezes.push(open);
        this.stallCounted = true;
      }
    }
    return out;
  }
}

/** Joins windows into one (a step's measured windows). */
export function mergeWindows(windows: readonly CanaryWindow[]): CanaryWindow {
  return {
    frames: windows.reduce((a, w) => a + w.frames, 0),
    latencies: windows.flatMap((w) => w.latencies),
    arrivals: windows.flatMap((w) => w.arrivals),
    receiveToDisplay: windows.flatMap((w) => w.receiveToDisplay),
    captureToDisplay: windows.flatMap((w) => w.captureToDisplay),
    freezes: windows.flatMap((w) => w.freezes),
    maxGapMs: Math.max(0, ...windows.map((w) => w.maxGapMs)),
    missedCallbacks: windows.reduce((a, w) => a + w.missedCallbacks, 0),
    discontinuities: windows.reduce((a, w) => a + w.discontinuities, 0),
  };
}

export function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}

const r1 = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10 || 0);

/** The medians a step's rise is taken against (the first, 0-viewer, step's). */
export interface CanaryBaseline {
  latencyP50: number | null;
  arrivalP50: number | null;
}

export function canaryBaseline(measured: CanaryWindow): CanaryBaseline {
  return { latencyP50: quantile(measured.latencies, 0.5), arrivalP50: quantile(measured.arrivals, 0.5) };
}

/** A step's canary figures: rises are per frame against the baseline step's medians. */
export function summarizeCanaryStep(measured: CanaryWindow, baseline: CanaryBaseline | null) {
  const p50 = quantile(measured.latencies, 0.5);
  const against = (xs: number[], b: number | null | undefined) => (b === null || b === undefined ? [] : xs.map((x) => x - b));
  const rises = against(measured.latencies, baseline?.latencyP50);
  const arrivalRises = against(measured.arrivals, baseline?.arrivalP50);
  return {
    frames: measured.frames,
    /** display − media, ms above the session's first frame (p50, p95). */
    relativeLatencyP50: r1(p50),
    relativeLatencyP95: r1(quantile(measured.latencies, 0.95)),
    /** Per-frame latency minus the baseline step's median, ms. */
    riseP50: r1(quantile(rises, 0.5)),
    riseP95: r1(quantile(rises, 0.95)),
    /** Per-frame arrival (last packet) minus the baseline step's median, ms. */
    arrivalRiseP50: r1(quantile(arrivalRises, 0.5)),
    arrivalRiseP95: r1(quantile(arrivalRises, 0.95)),
    freezes: measured.freezes.length,
    freezeMs: measured.freezes.map((g) => Math.round(g)),
    maxGapMs: Math.round(measured.maxGapMs),
    missedCallbacks: measured.missedCallbacks,
    discontinuities: measured.discontinuities,
    receiveToDisplayP50: r1(quantile(measured.receiveToDisplay, 0.5)),
    receiveToDisplayP95: r1(quantile(measured.receiveToDisplay, 0.95)),
    captureToDisplayP50: r1(quantile(measured.captureToDisplay, 0.5)),
  };
}
export type CanaryStep = ReturnType<typeof summarizeCanaryStep>;
