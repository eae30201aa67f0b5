/**
 * HLS playback mode: LL-HLS through hls.js (MSE), or the browser's own HLS where there is no MSE
 * (iOS Safari). Client-only. hls.js is loaded with a dynamic import, so WebRTC viewers never
 * download it.
 *
 * Recovery policy, in one place (hls.js retries single requests itself; this handles what it
 * gives up on, i.e. `fatal` errors):
 * - The stream is not there (404 on the multivariant or a media playlist) → `offline`; poll the
 *   public live list and load again once the stream is listed.
 * - The playlist ends (`EXT-X-ENDLIST`): play out what is buffered, then `offline` as above. A
 *   playlist that is already ended when loaded (the last broadcast's) is not played as a VOD.
 * - Fatal network errors (origin down, 5xx) → `reconnecting`; a fresh hls.js instance after a
 *   backoff delay.
 * - Fatal media errors → `recoverMediaError()`; a second within 3 s → also `swapAudioCodec()`;
 *   a third within 10 s → fresh instance as for network errors.
 * - Frames stop while the playlist is live: `reconnecting` after `stallMs`; fresh instance after
 *   `restartAfterStallMs` (hls.js nudges and skips small gaps long before that).
 * "Frames" are rendered frames (`requestVideoFrameCallback`), or `currentTime` advancing where
 * rendering is throttled (hidden tab).
 */
import type HlsType from 'hls.js';
import type { ErrorData, HlsConfig, LevelUpdatedData } from 'hls.js';
import { backoffDelay } from './backoff';
import { catchUpRate } from './live-catch-up';
import type { PlaybackCallbacks, PlaybackMode, PlaybackStatus, PlayerState } from './playback';
import { renditionLabel } from './playback-label';

type HlsConstructor = typeof HlsType;

export interface HlsPlaybackOptions {
  /** Multivariant playlist, e.g. `/hls/demo/index.m3u8` (web origin) or a CDN URL. */
  manifestUrl: string;
  /** Public live list, e.g. `/api/streams/live`. */
  liveUrl: string;
  streamName: string;
  callbacks: PlaybackCallbacks;
  /** Loads hls.js (tests inject a fake). Default: dynamic import of `hls.js`. */
  loadHls?: () => Promise<HlsConstructor>;
  /** How often to check the live list while offline, ms. Default 2000. */
  offlinePollMs?: number;
  /** No frame for this long while live → `reconnecting`, ms. Default 3000. */
  stallMs?: number;
  /** No frame for this long → fresh hls.js instance, ms. Default 8000. */
  restartAfterStallMs?: number;
}

/**
 * hls.js settings for the transcoder's LL-HLS: 1 s segments (one GOP), 200 ms parts,
 * PART-HOLD-BACK 0.6 s. Playing 0.7 s behind the live edge leaves half a part more than the
 * server's minimum; the HLS mode holds the player there (live-catch-up.ts: hls.js's own
 * catch-up needs a second of buffer, which a player this close to the edge never has, so it is
 * off), and more than 3 s behind hls.js seeks.
 */
export const HLS_CONFIG: Partial<HlsConfig> = {
  lowLatencyMode: true,
  liveSyncDuration: 0.7,
  liveMaxLatencyDuration: 3,
  maxLiveSyncPlaybackRate: 1,
  // hls.js raises its target latency by 1 s per stall by default; one start-up stall on a busy
  // machine then kept the player 2.1 s behind instead of 1.3 s (bench/results/summary.md).
  liveSyncOnStallIncrease: 0.2,
  liveDurationInfinity: true,
  // Live: nothing to seek back to; keep memory (and SourceBuffer evictions) small.
  backBufferLength: 4,
  maxBufferLength: 6,
  // ABR across the ladder, never fetching more pixels than the element shows.
  startLevel: -1,
  capLevelToPlayerSize: true,
  enableWorker: true,
};

/** How often the HLS mode adjusts the playback rate to hold the target latency, ms. */
const CATCH_UP_TICK_MS = 250;

type VideoWithFrames = HTMLVideoElement & {
  requestVideoFrameCallback?: (callback: () => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

export function startHlsPlayback(video: HTMLVideoElement, options: HlsPlaybackOptions): PlaybackMode {
  const playback = new HlsPlayback(video as VideoWithFrames, options);
  playback.start();
  return playback;
}

/** Whether this browser has Media Source Extensions (hls.js needs them; iOS Safari has ManagedMediaSource). */
function hasMse(): boolean {
  const w = globalThis as { MediaSource?: unknown; ManagedMediaSource?: unknown; WebKitMediaSource?: unknown };
  return Boolean(w.MediaSource || w.ManagedMediaSource || w.WebKitMediaSource);
}

class HlsPlayback implements PlaybackMode {
  readonly kind = 'hls' as const;
  private readonly cb: PlaybackCallbacks;
  private readonly offlinePollMs: number;
  private readonly stallMs: number;
  private readonly restartAfterStallMs: number;
  private stopped = false;
  private status: PlaybackStatus = { state: 'connecting', detail: null };
  private hls: HlsType | null = null;
  private native = false;
  /** Bumped whenever the engine instance changes, so callbacks of an old one are ignored. */
  private generation = 0;
  private loading = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private tickTimer: ReturnType<typeof setInterval> | undefined;
  private catchUpTimer: ReturnType<typeof setInterval> | undefined;
  private failures = 0;
  private everLive = false;
  private ended = false;
  private attemptStartedAt = 0;
  private lastMediaAt = 0;
  private lastCurrentTime = -1;
  private firstFrameSeen = false;
  private frameHandle: number | undefined;
  private mediaRecoveries: number[] = [];
  private lastListCheck = -Infinity;
  private readonly detach: (() => void)[] = [];

  constructor(
    private readonly video: VideoWithFrames,
    private readonly options: HlsPlaybackOptions,
  ) {
    this.cb = options.callbacks;
    this.offlinePollMs = options.offlinePollMs ?? 2000;
    this.stallMs = options.stallMs ?? 3000;
    this.restartAfterStallMs = options.restartAfterStallMs ?? 8000;
  }

  start(): void {
    this.cb.onStatus(this.status);
    this.tickTimer = setInterval(() => void this.tick(), 500);
    this.catchUpTimer = setInterval(() => this.holdTargetLatency(), CATCH_UP_TICK_MS);
    const onEnded = () => {
      if (this.ended || this.native) this.goOffline('The broadcast ended. Playback resumes on its own when it is back.');
    };
    this.video.addEventListener('ended', onEnded);
    this.detach.push(() => this.video.removeEventListener('ended', onEnded));
    void this.load();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.tickTimer);
    clearInterval(this.catchUpTimer);
    for (const fn of this.detach.splice(0)) fn();
    this.teardown();
  }

  private setStatus(state: PlayerState, detail: string | null = null): void {
    if (this.stopped || (this.status.state === state && this.status.detail === detail)) return;
    this.status = { state, detail };
    this.cb.onStatus(this.status);
  }

  /** Destroys the engine instance (hls.js or the native source) and forgets its callbacks. */
  private teardown(): void {
    this.generation++;
    if (this.frameHandle !== undefined) this.video.cancelVideoFrameCallback?.(this.frameHandle);
    this.frameHandle = undefined;
    // A catch-up in progress ends with its instance.
    if (this.video.playbackRate !== 1) this.video.playbackRate = 1;
    const hls = this.hls;
    this.hls = null;
    hls?.destroy();
    if (this.native) {
      this.video.removeAttribute('src');
      this.video.load();
    }
    this.native = false;
    this.ended = false;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.load();
    }, delayMs);
  }

  /** Ends the current instance and loads afresh after a backoff delay. */
  private restart(detail: string): void {
    this.teardown();
    this.failures++;
    const delay = backoffDelay(this.failures, { baseMs: 1000, maxMs: 10_000 });
    this.setStatus(this.everLive ? 'reconnecting' : 'connecting', `${detail} Retrying in ${Math.max(1, Math.round(delay / 1000))} s.`);
    this.schedule(delay);
  }

  private goOffline(detail: string): void {
    this.teardown();
    this.failures = 0;
    this.lastListCheck = performance.now();
    this.setStatus('offline', detail);
    this.cb.onInfo?.({ rendition: null, latencySec: null, native: false });
  }

  private async load(): Promise<void> {
    if (this.stopped || this.loading) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.teardown();
    this.loading = true;
    const generation = this.generation;
    try {
      let Hls: HlsConstructor | null = null;
      if (hasMse()) {
        try {
          // The full build: `hls.js/light` leaves out alternate audio, and the sound is the stream's audio rendition (EXT-X-MEDIA).
          Hls = await (this.options.loadHls ?? (async () => (await import('hls.js')).default))();
        } catch {
          this.restart('Could not load the HLS player.');
          return;
        }
      }
      if (this.stopped || generation !== this.generation) return;
      this.attemptStartedAt = this.lastMediaAt = performance.now();
      this.lastCurrentTime = -1;
      this.firstFrameSeen = false;
      this.cb.onTiming?.({ gatherMs: null, answerMs: null, connectedMs: null, firstFrameMs: null });
      if (Hls?.isSupported()) this.attachHlsJs(Hls);
      else if (this.video.canPlayType('application/vnd.apple.mpegurl')) this.attachNative();
      else {
        this.setStatus('error', 'This browser cannot play HLS.');
        return;
      }
      this.watchFrames();
    } finally {
      this.loading = false;
    }
  }

  private attachHlsJs(Hls: HlsConstructor): void {
    const generation = this.generation;
    const hls = new Hls(HLS_CONFIG);
    this.hls = hls;
    const current = () => generation === this.generation && !this.stopped;
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (current()) this.onHlsError(Hls, hls, data);
    });
    const onLevelDetails = (_event: unknown, data: LevelUpdatedData) => {
      if (!current() || data.details.live) return;
      if (!this.firstFrameSeen && !this.everLive) {
        // The last broadcast's playlist, still served: not something to play from the start.
        this.goOffline('Waiting for the broadcaster to go live. Playback starts on its own.');
        return;
      }
      this.ended = true;
    };
    hls.on(Hls.Events.LEVEL_LOADED, onLevelDetails);
    hls.on(Hls.Events.LEVEL_UPDATED, onLevelDetails);
    hls.on(Hls.Events.LEVEL_SWITCHED, () => {
      if (current()) this.reportInfo();
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      if (current()) this.play();
    });
    hls.attachMedia(this.video);
    hls.loadSource(this.options.manifestUrl);
  }

  private attachNative(): void {
    const generation = this.generation;
    this.native = true;
    const onError = () => {
      if (generation === this.generation && !this.stopped) this.restart('The HLS stream could not be played.');
    };
    this.video.addEventListener('error', onError, { once: true });
    this.detach.push(() => this.video.removeEventListener('error', onError));
    this.video.src = this.options.manifestUrl;
    this.play();
    this.cb.onInfo?.({ rendition: null, latencySec: null, native: true });
  }

  private onHlsError(Hls: HlsConstructor, hls: HlsType, data: ErrorData): void {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      const code = data.response?.code;
      const playlist = data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR || data.details === Hls.ErrorDetails.LEVEL_LOAD_ERROR;
      if (playlist && code === 404) {
        this.goOffline(this.everLive ? 'The broadcaster stopped. Playback resumes on its own when they are back.' : 'Waiting for the broadcaster to go live. Playback starts on its own.');
        return;
      }
      this.restart(code ? `The HLS origin answered ${code}.` : 'The HLS origin is unreachable.');
      return;
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      const now = performance.now();
      this.mediaRecoveries = this.mediaRecoveries.filter((t) => now - t < 10_000);
      this.mediaRecoveries.push(now);
      if (this.mediaRecoveries.length >= 3) {
        this.mediaRecoveries = [];
        this.restart('The video could not be decoded.');
        return;
      }
      if (this.mediaRecoveries.length === 2 && now - this.mediaRecoveries[0]! < 3000) hls.swapAudioCodec();
      hls.recoverMediaError();
      return;
    }
    this.restart(`HLS playback failed (${data.details}).`);
  }

  private play(): void {
    // Muted autoplay is allowed everywhere; otherwise the player's play button starts it.
    this.video.play().catch(() => undefined);
  }

  private watchFrames(): void {
    const generation = this.generation;
    const onFrame = () => {
      if (generation !== this.generation || this.stopped) return;
      this.onMedia();
      this.frameHandle = this.video.requestVideoFrameCallback?.(onFrame);
    };
    this.frameHandle = this.video.requestVideoFrameCallback?.(onFrame);
  }

  private onMedia(): void {
    const now = performance.now();
    this.lastMediaAt = now;
    if (!this.firstFrameSeen) {
      this.firstFrameSeen = true;
      this.cb.onTiming?.({ gatherMs: null, answerMs: null, connectedMs: null, firstFrameMs: now - this.attemptStartedAt });
    }
    if (this.status.state !== 'live') {
      this.everLive = true;
      this.failures = 0;
      this.setStatus('live', null);
      this.reportInfo();
    }
  }

  private reportInfo(): void {
    const hls = this.hls;
    if (!hls) return;
    const level = hls.levels[hls.currentLevel];
    const latency = hls.latency;
    this.cb.onInfo?.({
      rendition: renditionLabel(level ? { width: level.width, height: level.height, bitrate: level.bitrate } : null),
      latencySec: Number.isFinite(latency) && latency > 0 ? latency : null,
      native: false,
    });
    const quality = this.video.getVideoPlaybackQuality?.();
    this.cb.onStats?.({
      counters: { timestamp: performance.now(), videoBytes: 0, audioBytes: 0, framesDecoded: quality?.totalVideoFrames ?? 0, packetsReceived: 0, packetsLost: 0, jitterBufferDelay: 0, jitterBufferEmittedCount: 0, totalDecodeTime: 0 },
      width: this.video.videoWidth || null,
      height: this.video.videoHeight || null,
      fps: level?.frameRate || null,
      videoCodec: level?.videoCodec ?? null,
      audioCodec: level?.audioCodec ?? null,
      bitrateKbps: level?.bitrate ? level.bitrate / 1000 : null,
      packetLossPercent: null,
      packetsLost: 0,
      framesDecoded: quality?.totalVideoFrames ?? 0,
      rttMs: null,
      jitterBufferMs: null,
      decodeMs: null,
      latencyMs: Number.isFinite(latency) && latency > 0 ? latency * 1000 : null,
    });
  }

  /** hls.js only (native HLS holds its own latency): see live-catch-up.ts. */
  private holdTargetLatency(): void {
    const hls = this.hls;
    const video = this.video;
    if (!hls || this.status.state !== 'live' || video.paused) return;
    const buffered = video.buffered;
    const bufferAheadSec = buffered.length > 0 ? buffered.end(buffered.length - 1) - video.currentTime : 0;
    const rate = catchUpRate({ latencySec: hls.latency, targetSec: hls.targetLatency ?? Number.NaN, bufferAheadSec, rate: video.playbackRate });
    if (rate !== video.playbackRate) video.playbackRate = rate;
  }

  private async isListedLive(): Promise<boolean | null> {
    try {
      const res = await fetch(this.options.liveUrl, { cache: 'no-store', signal: AbortSignal.timeout(3000) });
      if (!res.ok) return null;
      const list: unknown = await res.json();
      return Array.isArray(list) && list.some((s) => s && typeof s === 'object' && (s as { name?: unknown }).name === this.options.streamName);
    } catch {
      return null;
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const now = performance.now();
    if (this.status.state === 'offline') {
      if (this.loading || this.retryTimer !== undefined || this.hls || this.native) return;
      if (now - this.lastListCheck < this.offlinePollMs) return;
      this.lastListCheck = now;
      const listed = await this.isListedLive();
      // Listed on the ingest: the transcoder publishes within a second or two; a 404 brings us back here.
      if (!this.stopped && this.status.state === 'offline' && !this.hls && !this.loading && listed !== false) void this.load();
      return;
    }
    if (!this.hls && !this.native) return;
    // Rendering may be throttled (hidden tab): the clock moving counts as media too.
    const t = this.video.currentTime;
    if (this.lastCurrentTime >= 0 && t > this.lastCurrentTime && (document.hidden || typeof this.video.requestVideoFrameCallback !== 'function')) this.onMedia();
    this.lastCurrentTime = t;
    if (this.status.state === 'live') this.reportInfo();
    const idle = now - this.lastMediaAt;
    if (this.ended && idle >= this.stallMs) {
      this.goOffline('The broadcast ended. Playback resumes on its own when it is back.');
      return;
    }
    if (this.status.state === 'live' && idle >= this.stallMs) this.setStatus('reconnecting', 'The stream stalled. Waiting for more video…');
    if (idle >= this.restartAfterStallMs) this.restart(this.everLive ? 'No video is arriving.' : 'The stream did not start.');
  }
}
