/**
 * A browser broadcast over WHIP with recovery. Client-only.
 *
 * - Errors a retry cannot fix (bad key, no codec in common, …) → `error` with the server's
 *   problem detail, and stop.
 * - Network/5xx errors, the peer connection failing (or `disconnected` for over 2 s), or the
 *   server's RTCP receiver reports stopping for 4 s → DELETE
 *   the old resource, `reconnecting`, POST again with backoff. A 409 `publisher_already_live`
 *   while reconnecting is our own previous session not yet expired: retried, not fatal.
 */
import { OnairError } from '@onair/shared/errors';
import { publishWhip, type SessionState, type VideoCodecPreference, type WhipSession } from '@onair/shared/webrtc-client';
import { summarizeOutbound, type OutboundCounters, type OutboundSummary } from '@onair/shared/webrtc-client-stats';
import { backoffDelay } from './backoff';

import type { BroadcastState, BroadcastStatus } from './broadcast-status';

export type { BroadcastState, BroadcastStatus } from './broadcast-status';

export interface BroadcastOptions {
  whipUrl: string;
  streamKey: string;
  stream: MediaStream;
  videoCodec?: VideoCodecPreference;
  /** Video bitrate ceiling, bit/s. Default 2 500 000. */
  maxVideoBitrate?: number;
  /** Send the video as three simulcast layers (the server serves them as renditions). */
  simulcast?: boolean;
  onStatus(status: BroadcastStatus): void;
  onStats?(stats: OutboundSummary): void;
}

const FATAL_CODES = new Set([
  'missing_credentials',
  'invalid_stream_key',
  'stream_not_found',
  'no_supported_codec',
  'unsupported_media_type',
  'invalid_sdp',
  'sdp_too_large',
  'bad_request',
  'method_not_allowed',
  'not_found',
]);

/** No RTCP receiver report for this long while live → the session is considered dead, ms. */
const REPORT_SILENCE_MS = 4000;

export class WhipBroadcast {
  private status: BroadcastStatus = { state: 'idle', detail: null, code: null };
  private session: WhipSession | null = null;
  private stream: MediaStream;
  private generation = 0;
  private stopped = false;
  private attempt: AbortController | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private tickTimer: ReturnType<typeof setInterval> | undefined;
  private failures = 0;
  private wasLive = false;
  private disconnectedAt: number | null = null;
  private counters: OutboundCounters | undefined;
  private iceServers: RTCIceServer[] = [];
  /** Last receiver-report time seen and when it last moved (performance.now()). */
  private report: { at: number | null; movedAt: number } = { at: null, movedAt: 0 };

  constructor(private readonly options: BroadcastOptions) {
    this.stream = options.stream;
  }

  get state(): BroadcastState {
    return this.status.state;
  }

  start(): void {
    this.tickTimer = setInterval(() => void this.tick(), 1000);
    void this.connect();
  }

  /** Stops publishing: DELETE of the WHIP resource. The caller keeps its media tracks. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.tickTimer);
    this.attempt?.abort();
    const closing = this.dropSession();
    this.status = { state: 'idle', detail: null, code: null };
    this.options.onStatus(this.status);
    await closing;
  }

  /**
   * Switches the source while live (camera ↔ screen, another microphone) without renegotiation:
   * tracks of a kind that was negotiated are replaced; a kind that was not is left out.
   */
  async replaceStream(stream: MediaStream): Promise<void> {
    this.stream = stream;
    const session = this.session;
    if (!session) return;
    for (const transceiver of session.pc.getTransceivers()) {
      if (!session.senders.includes(transceiver.sender)) continue;
      // The receiver's track kind is fixed at negotiation, even when the sender's track is null.
      const kind = transceiver.receiver.track.kind;
      const next = kind === 'video' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
      await transceiver.sender.replaceTrack(next ?? null);
    }
  }

  private setStatus(state: BroadcastState, detail: string | null = null, code: string | null = null): void {
    if (this.stopped) return;
    this.status = { state, detail, code };
    this.options.onStatus(this.status);
  }

  private dropSession(): Promise<void> {
    this.generation++;
    this.counters = undefined;
    this.report = { at: null, movedAt: 0 };
    this.disconnectedAt = null;
    const session = this.session;
    this.session = null;
    return session ? session.close() : Promise.resolve();
  }

  private scheduleConnect(delayMs: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), delayMs);
  }

  private async reconnect(detail: string): Promise<void> {
    this.failures++;
    this.setStatus('reconnecting', detail);
    await this.dropSession();
    if (!this.stopped) this.scheduleConnect(backoffDelay(this.failures, { baseMs: 500 }));
  }

  private async connect(): Promise<void> {
    if (this.stopped || this.attempt) return;
    this.setStatus(this.wasLive || this.failures > 0 ? 'reconnecting' : 'connecting', this.status.state === 'reconnecting' ? this.status.detail : null);
    const abort = new AbortController();
    this.attempt = abort;
    const timer = setTimeout(() => abort.abort(), 10_000);
    let session: WhipSession;
    try {
      session = await publishWhip(this.options.whipUrl, this.options.streamKey, this.stream, {
        signal: abort.signal,
        iceServers: this.iceServers,
        videoCodec: this.options.videoCodec ?? 'h264',
        maxVideoBitrate: this.options.maxVideoBitrate,
        degradationPreference: 'maintain-framerate',
        simulcast: this.options.simulcast ?? false,
      });
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
    this.session = session;
    // STUN/TURN servers arrive with the answer (Link, RFC 9725 §4.6): used from the next offer on.
    if (session.iceServers.length > 0) this.iceServers = session.iceServers;
    const generation = this.generation;
    session.on('state', (state) => {
      if (generation === this.generation) this.onSessionState(state);
    });
    this.onSessionState(session.state);
  }

  private onAttemptFailed(error: unknown, timedOut: boolean): void {
    const problem =
      error instanceof OnairError
        ? error
        : new OnairError('upstream_unreachable', timedOut ? 'The server did not answer in time.' : error instanceof Error ? error.message : String(error));
    const ownLeftover = problem.code === 'publisher_already_live' && (this.wasLive || this.failures > 0);
    if (FATAL_CODES.has(problem.code) || (problem.code === 'publisher_already_live' && !ownLeftover)) {
      clearInterval(this.tickTimer);
      this.setStatus('error', problem.message, problem.code);
      return;
    }
    this.failures++;
    const delay = backoffDelay(this.failures, { baseMs: 1000 });
    this.setStatus(this.wasLive || this.failures > 1 ? 'reconnecting' : 'connecting', `${problem.message} Retrying in ${Math.max(1, Math.round(delay / 1000))} s.`, problem.code);
    this.scheduleConnect(delay);
  }

  private onSessionState(state: SessionState): void {
    if (state === 'connected') {
      this.disconnectedAt = null;
      this.wasLive = true;
      this.failures = 0;
      this.setStatus('live');
    } else if (state === 'disconnected') {
      this.disconnectedAt = performance.now();
      this.setStatus('reconnecting', 'Connection interrupted…');
    } else if (state === 'failed' || state === 'closed') {
      void this.reconnect('Connection lost. Reconnecting…');
    }
  }

  private async tick(): Promise<void> {
    const session = this.session;
    if (!session || this.stopped) return;
    // Chrome reports `disconnected` only after ~5 s without consent responses (RFC 7675): by
    // then the path is likely gone, and a new POST is cheap; a brief blip recovers within 2 s.
    if (this.disconnectedAt !== null && performance.now() - this.disconnectedAt > 2000) {
      void this.reconnect('Connection lost. Reconnecting…');
      return;
    }
    const generation = this.generation;
    try {
      const summary = summarizeOutbound(await session.getStats(), this.counters);
      if (generation !== this.generation) return;
      this.counters = summary.counters;
      this.options.onStats?.(summary);
      // The ingest sends RTCP receiver reports about once a second; when they stop, it is gone
      // (killed, restarted) — seconds before ICE consent checks turn the connection `disconnected`.
      const now = performance.now();
      if (summary.remoteReportAt !== null && summary.remoteReportAt !== this.report.at) this.report = { at: summary.remoteReportAt, movedAt: now };
      else if (this.report.at !== null && this.status.state === 'live' && now - this.report.movedAt > REPORT_SILENCE_MS) {
        void this.reconnect('The server stopped responding. Reconnecting…');
      }
    } catch {
      // best effort
    }
  }
}
