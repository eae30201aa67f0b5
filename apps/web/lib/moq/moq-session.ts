/**
 * One WebTransport publish session: discovery (`GET /api/webtransport` with the key, so a wrong
 * key is told apart from a network that blocks QUIC — Chromium reports a refused CONNECT only
 * as "handshake failed"), the WebTransport session, moq-lite over it, the WebCodecs encoders and
 * the hang broadcast, and the ingest's back channel (keyframe requests). The recovery policy
 * around it is moq-broadcast.ts. Client-only.
 */
import type { WebTransportDiscovery } from '@onair/shared/api';
import { OnairError, problemFromResponse } from '@onair/shared/errors';
import { decodeControlDatagram } from '@onair/shared/moq-control';
import { AudioEncodeLoop } from './audio-encode-loop';
import { hangCatalog, HangPublisher } from './hang-publisher';
import { VideoEncodeLoop } from './video-encode-loop';

/** QUIC could not be used (UDP blocked, a proxy, a certificate the browser refused): WHIP may still work. */
export class TransportUnavailableError extends Error {
  override name = 'TransportUnavailableError';
}

export interface MoqSessionOptions {
  discoveryUrl: string;
  streamKey: string;
  stream: MediaStream;
  /** Video bitrate, bit/s. */
  videoBitrate: number;
  /** Longest GOP, ms. */
  keyframeIntervalMs: number;
  /** How long the QUIC + WebTransport handshake may take, ms. */
  connectTimeoutMs: number;
  signal?: AbortSignal;
}

export interface MoqSessionFigures {
  width: number | null;
  height: number | null;
  videoCodec: string | null;
  audioCodec: string | null;
  /** Totals since the session started (the caller turns them into rates). */
  videoFrames: number;
  videoBytes: number;
  audioBytes: number;
  /** Video frames dropped because the encoder was behind. */
  droppedFrames: number;
  /** Keyframe requests received over the back channel. */
  keyframeRequests: number;
}

export interface MoqSessionEnd {
  /** What happened, for people. */
  detail: string;
  /** The server's close reason when it closed the session (`replaced`: another publisher took the stream over). */
  serverReason: string | null;
}

export interface MoqSession {
  /** The moq-lite version negotiated (e.g. `moq-lite-04`). */
  readonly version: string;
  /** Resolves when the session ends (server closed it, network lost); never rejects. */
  readonly closed: Promise<MoqSessionEnd>;
  figures(): MoqSessionFigures;
  /** Encodes another source from now on (camera ↔ screen) without a new session. */
  replaceStream(stream: MediaStream): void;
  close(): void;
}

/** The moq-lite versions onair's ingest speaks, best first (answered as `wt-protocol`). */
const PROTOCOLS = ['moq-lite-04', 'moq-lite-03'];

export async function discoverWebTransport(discoveryUrl: string, streamKey: string, signal?: AbortSignal): Promise<WebTransportDiscovery> {
  let response: Response;
  try {
    response = await fetch(discoveryUrl, { headers: { Authorization: `Bearer ${streamKey}` }, cache: 'no-store', signal });
  } catch (error) {
    throw new OnairError('upstream_unreachable', `The server could not be reached (${error instanceof Error ? error.message : String(error)}).`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw problemFromResponse(response.status, body);
  const discovery = parseDiscovery(body);
  if (!discovery) throw new OnairError('upstream_unreachable', 'The server answered the WebTransport discovery with something unexpected.');
  return discovery;
}

/**
 * The discovery document checked by hand rather than with its zod schema (@onair/shared/api):
 * zod probes `new Function` the first time it parses, which the pages' CSP (no 'unsafe-eval')
 * reports as a violation, and the broadcaster's bundle needs no zod otherwise.
 */
export function parseDiscovery(body: unknown): WebTransportDiscovery | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const { url, serverCertificateHashes } = body as Record<string, unknown>;
  if (typeof url !== 'string' || !Array.isArray(serverCertificateHashes)) return undefined;
  try {
    if (new URL(url).protocol !== 'https:') return undefined;
  } catch {
    return undefined;
  }
  const hashes: WebTransportDiscovery['serverCertificateHashes'] = [];
  for (const hash of serverCertificateHashes as unknown[]) {
    const { algorithm, value } = (hash ?? {}) as Record<string, unknown>;
    if (algorithm !== 'sha-256' || typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) return undefined;
    hashes.push({ algorithm, value });
  }
  return { url, serverCertificateHashes: hashes };
}

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16));
}

export async function openMoqSession(options: MoqSessionOptions): Promise<MoqSession> {
  const discovery = await discoverWebTransport(options.discoveryUrl, options.streamKey, options.signal);
  const url = new URL(discovery.url);
  url.searchParams.set('key', options.streamKey);
  const transportOptions: WebTransportOptions & { protocols: string[] } = {
    allowPooling: false,
    congestionControl: 'low-latency',
    protocols: PROTOCOLS,
    ...(discovery.serverCertificateHashes.length > 0
      ? { serverCertificateHashes: discovery.serverCertificateHashes.map((hash) => ({ algorithm: hash.algorithm, value: hexToBytes(hash.value) })) }
      : {}),
  };
  let transport: WebTransport;
  try {
    transport = new WebTransport(url, transportOptions);
  } catch (error) {
    throw new TransportUnavailableError(`WebTransport could not start: ${error instanceof Error ? error.message : String(error)}`);
  }
  transport.closed.catch(() => undefined);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      transport.ready,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
        options.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      }),
    ]);
  } catch (error) {
    transport.close();
    throw new TransportUnavailableError(`WebTransport (QUIC over UDP) could not connect: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearTimeout(timer);
  }

  const Moq = await import('@moq/lite');
  let connection: Awaited<ReturnType<typeof Moq.Connection.connect>>;
  try {
    connection = await Moq.Connection.connect(new URL(discovery.url), { transport });
  } catch (error) {
    transport.close();
    throw new TransportUnavailableError(`Media over QUIC could not start: ${error instanceof Error ? error.message : String(error)}`);
  }
  return new PublishingSession(Moq, connection, transport, options);
}

class PublishingSession implements MoqSession {
  readonly version: string;
  readonly closed: Promise<MoqSessionEnd>;
  private video: VideoEncodeLoop | undefined;
  private audio: AudioEncodeLoop | undefined;
  private readonly publisher: HangPublisher;
  private keyframeRequests = 0;
  private lastKeyframeRequest: number | undefined;
  private ended = false;
  private endSession: (end: MoqSessionEnd) => void = () => undefined;
  /** Counters of encoders replaced by replaceStream, so totals never go backwards. */
  private carried = { videoFrames: 0, videoBytes: 0, audioBytes: 0, droppedFrames: 0 };

  constructor(
    moq: typeof import('@moq/lite'),
    private readonly connection: import('@moq/lite').Connection.Established,
    private readonly transport: WebTransport,
    private readonly options: MoqSessionOptions,
  ) {
    this.version = connection.version;
    this.closed = new Promise((resolve) => {
      this.endSession = resolve;
    });
    this.publisher = new HangPublisher(moq, connection, 'onair', { onVideoSubscribed: () => this.video?.requestKeyframe() });
    this.startEncoders(options.stream);
    transport.closed.then(
      (info) => this.end(`the server closed the session${info?.reason ? `: ${info.reason}` : ''}`, info?.reason ?? ''),
      (error: unknown) => this.end(`the connection was lost (${error instanceof Error ? error.message : String(error)})`),
    );
    void this.readBackChannel();
  }

  figures(): MoqSessionFigures {
    const video = this.video?.trackInfo;
    return {
      width: video?.width ?? null,
      height: video?.height ?? null,
      videoCodec: video?.codec ?? null,
      audioCodec: this.audio?.trackInfo ? 'opus' : null,
      videoFrames: this.carried.videoFrames + (this.video?.counters.frames ?? 0),
      videoBytes: this.carried.videoBytes + (this.video?.counters.bytes ?? 0),
      audioBytes: this.carried.audioBytes + (this.audio?.counters.bytes ?? 0),
      droppedFrames: this.carried.droppedFrames + (this.video?.counters.dropped ?? 0),
      keyframeRequests: this.keyframeRequests,
    };
  }

  replaceStream(stream: MediaStream): void {
    const before = this.figures();
    this.carried = { videoFrames: before.videoFrames, videoBytes: before.videoBytes, audioBytes: before.audioBytes, droppedFrames: before.droppedFrames };
    this.video?.close();
    this.audio?.close();
    this.video = undefined;
    this.audio = undefined;
    this.startEncoders(stream);
  }

  close(): void {
    this.end('closed by the broadcaster');
  }

  private startEncoders(stream: MediaStream): void {
    const videoTrack = stream.getVideoTracks()[0];
    const audioTrack = stream.getAudioTracks()[0];
    const publishCatalog = () => this.publisher.setCatalog(hangCatalog(this.video?.trackInfo, this.audio?.trackInfo));
    const fail = (error: Error) => this.end(`the encoder failed (${error.message})`);
    if (videoTrack) {
      this.video = new VideoEncodeLoop(videoTrack, {
        bitrate: this.options.videoBitrate,
        keyframeIntervalMs: this.options.keyframeIntervalMs,
        onFrame: (frame) => {
          // The catalog before the frames it describes (a resolution change comes with a keyframe).
          if (frame.keyframe) publishCatalog();
          this.publisher.writeVideo(frame);
        },
        onError: fail,
      });
    }
    if (audioTrack) {
      this.audio = new AudioEncodeLoop(audioTrack, {
        bitrate: 64_000,
        onFrame: (frame) => {
          if (this.audio?.counters.frames === 1) publishCatalog();
          this.publisher.writeAudio(frame);
        },
        onError: fail,
      });
    }
  }

  private async readBackChannel(): Promise<void> {
    const reader = this.transport.datagrams.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const message = decodeControlDatagram(value);
        // Requests are repeated while a viewer waits and datagrams can be duplicated: honour each number once.
        if (message?.type === 'keyframe-request' && message.request !== this.lastKeyframeRequest) {
          this.lastKeyframeRequest = message.request;
          this.keyframeRequests += 1;
          this.video?.requestKeyframe();
        } else if (message?.type === 'session-end') {
          // The ingest is done with this session: stop the encoders and close it from here.
          this.end('the server ended the session', message.reason);
          return;
        }
      }
    } catch {
      // the session ended
    } finally {
      reader.releaseLock();
    }
  }

  private end(detail: string, serverReason: string | null = null): void {
    if (this.ended) return;
    this.ended = true;
    this.video?.close();
    this.audio?.close();
    this.publisher.close();
    this.connection.close();
    try {
      this.transport.close();
    } catch {
      // already closed
    }
    this.endSession({ detail, serverReason });
  }
}
