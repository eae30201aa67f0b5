/**
 * What every playback mode (WebRTC, HLS) offers the player component: a status the
 * UI shows and tests read (`data-state`), stats for the overlay, and `stop()`. The player holds
 * one mode at a time and can swap modes without knowing how each one recovers.
 */
import type { WhepLayers } from '@onair/shared/api';
import type { InboundSummary } from '@onair/shared/webrtc-client-stats';

export type PlaybackModeKind = 'webrtc' | 'hls';

/**
 * - `connecting`: first attempt, no frame yet.
 * - `live`: frames are arriving.
 * - `reconnecting`: was live (or tried), media stopped or the connection dropped; recovering.
 * - `offline`: the stream is not live (404 `stream_offline` / `stream_not_found`); waiting for it.
 * - `error`: a problem retrying cannot fix (e.g. no codec in common); `detail` says which.
 */
export type PlayerState = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'error';

export interface PlaybackStatus {
  state: PlayerState;
  /** Human-readable reason for the state (problem detail, "waiting for the broadcaster", …). */
  detail: string | null;
  /** With `error`: the server's problem code (problem+json `code`, e.g. `no_supported_codec`). */
  code?: string;
}

export interface PlaybackCallbacks {
  onStatus(status: PlaybackStatus): void;
  onStats?(stats: InboundSummary): void;
  /** Milestones of a session, ms from the start of its attempt: answer received, ICE/DTLS connected, first frame rendered. */
  onTiming?(timing: PlaybackTiming): void;
  /** What is playing (HLS): rendition and distance from the live edge. */
  onInfo?(info: PlaybackInfo): void;
  /** WebRTC: the session's renditions, the one it receives and its pin (WHEP layer extension); null when the server offers none. */
  onLayers?(layers: WhepLayers | null): void;
}

export interface PlaybackInfo {
  /** `480p · 1.2 Mbps` (hls.js's current level); null when unknown (native HLS, not started). */
  rendition: string | null;
  /** Seconds behind the live edge (`hls.latency`); null when unknown. */
  latencySec: number | null;
  /** The browser's own HLS (Safari without MSE) rather than hls.js. */
  native: boolean;
}

export interface PlaybackTiming {
  /** Offer + ICE gathering, before the POST. */
  gatherMs: number | null;
  answerMs: number | null;
  connectedMs: number | null;
  firstFrameMs: number | null;
}

export interface PlaybackMode {
  readonly kind: PlaybackModeKind;
  /** Ends playback and releases server resources (DELETE of the WHEP session). Safe twice. */
  stop(): void;
  /** WebRTC: pins a rendition by its encodingId, or gives the choice back to the server (null). */
  selectLayer?(encodingId: string | null): Promise<void>;
}
