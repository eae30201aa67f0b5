/**
 * Where a transcoded rendition's frames sit on the source's timeline (pure), so the sender
 * reports a viewer gets keep lip sync across the transcode.
 *
 * The ingest writes its own sender reports (RFC 3550 §6.4.1): each maps a track's RTP timestamps
 * to the wall-clock time its packets left the ingest — for the publisher's audio and video, the
 * time they arrived. A rendition's frame leaves a transcode later (~110 ms) than the source frame
 * it shows, while the viewer's audio is always the publisher's: a player that trusts the reports
 * would show the rendition's video that much behind its sound. So each frame carries how much
 * later it is than its source frame (`mediaDelayMs`), and a viewer's audio is held back by as
 * much (router/audio-alignment.ts).
 *
 * Which source frame a rendition frame shows, from timestamps alone (frames of a constant-rate
 * source all look alike to the ingest): ffmpeg's RTP demuxer starts a track's clock at its first
 * packet, `-fps_mode vfr` carries input timestamps through the filters and x264 (rounded to
 * `-r`, never re-timed), and the RTP muxer adds a random base (libavformat rtpenc.c). So a rung's
 * RTP timestamps advance exactly as the forwarded source's do, and one frame known on both sides
 * anchors the rest: ffmpeg's first output frame is the first keyframe it decoded — the first the
 * forward sent once ffmpeg listened (RtpForwardPeer: its keyframe replay, or the publisher's next
 * keyframe) — and the first packet of every rung carries it (the rungs are `split` from one decode).
 */
import { serialDiff } from '../router/rtp-rewriter';
import type { SendClock } from '../webrtc/rtcp/send-clock';

const TS_MOD = 0x1_0000_0000;

/** Signed distance from one 32-bit RTP timestamp to another (wraps: RFC 3550 §5.1 timestamps are modular). */
export function timestampDistance(from: number, to: number): number {
  return serialDiff(from >>> 0, to >>> 0, TS_MOD);
}

/** The anchor pair: one frame as the source's forwarded timestamp and as the rung's. */
export interface TimelineAnchor {
  sourceTimestamp: number;
  rungTimestamp: number;
}

/** The forwarded source timestamp of the frame a rung shows at `rungTimestamp`. */
export function sourceTimestampOf(anchor: TimelineAnchor, rungTimestamp: number): number {
  return (anchor.sourceTimestamp + timestampDistance(anchor.rungTimestamp, rungTimestamp) + TS_MOD) % TS_MOD;
}

/** The rung timestamp of the forwarded source frame at `sourceTimestamp` (inverse of sourceTimestampOf). */
export function rungTimestampOf(anchor: TimelineAnchor, sourceTimestamp: number): number {
  return (anchor.rungTimestamp + timestampDistance(anchor.sourceTimestamp, sourceTimestamp) + TS_MOD) % TS_MOD;
}

/** What the ingest knows of the source video forwarded to the transcoder (RtpForwardPeer). */
export interface ForwardedVideo {
  /** The forwarded timestamp of the first keyframe sent once the transcoder listened; undefined until then. */
  readonly firstKeyframeTimestamp: number | undefined;
  /** The forwarded video's RTP clock against arrival time (Date.now() ms). */
  readonly clock: SendClock;
}

/**
 * A delay outside this range, ms, says the anchor is wrong (ffmpeg started from another frame):
 * no delay is reported then, and a viewer's audio is not held for it.
 */
export const PLAUSIBLE_DELAY_MS: readonly [number, number] = [-50, 5000];
/** Weight of a new frame's delay in the running estimate: arrival jitter of one frame is smoothed out. */
const SMOOTHING = 1 / 8;

/** The transcode delay of each rung of one rendition set, frame by frame. */
export class RenditionTimeline {
  private readonly rungs = new Map<number, { anchor: TimelineAnchor | undefined; lastTimestamp: number; delayMs: number | undefined; implausible: number }>();

  constructor(private readonly source: ForwardedVideo) {}

  /**
   * The smoothed delay of rung `ssrc` with the frame at `timestamp` arriving at `atMs` (Date.now()
   * ms): how much later than its source frame it reaches the ingest. Undefined while unknown.
   */
  delayOf(ssrc: number, timestamp: number, atMs: number): number | undefined {
    let rung = this.rungs.get(ssrc);
    if (!rung) {
      // The rung's first packet: its frame is the first keyframe ffmpeg got (see the file comment).
      const first = this.source.firstKeyframeTimestamp;
      rung = { anchor: first === undefined ? undefined : { sourceTimestamp: first, rungTimestamp: timestamp >>> 0 }, lastTimestamp: timestamp >>> 0, delayMs: undefined, implausible: 0 };
      this.rungs.set(ssrc, rung);
    } else if (rung.lastTimestamp === timestamp >>> 0) {
      return rung.delayMs;
    }
    rung.lastTimestamp = timestamp >>> 0;
    if (!rung.anchor) return undefined;
    const sourceAt = this.source.clock.timeOf(sourceTimestampOf(rung.anchor, timestamp));
    if (sourceAt === undefined) return rung.delayMs;
    const delay = atMs - sourceAt;
    if (delay < PLAUSIBLE_DELAY_MS[0] || delay > PLAUSIBLE_DELAY_MS[1]) {
      rung.implausible += 1;
      return rung.delayMs;
    }
    rung.delayMs = rung.delayMs === undefined ? delay : rung.delayMs + (delay - rung.delayMs) * SMOOTHING;
    return rung.delayMs;
  }

  /** Frames whose delay was implausible (a wrong anchor), per rung SSRC: for the set's stats. */
  implausibleFrames(ssrc: number): number {
    return this.rungs.get(ssrc)?.implausible ?? 0;
  }
}
