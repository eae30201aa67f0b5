/**
 * WebRTC (WHEP) playback mode with recovery. Client-only.
 *
 * Recovery policy, in one place:
 * - POST answered 404 `stream_offline` / `stream_not_found` → `offline`; poll the public live
 *   list (cheap GET) and POST again as soon as the stream is listed (or every 15 s regardless).
 * - Other POST failures (ingest down, 5xx, timeout) → `reconnecting`, retry with backoff.
 * - Peer connection `failed`/`closed`, or `disconnected` for over 5 s → new session (re-POST).
 * - Media stops while connected (publisher left or is reconnecting) → keep the session: the
 *   ingest keeps WHEP sessions across publisher reconnects, so frames resume on their own. Show
 *   `offline` while the live list says the stream is gone, `reconnecting` otherwise; if the
 *   stream is listed live but no frame came for `restartAfterStallMs` (3 s: a kept session
 *   resumes within ~100 ms; 6 s for a new connected session still waiting for its first
 *   keyframe), or our connection is `disconnected`, re-POST.
 * - STUN/TURN servers announced in an answer's `Link` headers are used from the next offer on.
 * - Renditions: with the answer's layer resource (WHEP layer extension), what the session receives
 *   is read every tick (`onLayers`); a pin made with `selectLayer` is made again on a new session.
 * "Media arrives" is measured by rendered frames (`requestVideoFrameCallback`) and, as a backup
 * when rendering is throttled, by `framesDecoded` (or audio bytes for audio-only streams).
 */
import { OnairError } from '@onair/shared/errors';
import type { WhepLayers } from '@onair/shared/api';
import { playWhep, type SessionState, type WhepSession } from '@onair/shared/webrtc-client';
import { summarizeInbound, type InboundCounters } from '@onair/shared/webrtc-client-stats';
import { adoptEarlyWhep, takeEarlyWhep } from '@onair/shared/whep-early';
import { getWhepLayers, layerUrlFromLinkHeader, selectWhepLayer } from '@onair/shared/whep-layers-client';
import './zod-without-eval';
import { backoffDelay } from './backoff';
import type { PlaybackCallbacks, PlaybackMode, PlaybackStatus, PlaybackTiming, PlayerState } from './playback';

export interface WebrtcPlaybackOptions {
  /** WHEP endpoint, e.g. `/whep/demo` (same origin; the web app proxies to the ingest). */
  whepUrl: string;
  /** Public live list, e.g. `/api/streams/live`. */
  liveUrl: string;
  streamName: string;
  callbacks: PlaybackCallbacks;
  /** How often to check the live list while offline, ms. Default 2000. */
  offlinePollMs?: number;
  /** No frame for this long while live → show `reconnecting`/`offline`, ms. Default 2500. */
  stallMs?: number;
  /** Listed live (or the list unknown) but no frame for this long → new session, ms. Default 3000. A kept session resumes within ~100 ms of the publisher being back, so 3 s means it is dead. */
  restartAfterStallMs?: number;
  /**
   * Connected but no first frame yet (listed live) for this long → new session, ms. Default 6000.
   * Longer than `restartAfterStallMs`: the path works and the keyframe asked for is on its way;
   * a new session would only have to wait for another one.
   */
  firstFrameTimeoutMs?: number;
  /** Longest wait for the POST's answer, ms. Default 10 000. */
  answerTimeoutMs?: number;
}

const OFFLINE_CODES = new Set(['stream_offline', 'stream_not_found', 'not_found']);
/** Errors that another attempt will not fix soon: shown as `error`, retried slowly. */
const HARD_CODES = new Set(['no_supported_codec', 'unsupported_media_type', 'invalid_sdp', 'bad_request']);

type VideoWithFrames = HTMLVideoElement & {
  requestVideoFrameCallback?: (callback: () => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

export function startWebrtcPlayback(video: HTMLVideoElement, options: WebrtcPlaybackOptions): PlaybackMode {
  const playback = new WebrtcPlayback(video as VideoWithFrames, options);
  playback.start();
  return playback;
}

class WebrtcPlayback implements PlaybackMode {
  readonly kind = 'webrtc' as const;
  private readonly cb: PlaybackCallbacks;
  private readonly offlinePollMs: number;
  private readonly stallMs: number;
  private readonly restartAfterStallMs: number;
  private readonly answerTimeoutMs: number;
  private readonly firstFrameTimeoutMs: number;

  private stopped = false;
  private status: PlaybackStatus = { state: 'connecting', detail: null };
  private session: WhepSession | null = null;
  /** Bumped whenever the session changes, so callbacks of an old session are ignored. */
  private generation = 0;
  private attempt: AbortController | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private tickTimer: ReturnType<typeof setInterval> | undefined;
  private ticking = false;
  private failures = 0;
  private everLive = false;
  private attemptStartedAt = 0;
  private lastAttemptAt = 0;
  private lastMediaAt = 0;
  private firstFrameSeen = false;
  private timing: PlaybackTiming = { gatherMs: null, answerMs: null, connectedMs: null, firstFrameMs: null };
  private disconnectedAt: number | null = null;
  private counters: InboundCounters | undefined;
  private frameHandle: number | undefined;
  private listed: { at: number; live: boolean | null } = { at: -Infinity, live: null };
  private listedSince: number | null = null;
  private iceServers: RTCIceServer[] = [];
  /** The current session's layer resource, if the server announced one. */
  private layerUrl: string | null = null;
  /** The rendition the viewer pinned (kept across sessions); null: the server chooses. */
  private pinnedLayer: string | null = null;

  constructor(
    private readonly video: VideoWithFrames,
    private readonly options: WebrtcPlaybackOptions,
  ) {
    this.cb = options.callbacks;
    this.offlinePollMs = options.offlinePollMs ?? 2000;
    this.stallMs = options.stallMs ?? 2500;
    this.restartAfterStallMs = options.restartAfterStallMs ?? 3000;
    this.answerTimeoutMs = options.answerTimeoutMs ?? 10_000;
    this.firstFrameTimeoutMs = options.firstFrameTimeoutMs ?? 6000;
  }

  start(): void {
    this.cb.onStatus(this.status);
    this.tickTimer = setInterval(() => void this.tick(), 1000);
    void this.connect();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.tickTimer);
    this.attempt?.abort();
    this.dropSession();
    this.video.srcObject = null;
  }

  async selectLayer(encodingId: string | null): Promise<void> {
    this.pinnedLayer = encodingId;
    const url = this.layerUrl;
    if (!url || this.stopped) return;
    const generation = this.generation;
    const layers = await selectWhepLayer(url, encodingId, { signal: AbortSignal.timeout(5000) });
    if (generation === this.generation && !this.stopped) this.cb.onLayers?.(layers);
  }

  private setStatus(state: PlayerState, detail: string | null = null, code?: string): void {
    if (this.stopped || (this.status.state === state && this.status.detail === detail)) return;
    this.status = code === undefined ? { state, detail } : { state, detail, code };
    this.cb.onStatus(this.status);
  }

  private dropSession(): void {
    this.generation++;
    if (this.frameHandle !== undefined) this.video.cancelVideoFrameCallback?.(this.frameHandle);
    this.frameHandle = undefined;
    const session = this.session;
    this.session = null;
    this.counters = undefined;
    this.disconnectedAt = null;
    this.layerUrl = null;
    if (session) void session.close();
  }

  private scheduleConnect(delayMs: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delayMs);
  }

  /** Ends the current session and starts a new one after a backoff delay. */
  private restart(detail: string): void {
    this.dropSession();
    this.failures++;
    this.setStatus('reconnecting', detail);
    this.scheduleConnect(backoffDelay(this.failures, { baseMs: 500 }));
  }

  private async connect(): Promise<void> {
    if (this.stopped || this.attempt) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.dropSession();
    const abort = new AbortController();
    this.attempt = abort;
    const timer = setTimeout(() => abort.abort(), this.answerTimeoutMs);
    // The page's inline script may have made the first offer already (whep-early.ts).
    const early = takeEarlyWhep(this.options.whepUrl);
    this.attemptStartedAt = this.lastAttemptAt = early?.started ?? performance.now();
    let session: WhepSession;
    try {
      session = early ? await adoptEarlyWhep(early, { signal: abort.signal }) : await playWhep(this.options.whepUrl, { signal: abort.signal, iceServers: this.iceServers });
    } catch (error) {
      if (!this.stopped) this.onAttemptFailed(error, abort.signal.aborted);
      return;
    } finally {
      clearTimeout(timer);
      if (this.attempt === abort) this.attempt = null;
    }
    if (this.stopped) {
      void session.close();
      return;
    }
    this.attach(session);
  }

  private onAttemptFailed(error: unknown, timedOut: boolean): void {
    const problem =
      error instanceof OnairError
        ? error
        : new OnairError('upstream_unreachable', timedOut ? 'The server did not answer in time.' : error instanceof Error ? error.message : String(error));
    if (OFFLINE_CODES.has(problem.code)) {
      // Offline is not a failure: the tick polls the live list and connects when it is listed.
      this.failures = 0;
      this.listed = { at: performance.now(), live: false };
      this.listedSince = null;
      const detail = problem.code === 'stream_offline' ? 'Waiting for the broadcaster to go live. Playback starts on its own.' : `No stream named “${this.options.streamName}” is live yet. Playback starts on its own when it is.`;
      this.setStatus('offline', detail);
      return;
    }
    this.failures++;
    const hard = HARD_CODES.has(problem.code);
    const delay = backoffDelay(this.failures, { baseMs: 1000, maxMs: hard ? 30_000 : 10_000 });
    this.setStatus(hard ? 'error' : 'reconnecting', `${problem.message} Retrying in ${Math.max(1, Math.round(delay / 1000))} s.`, hard ? problem.code : undefined);
    this.scheduleConnect(delay);
  }

  private attach(session: WhepSession): void {
    this.dropSession();
    const generation = this.generation;
    this.session = session;
    // STUN/TURN servers arrive with the answer (Link, RFC 9725 §4.6): too late for this offer,
    // used for the next one.
    if (session.iceServers.length > 0) this.iceServers = session.iceServers;
    this.layerUrl = layerUrlFromLinkHeader(session.linkHeader, session.resourceUrl);
    this.cb.onLayers?.(null);
    // A new session starts where the server chooses: the viewer's pin is made again.
    if (this.layerUrl && this.pinnedLayer !== null) void this.selectLayer(this.pinnedLayer).catch(() => undefined);
    this.lastMediaAt = performance.now();
    this.firstFrameSeen = false;
    this.timing = { gatherMs: session.gatherMs, answerMs: session.answerMs, connectedMs: null, firstFrameMs: null };
    this.cb.onTiming?.(this.timing);
    this.setStatus(this.everLive && this.status.state !== 'offline' ? 'reconnecting' : 'connecting', null);
    // A session the page's inline script began may be playing already: setting the same stream
    // again would restart the element (the media element load algorithm) and lose frames.
    if (this.video.srcObject !== session.stream) this.video.srcObject = session.stream;
    this.play();
    session.on('track', () => this.play());
    session.on('state', (state) => {
      if (generation === this.generation) this.onSessionState(state);
    });
    const onFrame = () => {
      if (generation !== this.generation || this.stopped) return;
      this.onMedia();
      this.frameHandle = this.video.requestVideoFrameCallback?.(onFrame);
    };
    this.frameHandle = this.video.requestVideoFrameCallback?.(onFrame);
  }

  private play(): void {
    // Muted autoplay is allowed everywhere; if the browser still refuses, the player's
    // play/unmute button starts it from a user gesture.
    this.video.play().catch(() => undefined);
  }

  private onMedia(): void {
    const now = performance.now();
    this.lastMediaAt = now;
    if (!this.firstFrameSeen) {
      this.firstFrameSeen = true;
      this.timing = { ...this.timing, firstFrameMs: now - this.attemptStartedAt };
      this.cb.onTiming?.(this.timing);
    }
    if (this.status.state !== 'live') {
      this.everLive = true;
      this.failures = 0;
      this.setStatus('live', null);
    }
  }

  private onSessionState(state: SessionState): void {
    if (state === 'connected') {
      this.disconnectedAt = null;
      if (this.timing.connectedMs === null) {
        this.timing = { ...this.timing, connectedMs: performance.now() - this.attemptStartedAt };
        this.cb.onTiming?.(this.timing);
      }
    } else if (state === 'disconnected') {
      this.disconnectedAt = performance.now();
      if (this.status.state === 'live') this.setStatus('reconnecting', 'Connection interrupted. Reconnecting…');
    } else if (state === 'failed' || state === 'closed') {
      this.restart('Connection lost. Reconnecting…');
    }
  }

  private async readLayers(generation: number): Promise<void> {
    const url = this.layerUrl;
    if (!url || generation !== this.generation || this.stopped) return;
    let layers: WhepLayers | null = null;
    try {
      layers = await getWhepLayers(url, { signal: AbortSignal.timeout(3000) });
    } catch {
      return; // best effort, like the stats: the next tick asks again
    }
    if (generation === this.generation && !this.stopped) this.cb.onLayers?.(layers);
  }

  /** Whether the stream is in the public live list; cached for `offlinePollMs`; null if unknown. */
  private async isListedLive(now: number): Promise<boolean | null> {
    if (now - this.listed.at < this.offlinePollMs - 100) return this.listed.live;
    let live: boolean | null = null;
    try {
      const res = await fetch(this.options.liveUrl, { cache: 'no-store', signal: AbortSignal.timeout(3000) });
      if (res.ok) {
        const list: unknown = await res.json();
        live = Array.isArray(list) && list.some((s) => s && typeof s === 'object' && (s as { name?: unknown }).name === this.options.streamName);
      }
    } catch {
      live = null;
    }
    this.listed = { at: performance.now(), live };
    if (live === true) this.listedSince ??= this.listed.at;
    else if (live === false) this.listedSince = null;
    return live;
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.ticking) return;
    this.ticking = true;
    try {
      if (this.session) await this.tickSession(this.session);
      else if (this.status.state === 'offline' && !this.attempt && this.retryTimer === undefined) await this.tickOffline();
    } finally {
      this.ticking = false;
    }
  }

  private async tickSession(session: WhepSession): Promise<void> {
    const generation = this.generation;
    try {
      const summary = summarizeInbound(await session.getStats(), this.counters);
      if (generation !== this.generation) return;
      const prev = this.counters;
      this.counters = summary.counters;
      const hasVideo = session.stream.getVideoTracks().length > 0;
      if (prev && (hasVideo ? summary.counters.framesDecoded > prev.framesDecoded : summary.counters.audioBytes > prev.audioBytes)) {
        // Decoding goes on where rendering does not (background tab, paused element).
        // Nothing is rendered while the tab is hidden or autoplay was refused (paused).
        if (document.hidden || this.video.paused || typeof this.video.requestVideoFrameCallback !== 'function') this.onMedia();
      }
      this.cb.onStats?.(summary);
    } catch {
      // stats are best effort
    }
    await this.readLayers(generation);
    if (generation !== this.generation || this.stopped) return;
    const now = performance.now();
    if (this.disconnectedAt !== null && now - this.disconnectedAt > 5000) {
      this.restart('Connection lost. Reconnecting…');
      return;
    }
    const idle = now - this.lastMediaAt;
    if (this.status.state === 'live') {
      if (idle < this.stallMs) return;
      this.setStatus('reconnecting', 'Stream interrupted. Waiting for the broadcaster…');
    }
    const listed = await this.isListedLive(now);
    if (generation !== this.generation || this.stopped || this.status.state === 'live') return;
    if (listed === false) {
      this.setStatus('offline', 'The broadcaster stopped. Playback resumes on its own when they are back.');
      // The kept session would resume by itself; refresh it now and then in case the ingest dropped it.
      if (idle > 60_000) this.restart('Refreshing the connection…');
      return;
    }
    if (this.status.state === 'offline') this.setStatus('reconnecting', `${this.options.streamName} is back. Reconnecting…`);
    // Listed live but our connection is down (e.g. the ingest restarted and forgot the session):
    // no reason to wait for ICE to give up.
    if (listed === true && session.state === 'disconnected') {
      this.restart('Connection lost. Reconnecting…');
      return;
    }
    const waitingSince = Math.max(this.lastMediaAt, this.listedSince ?? 0);
    const patience = !this.firstFrameSeen && session.state === 'connected' ? this.firstFrameTimeoutMs : this.restartAfterStallMs;
    if (now - waitingSince > patience) this.restart('No video is arriving. Reconnecting…');
  }

  private async tickOffline(): Promise<void> {
    const now = performance.now();
    const listed = await this.isListedLive(now);
    if (this.stopped || this.session || this.attempt) return;
    const sinceAttempt = performance.now() - this.lastAttemptAt;
    if (listed === true || (listed === null && sinceAttempt > 3000) || sinceAttempt > 15_000) void this.connect();
  }
}
