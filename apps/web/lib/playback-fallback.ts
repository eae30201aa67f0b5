/**
 * When the player gives up on WebRTC and falls back to HLS. Pure: the player feeds it the WebRTC
 * mode's states with timestamps and asks, about twice a second, whether to switch.
 *
 * - WebRTC not available in this browser, or it cannot receive the stream's video codec
 *   (`RTCRtpReceiver.getCapabilities` against the live list's codec, codec-support.ts: Firefox
 *   without OpenH264 and an H.264 stream), or a hard `error` (no codec in common, …) → at once.
 * - Not live within `connectTimeoutMs` (4 s) of trying: ICE never connects (UDP blocked), the
 *   POST fails with a network error or 5xx and the retries do not help → switch.
 * - Connected (ICE + DTLS up) but no frame yet: the path works and the first keyframe is on its
 *   way (a publisher that ignores PLI sends one per GOP) → wait up to `firstFrameTimeoutMs`
 *   (10 s) before switching.
 * - Was live, then `reconnecting` for longer than `recoverTimeoutMs` (6 s): a kept session
 *   resumes within ~100 ms and a new one connects within ~1 s, so this much means the path broke.
 *   Not while the session that played is still connected: then the frames stopped because the
 *   publisher did (network drop, OBS reconnecting), and HLS would stall just the same — the
 *   WebRTC mode replaces a connected session that stays silent, which restarts this clock's
 *   relevance (a new session is not connected yet).
 * - `offline` is not a failure of WebRTC (the stream is not live; HLS would not play either), so
 *   it stops the clock.
 * - Frames decoding (`framesDecoded` rising in getStats) is WebRTC working, rendered or not: it
 *   restarts the clock. A machine too busy to render (44 frames decoded at 7 s under load, no
 *   frame shown yet) fell back to HLS, which only made it busier; only WebRTC failing should.
 *
 * Once on HLS the player stays there unless the viewer switches by hand: both modes recovering
 * on their own is better than flapping between them.
 */
import type { PlayerState } from './playback';

export interface FallbackPolicyOptions {
  /** Longest wait for the first frame over WebRTC, ms. Default 4000. */
  connectTimeoutMs?: number;
  /** Longest wait for the first frame once connected, ms. Default 10 000. */
  firstFrameTimeoutMs?: number;
  /** Longest wait for WebRTC to recover after it was live, ms. Default 6000. */
  recoverTimeoutMs?: number;
}

export type FallbackReason = 'webrtc_unavailable' | 'codec_unsupported' | 'webrtc_error' | 'connect_timeout' | 'recover_timeout';

export const FALLBACK_REASON_TEXT: Record<FallbackReason, string> = {
  webrtc_unavailable: 'WebRTC is not available in this browser',
  codec_unsupported: "This browser cannot decode the stream's video codec over WebRTC",
  webrtc_error: 'WebRTC playback failed',
  connect_timeout: 'WebRTC could not connect',
  recover_timeout: 'WebRTC lost the connection',
};

export class FallbackPolicy {
  private readonly connectTimeoutMs: number;
  private readonly recoverTimeoutMs: number;
  private readonly firstFrameTimeoutMs: number;
  private connected = false;
  private everLive = false;
  /** Since when WebRTC has been trying without frames; null while live or offline. */
  private troubleSince: number | null;
  private hardError = false;
  private codecUnsupported = false;
  /** The last framesDecoded seen, to tell a rising count (a session starts at 0). */
  private framesDecoded = 0;

  constructor(startedAt: number, options: FallbackPolicyOptions = {}) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 4000;
    this.recoverTimeoutMs = options.recoverTimeoutMs ?? 6000;
    this.firstFrameTimeoutMs = options.firstFrameTimeoutMs ?? 10_000;
    this.troubleSince = startedAt;
  }

  /**
   * Feeds a state the WebRTC mode reported at `now` (ms, any monotonic clock), with the server's
   * problem code for an `error`: `no_supported_codec` (the ingest has nothing this browser
   * decodes, e.g. a VP8-only browser before a VP8 rendition exists) is the codec reason, as
   * codec-support.ts would have said had the live list answered before the WHEP POST.
   */
  observe(state: PlayerState, now: number, code?: string): void {
    if (state === 'error' && code === 'no_supported_codec') this.codecUnsupported = true;
    if (state === 'live') {
      this.everLive = true;
      this.troubleSince = null;
    } else if (state === 'offline') {
      this.troubleSince = null;
    } else if (state === 'error') {
      this.hardError = true;
    } else {
      this.troubleSince ??= now;
    }
  }

  /**
   * Feeds the current session's `framesDecoded` (getStats, about once a second). A rising count
   * is WebRTC working even when no frame was rendered yet — a busy machine renders late, or the
   * tab is throttled — so it restarts the clock, and from then on the stream counts as having
   * played (the 6 s recovery rule applies, not the first-frame ones). A count that stands still,
   * or starts again from 0 (a new session), is not progress.
   */
  observeFramesDecoded(framesDecoded: number, now: number): void {
    const previous = this.framesDecoded;
    this.framesDecoded = framesDecoded;
    if (framesDecoded <= previous) return;
    this.everLive = true;
    if (this.troubleSince !== null) this.troubleSince = now;
  }

  /** What codec-support.ts says of the stream's video codec: false switches at once; null (unknown) changes nothing. */
  observeVideoCodec(receivable: boolean | null): void {
    if (receivable === false) this.codecUnsupported = true;
  }

  /** Whether the current session's transport is up (ICE + DTLS connected); false for a new session. */
  observeTransport(connected: boolean): void {
    this.connected = connected;
  }

  /** Why to switch to HLS now, or null to keep WebRTC. */
  decide(now: number, webrtcAvailable = true): FallbackReason | null {
    if (!webrtcAvailable) return 'webrtc_unavailable';
    if (this.codecUnsupported) return 'codec_unsupported';
    if (this.hardError) return 'webrtc_error';
    if (this.troubleSince === null) return null;
    const waited = now - this.troubleSince;
    if (this.everLive) return !this.connected && waited >= this.recoverTimeoutMs ? 'recover_timeout' : null;
    return waited >= (this.connected ? this.firstFrameTimeoutMs : this.connectTimeoutMs) ? 'connect_timeout' : null;
  }
}

export type ModePreference = 'auto' | 'webrtc' | 'hls';

/** `?mode=hls` forces HLS, `?mode=webrtc` WebRTC only; anything else is automatic. */
export function parseModePreference(value: string | string[] | null | undefined): ModePreference {
  const v = Array.isArray(value) ? value[0] : value;
  return v === 'hls' || v === 'webrtc' ? v : 'auto';
}
