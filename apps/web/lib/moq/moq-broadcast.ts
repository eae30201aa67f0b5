/**
 * A browser broadcast over WebTransport (Media over QUIC) with recovery. Client-only. Same
 * states as the WHIP broadcast (whip-broadcast.ts), plus a way out:
 *
 * - Errors a retry cannot fix (bad key, …) → `error` with the server's detail, and stop.
 * - WebTransport unusable before ever going live (no browser support, QUIC blocked on the
 *   path, WebTransport turned off on the server) → `onFallback(reason)`: the caller publishes
 *   over WHIP instead and says why.
 * - Network/5xx errors, or a live session ending → `reconnecting`, a new session with backoff
 *   (QUIC that worked once is not given up for WHIP: the server is more likely restarting).
 * - The server closing the session as `replaced` (another broadcaster took the stream over with
 *   the same key) → `error`, no reconnect: two pages retrying would take turns forever.
 */
import { OnairError } from '@onair/shared/errors';
import { backoffDelay } from '../backoff';
import type { BroadcastFigures, BroadcastStatus } from '../broadcast-status';
import { openMoqSession, TransportUnavailableError, type MoqSession, type MoqSessionFigures } from './moq-session';
import { webTransportPublishingUnsupported } from './track-processor';

export interface MoqBroadcastOptions {
  /** `GET` → where to publish and the certificate hashes (`/api/webtransport` on the web origin). */
  discoveryUrl: string;
  streamKey: string;
  stream: MediaStream;
  /** Video bitrate, bit/s. Default 2 500 000. */
  maxVideoBitrate?: number;
  onStatus(status: BroadcastStatus): void;
  onStats?(figures: BroadcastFigures): void;
  /** WebTransport cannot be used here: publish another way. Called at most once, before going live. */
  onFallback(reason: string): void;
  /** Overrides the session opener (tests). */
  open?: typeof openMoqSession;
  /** Overrides the support check (tests). */
  unsupported?: () => string | null;
}

const FATAL_CODES = new Set(['missing_credentials', 'invalid_stream_key', 'stream_not_found', 'bad_request', 'method_not_allowed', 'not_found']);
/** QUIC handshake budget: on loopback it takes 35–60 ms; a blocked path never answers. */
const CONNECT_TIMEOUT_MS = 4000;

export class MoqBroadcast {
  private status: BroadcastStatus = { state: 'idle', detail: null, code: null };
  private session: MoqSession | null = null;
  private stream: MediaStream;
  private stopped = false;
  private attempt: AbortController | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private tickTimer: ReturnType<typeof setInterval> | undefined;
  private failures = 0;
  private wasLive = false;
  private last: { at: number; figures: MoqSessionFigures } | undefined;

  constructor(private readonly options: MoqBroadcastOptions) {
    this.stream = options.stream;
  }

  get state(): BroadcastStatus['state'] {
    return this.status.state;
  }

  start(): void {
    const unsupported = (this.options.unsupported ?? webTransportPublishingUnsupported)();
    if (unsupported) {
      this.fallBack(unsupported);
      return;
    }
    this.tickTimer = setInterval(() => this.tick(), 1000);
    void this.connect();
  }

  /** Stops publishing: closes the session (the ingest sees the publisher leave at once). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.tickTimer);
    this.attempt?.abort();
    this.session?.close();
    this.session = null;
    this.status = { state: 'idle', detail: null, code: null };
    this.options.onStatus(this.status);
  }

  /** Switches the source while live (camera ↔ screen, another microphone). */
  async replaceStream(stream: MediaStream): Promise<void> {
    this.stream = stream;
    this.session?.replaceStream(stream);
  }

  private setStatus(state: BroadcastStatus['state'], detail: string | null = null, code: string | null = null): void {
    if (this.stopped) return;
    this.status = { state, detail, code };
    this.options.onStatus(this.status);
  }

  private fallBack(reason: string): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.tickTimer);
    this.options.onFallback(reason);
  }

  private async connect(): Promise<void> {
    if (this.stopped || this.attempt) return;
    this.setStatus(this.wasLive || this.failures > 0 ? 'reconnecting' : 'connecting', this.status.state === 'reconnecting' ? this.status.detail : null);
    const abort = new AbortController();
    this.attempt = abort;
    let session: MoqSession;
    try {
      session = await (this.options.open ?? openMoqSession)({
        discoveryUrl: this.options.discoveryUrl,
        streamKey: this.options.streamKey,
        stream: this.stream,
        videoBitrate: this.options.maxVideoBitrate ?? 2_500_000,
        keyframeIntervalMs: 1000,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        signal: abort.signal,
      });
    } catch (error) {
      if (!this.stopped) this.onAttemptFailed(error);
      return;
    } finally {
      if (this.attempt === abort) this.attempt = null;
    }
    if (this.stopped) {
      session.close();
      return;
    }
    this.session = session;
    this.last = undefined;
    this.wasLive = true;
    this.failures = 0;
    this.setStatus('live');
    void session.closed.then(({ detail, serverReason }) => {
      if (this.session !== session || this.stopped) return;
      this.session = null;
      if (serverReason === 'replaced') {
        // Another broadcaster went live with this key (another tab, OBS): taking the stream back
        // would start a tug of war, so this one stops and says why.
        clearInterval(this.tickTimer);
        this.setStatus('error', 'Another broadcaster went live with this stream key and took the stream over.', 'publisher_replaced');
        return;
      }
      this.failures++;
      this.setStatus('reconnecting', `Connection lost (${detail}). Reconnecting…`);
      this.scheduleConnect(backoffDelay(this.failures, { baseMs: 500 }));
    });
  }

  private onAttemptFailed(error: unknown): void {
    if (error instanceof TransportUnavailableError && !this.wasLive) return this.fallBack(error.message);
    if (error instanceof OnairError && error.code === 'webtransport_disabled') return this.fallBack(error.message);
    if (error instanceof OnairError && FATAL_CODES.has(error.code)) {
      clearInterval(this.tickTimer);
      this.setStatus('error', error.message, error.code);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof OnairError ? error.code : 'upstream_unreachable';
    this.failures++;
    const delay = backoffDelay(this.failures, { baseMs: 1000 });
    this.setStatus(this.wasLive || this.failures > 1 ? 'reconnecting' : 'connecting', `${message} Retrying in ${Math.max(1, Math.round(delay / 1000))} s.`, code);
    this.scheduleConnect(delay);
  }

  private scheduleConnect(delayMs: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), delayMs);
  }

  /** Outgoing figures once a second, as rates over the last interval. */
  private tick(): void {
    const session = this.session;
    if (!session || this.stopped) return;
    const now = performance.now();
    const figures = session.figures();
    const previous = this.last;
    this.last = { at: now, figures };
    if (!previous) return;
    const seconds = (now - previous.at) / 1000;
    if (seconds <= 0) return;
    this.options.onStats?.({
      width: figures.width,
      height: figures.height,
      fps: (figures.videoFrames - previous.figures.videoFrames) / seconds,
      videoCodec: figures.videoCodec,
      audioCodec: figures.audioCodec,
      videoKbps: ((figures.videoBytes - previous.figures.videoBytes) * 8) / 1000 / seconds,
      audioKbps: ((figures.audioBytes - previous.figures.audioBytes) * 8) / 1000 / seconds,
      qualityLimitation: figures.droppedFrames > previous.figures.droppedFrames ? 'cpu' : 'none',
      rttMs: null,
      encoder: `WebCodecs · ${session.version}`,
    });
  }
}
