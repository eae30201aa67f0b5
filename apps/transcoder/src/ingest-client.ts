/**
 * The transcoder's client of the ingest's admin API:
 * - `GET /api/events?owner=…&instance=…` (server-sent events): `stream.live` / `stream.offline`
 *   with `{streamId, name}`; on connect the ingest replays the live streams as `stream.live`;
 *   `renditions.wanted` with `{streamId, name, codecs}` while viewers need a VP8 rendition.
 *   Reconnects with exponential backoff (1 s → 30 s) and a fresh backoff after a good connection.
 *   While it is open this instance holds the lease its forwards live under: they end a few
 *   seconds after it closes (this process died), or at once when a newer instance of the same
 *   owner connects (this process was replaced).
 * - `POST /api/streams/<id>/forwards` → `{id, sdp}` and `DELETE …/forwards/<forwardId>`.
 * - `POST /api/streams/<id>/renditions` → where to send the encoded rungs as RTP (one port, an
 *   SSRC per rung), and `DELETE …/renditions/<setId>`; a set lives under the same lease.
 * - `GET /api/streams/<id>` for what the ingest measured of the source (size, frame rate).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { Logger } from '@onair/service/logger';
import { OnairError, problemFromResponse } from '@onair/shared/errors';

const streamEventSchema = z.object({ streamId: z.string().min(1), name: z.string().nullable().optional() });
export type StreamEvent = { streamId: string; name: string | null };
const wantedEventSchema = streamEventSchema.extend({ codecs: z.array(z.string().max(16)).max(8) });
/** `renditions.wanted`: the video codecs a stream's viewers need as on-demand renditions (`[]`: none now). */
export type RenditionsWantedEvent = StreamEvent & { codecs: string[] };

const forwardResponseSchema = z.object({ id: z.string().min(1), sdp: z.string().min(1) });
export type Forward = z.infer<typeof forwardResponseSchema>;

const rtpTrackSchema = z.object({ codec: z.string(), payloadType: z.number().int().min(0).max(127), clockRate: z.number().int().positive() });
export const renditionSetSchema = z.object({
  id: z.string().min(1),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  video: rtpTrackSchema,
  renditions: z.array(z.object({ name: z.string().min(1), ssrc: z.number().int().min(1).max(0x7fffffff) })),
  audio: rtpTrackSchema.extend({ ssrc: z.number().int().min(1).max(0x7fffffff) }).nullable(),
  sdp: z.string(),
});
/** The ingest's answer to a rendition announcement: where each rung's RTP goes. */
export type RenditionSetAnswer = z.infer<typeof renditionSetSchema>;

/** What the transcoder announces of a stream's encoded rungs. */
export interface RenditionSetRequest {
  renditions: Array<{ name: string; width: number; height: number; videoKbps: number; frameRate: number }>;
  audio: boolean;
  /** Video codec of every rung: the H.264 ladder (the default) or a VP8 rendition made on demand. */
  codec?: 'H264' | 'VP8';
  /** The ingest's address to send to (loopback or one of its ICE hosts). */
  host?: string;
  /** The forward the rungs are made from (the ingest dates their frames by it, for lip sync). */
  forward?: string;
}

const streamStateSchema = z.object({
  state: z.object({
    video: z.object({ width: z.number().nullable().optional(), height: z.number().nullable().optional(), fps: z.number().nullable().optional() }).nullable().optional(),
  }),
});

export interface IngestClientOptions {
  /** Base URL of the ingest, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** The admin token (`Authorization: Bearer …`). */
  adminToken: string | undefined;
  /** This transcoder's stable name (ONAIR_TRANSCODER_ID): a new instance under it replaces the old one's forwards. */
  owner: string;
  log: Logger;
  /** Backoff between reconnects, ms. Default 1000 → 30 000. */
  reconnect?: { initialMs: number; maxMs: number };
  /** Timeout of one request (not the event stream), ms. Default 5000. */
  requestTimeoutMs?: number;
}

export interface ServerSentEvent {
  event: string;
  data: string;
}

/** Incremental SSE parser (WHATWG HTML §9.2.6): feed text chunks, get complete events. */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];

  push(text: string): ServerSentEvent[] {
    this.buffer += text;
    const out: ServerSentEvent[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A CR that ends the chunk may be the first half of a CRLF split across chunks: wait.
      if (this.buffer[newline] === '\r' && newline === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, newline);
      const length = this.buffer.startsWith('\r\n', newline) ? 2 : 1;
      this.buffer = this.buffer.slice(newline + length);
      if (line === '') {
        if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') });
        this.event = '';
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
    }
    // Guard against a peer that never sends a newline.
    if (this.buffer.length > 1 << 20) this.buffer = '';
    return out;
  }
}

export class IngestClient extends EventEmitter<{
  live: [StreamEvent];
  offline: [StreamEvent];
  /** In a cluster: a live stream's publisher is on another ingest node now (forwards on the old one are gone). */
  moved: [StreamEvent];
  'renditions-wanted': [RenditionsWantedEvent];
  connected: [];
  disconnected: [Error];
}> {
  private readonly opts: IngestClientOptions;
  private readonly log: Logger;
  private abort: AbortController | null = null;
  private running = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private _connected = false;
  private _lastError: string | null = null;
  /** This process's lease: new at each start, so the ingest tells a restart from a reconnect. */
  readonly instance = randomUUID();

  constructor(opts: IngestClientOptions) {
    super();
    this.opts = { ...opts, baseUrl: opts.baseUrl.replace(/\/$/, '') };
    this.log = opts.log.child({ component: 'ingest-client' });
  }

  get connected(): boolean {
    return this._connected;
  }

  get lastError(): string | null {
    return this._lastError;
  }

  /** Starts following the event stream (reconnecting until close()). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  close(): void {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.abort?.abort();
    this.abort = null;
  }

  /**
   * `keyframeIntervalMs` makes the ingest ask the publisher for keyframes regularly (passthrough
   * needs them); `holdUntilReadyMs` makes it send nothing until `requestKeyframe()` (at most that
   * long), then start with the packets since the publisher's last keyframe.
   */
  async createForward(streamId: string, ports: { host: string; videoPort: number; audioPort: number; keyframeIntervalMs?: number; holdUntilReadyMs?: number }): Promise<Forward> {
    const body = await this.request('POST', `/api/streams/${encodeURIComponent(streamId)}/forwards`, { ...ports, instance: this.instance });
    const parsed = forwardResponseSchema.safeParse(body);
    if (!parsed.success) throw new OnairError('upstream_unreachable', `The ingest answered the forward request with an unexpected body: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    return parsed.data;
  }

  /**
   * Tells the ingest that ffmpeg has bound its ports: it sends the packets since the last
   * keyframe again (`replayedPackets`, the first time) or asks the publisher for a keyframe.
   */
  async requestKeyframe(streamId: string, forwardId: string): Promise<{ replayedPackets?: number }> {
    const body = await this.request('POST', `/api/streams/${encodeURIComponent(streamId)}/forwards/${encodeURIComponent(forwardId)}/keyframe`);
    const replayed = (body as { replayedPackets?: unknown } | undefined)?.replayedPackets;
    return typeof replayed === 'number' && Number.isInteger(replayed) && replayed >= 0 ? { replayedPackets: replayed } : {};
  }

  /** Announces the rungs this transcoder encodes for the stream; the ingest answers where to send their RTP. */
  async createRenditions(streamId: string, announcement: RenditionSetRequest): Promise<RenditionSetAnswer> {
    const body = await this.request('POST', `/api/streams/${encodeURIComponent(streamId)}/renditions`, { ...announcement, instance: this.instance });
    const parsed = renditionSetSchema.safeParse(body);
    if (!parsed.success) throw new OnairError('upstream_unreachable', `The ingest answered the renditions request with an unexpected body: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return parsed.data;
  }

  async deleteRenditions(streamId: string, setId: string): Promise<void> {
    try {
      await this.request('DELETE', `/api/streams/${encodeURIComponent(streamId)}/renditions/${encodeURIComponent(setId)}`);
    } catch (error) {
      // Already gone: the stream went offline, or a newer set replaced it.
      if (error instanceof OnairError && error.status === 404) return;
      throw error;
    }
  }

  async deleteForward(streamId: string, forwardId: string): Promise<void> {
    try {
      await this.request('DELETE', `/api/streams/${encodeURIComponent(streamId)}/forwards/${encodeURIComponent(forwardId)}`);
    } catch (error) {
      // Already gone (stream ended) is the expected case at stop.
      if (error instanceof OnairError && error.status === 404) return;
      throw error;
    }
  }

  /** Source size and frame rate as measured by the ingest, when it knows them. */
  async sourceHints(streamId: string): Promise<{ width?: number; height?: number; fps?: number }> {
    try {
      const parsed = streamStateSchema.safeParse(await this.request('GET', `/api/streams/${encodeURIComponent(streamId)}`));
      const video = parsed.success ? parsed.data.state.video : null;
      return { width: video?.width ?? undefined, height: video?.height ?? undefined, fps: video?.fps ?? undefined };
    } catch {
      return {};
    }
  }

  /** One probe of the admin API (for /healthz when the event stream is down). */
  private async request(method: string, path: string, json?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.opts.baseUrl}${path}`, {
        method,
        headers: { ...this.authHeader(), ...(json === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 5000),
      });
    } catch (cause) {
      throw new OnairError('upstream_unreachable', `The ingest at ${this.opts.baseUrl} is unreachable (${(cause as Error).message}).`, { cause });
    }
    const text = await response.text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (!response.ok) throw problemFromResponse(response.status, body);
    return body;
  }

  private authHeader(): Record<string, string> {
    return this.opts.adminToken ? { Authorization: `Bearer ${this.opts.adminToken}` } : {};
  }

  private async connect(): Promise<void> {
    if (!this.running) return;
    const abort = new AbortController();
    this.abort = abort;
    let error: Error = new Error('event stream ended');
    try {
      const lease = new URLSearchParams({ owner: this.opts.owner, instance: this.instance });
      const response = await fetch(`${this.opts.baseUrl}/api/events?${lease}`, { headers: { Accept: 'text/event-stream', ...this.authHeader() }, signal: abort.signal });
      if (!response.ok || !response.body) {
        const body = await response.text().catch(() => '');
        throw new Error(`GET /api/events answered ${response.status}${body ? `: ${body.slice(0, 200)}` : ''}`);
      }
      this.attempt = 0;
      this._connected = true;
      this._lastError = null;
      this.log.info({ url: this.opts.baseUrl }, 'following ingest events');
      this.emit('connected');
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        for (const event of parser.push(decoder.decode(chunk, { stream: true }))) this.dispatch(event);
      }
    } catch (caught) {
      error = caught as Error;
    }
    const wasConnected = this._connected;
    this._connected = false;
    if (!this.running) return;
    this._lastError = error.message;
    if (wasConnected) this.emit('disconnected', error);
    const backoff = this.opts.reconnect ?? { initialMs: 1000, maxMs: 30_000 };
    const delay = Math.min(backoff.initialMs * 2 ** this.attempt, backoff.maxMs);
    this.attempt++;
    this.log[this.attempt > 1 ? 'debug' : 'warn']({ err: error.message, retryInMs: delay }, 'ingest event stream down');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private dispatch(event: ServerSentEvent): void {
    if (event.event !== 'stream.live' && event.event !== 'stream.offline' && event.event !== 'renditions.wanted') return;
    let value: unknown;
    try {
      value = JSON.parse(event.data);
    } catch {
      this.log.warn({ event: event.event }, 'ignoring an event whose data is not JSON');
      return;
    }
    if (event.event === 'renditions.wanted') {
      const wanted = wantedEventSchema.safeParse(value);
      if (wanted.success) this.emit('renditions-wanted', { streamId: wanted.data.streamId, name: wanted.data.name ?? null, codecs: wanted.data.codecs });
      else this.log.warn({ event: event.event }, 'ignoring a renditions.wanted event without streamId and codecs');
      return;
    }
    const parsed = streamEventSchema.safeParse(value);
    if (!parsed.success) {
      this.log.warn({ event: event.event }, 'ignoring an event without streamId');
      return;
    }
    const payload = { streamId: parsed.data.streamId, name: parsed.data.name ?? null };
    this.emit(event.event === 'stream.live' ? 'live' : 'offline', payload);
  }
}
