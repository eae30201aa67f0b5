/**
 * A WebTransport client in Node on the same quiche binding, for tests and the bench:
 * `connectWebTransport(url, options)` opens a QUIC connection, checks the server certificate
 * (pinned SHA-256 like the W3C `serverCertificateHashes`, or a CA), sends the extended CONNECT
 * and resolves with the session as a W3C `WebTransport` once the server answered 200.
 *
 * `QuicheClientConnection` underneath also has raw knobs for hostile tests: requests with any
 * fields or any bytes, streams with arbitrary first bytes, and leaving without a goodbye.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { H3 } from '@onair/webtransport/error-codes';
import { encodeFrame, FrameType } from '@onair/webtransport/frame';
import { fieldValues } from '@onair/webtransport/message-head';
import { encodeFieldSection, type Field } from '@onair/webtransport/qpack/field-section';
import { parseStringItem, serializeStringList } from '@onair/webtransport/structured-field';
import { MAX_HASHED_VALIDITY_MS } from './certificates';
import { ClientRequestStream } from './client-request-stream';
import type { StreamHandler } from './stream-handler';
import { Http3Connection } from './http3-connection';
import { createClientConfig, MAX_SEND_UDP_PAYLOAD } from './quic-config';
import { QuicConnection, type QuicCloseInfo, type StreamWriteError } from './quic-connection';
import { quiche, type HostPort } from './quiche';
import { DEFAULT_LIMITS } from './server-options';
import { TurnScheduler } from './turn-scheduler';
import { W3cWebTransport } from './w3c-session';
import { WebTransportError } from './webtransport-error';
import { WtSession } from './wt-session';

export interface QuicheClientOptions {
  /** SHA-256 of certificates to accept (hex or bytes), like W3C `serverCertificateHashes`. */
  serverCertificateHashes?: Array<string | Uint8Array>;
  /**
   * A PEM CA bundle to verify the server with instead. quiche checks the name as a DNS name, so
   * give `serverName` when connecting to an IP address.
   */
  ca?: string;
  /** SNI and the name the certificate must carry; default the URL's host. */
  serverName?: string;
  /** ms to wait for the handshake (and, for a session, the response). Default 10 000. */
  timeoutMs?: number;
  /** QUIC idle timeout, ms. Default 30 000. */
  idleTimeoutMs?: number;
  /** Our receive windows, bytes. Default 1 MiB per stream, 4 MiB per connection. */
  streamReceiveWindow?: number;
  sessionReceiveWindow?: number;
  /** Streams the server may open towards us at once. Default 100 uni, 32 bidi. */
  maxIncomingUniStreams?: number;
  maxIncomingBidiStreams?: number;
}

export interface WebTransportConnectOptions extends QuicheClientOptions {
  /** Offered in `wt-available-protocols`. */
  protocols?: string[];
  /** More request fields, e.g. `origin`. */
  headers?: Record<string, string>;
  /** Send `sec-webtransport-http3-draft02: 1` like Chromium. Default true. */
  draft02?: boolean;
}

/** A CONNECT that did not give a session: the HTTP status when the server answered one. */
export class WebTransportConnectError extends WebTransportError {
  constructor(
    message: string,
    readonly status?: number,
    readonly connectionError?: QuicCloseInfo,
  ) {
    super(message, { source: 'session' });
  }
}

export class ClientWebTransport extends W3cWebTransport {
  constructor(
    session: WtSession,
    protocol: string,
    readonly connection: QuicheClientConnection,
    readonly response: { status: number; fields: Field[] },
  ) {
    super(session, { protocol, receiveHighWaterMark: DEFAULT_LIMITS.receiveHighWaterMark, datagramHighWaterMark: DEFAULT_LIMITS.datagramHighWaterMark });
  }
}

/** Shared by every client connection in this process (see QuicConnectionOptions.scratch). */
const CLIENT_SCRATCH = { read: new Uint8Array(64 * 1024), send: new Uint8Array(MAX_SEND_UDP_PAYLOAD) };

function hexOf(hash: string | Uint8Array): string {
  return typeof hash === 'string' ? hash.toLowerCase().replace(/[^0-9a-f]/g, '') : Buffer.from(hash).toString('hex');
}

export class QuicheClientConnection {
  readonly quic: QuicConnection;
  readonly h3: Http3Connection;
  /** Resolves when the QUIC connection is over, with who closed it and why. */
  readonly closed: Promise<QuicCloseInfo>;
  readonly authority: string;
  private readonly socket: Socket;
  private socketClosed = false;

  private constructor(socket: Socket, remote: HostPort, local: HostPort, serverName: string, options: QuicheClientOptions) {
    this.socket = socket;
    this.authority = `${remote.host.includes(':') ? `[${remote.host}]` : remote.host}:${remote.port}`;
    const config = createClientConfig(
      {
        idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
        streamReceiveWindow: options.streamReceiveWindow ?? DEFAULT_LIMITS.streamReceiveWindow,
        sessionReceiveWindow: options.sessionReceiveWindow ?? DEFAULT_LIMITS.sessionReceiveWindow,
        maxIncomingUniStreams: options.maxIncomingUniStreams ?? DEFAULT_LIMITS.maxIncomingUniStreams,
        maxIncomingBidiStreams: options.maxIncomingBidiStreams ?? DEFAULT_LIMITS.maxIncomingBidiStreams,
        maxRequestStreams: 0,
      },
      options.ca,
    );
    const native = quiche.Connection.connect(serverName, randomBytes(quiche.MAX_CONN_ID_LEN), local, remote, config);
    this.quic = new QuicConnection(native, {
      role: 'client',
      local,
      remote,
      transmit: (packet, to) => {
        if (!this.socketClosed) this.socket.send(packet, to.port, to.host);
      },
      scheduler: new TurnScheduler(),
      onInternalError: (error) => console.error('quiche client internal error', error),
      scratch: CLIENT_SCRATCH,
    });
    let resolveClosed!: (info: QuicCloseInfo) => void;
    this.closed = new Promise((resolve) => (resolveClosed = resolve));
    this.h3 = new Http3Connection(this.quic, {
      maxFieldSectionSize: 64 * 1024,
      maxSessions: 1,
      maxParkedStreams: 64,
      onClosed: (info) => {
        this.closeSocket();
        resolveClosed(info);
      },
    });
    socket.on('message', (packet, from) => this.quic.receive(packet, { host: from.address, port: from.port }));
  }

  /** Opens a QUIC + HTTP/3 connection to `host:port` and checks the server's certificate. */
  static async connect(host: string, port: number, options: QuicheClientOptions = {}): Promise<QuicheClientConnection> {
    // Large socket buffers: a burst that overflows the default ~200 KiB is lost, and quiche 0.18
    // recovers some losses badly (README of this folder: a FIN lost after its data was acknowledged).
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, isIPv6(host) ? '::1' : '127.0.0.1', () => resolve());
    });
    const local = { host: socket.address().address, port: socket.address().port };
    const client = new QuicheClientConnection(socket, { host, port }, local, options.serverName ?? host, options);
    client.quic.flush(); // the Initial
    const timeoutMs = options.timeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.abandon();
        reject(new WebTransportConnectError(`QUIC handshake with ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      client.h3.established.then(() => {
        clearTimeout(timer);
        resolve();
      });
      client.closed.then((info) => {
        clearTimeout(timer);
        reject(new WebTransportConnectError(`QUIC connection closed during the handshake`, undefined, info));
      });
    });
    if (!options.ca) client.checkPinnedCertificate(options.serverCertificateHashes ?? []);
    return client;
  }

  /** W3C `serverCertificateHashes`: the leaf's SHA-256 must be pinned and its validity ≤ 14 days. */
  private checkPinnedCertificate(hashes: Array<string | Uint8Array>): void {
    const leaf = this.quic.native.peerCertChain()?.[0];
    const fail = (why: string): never => {
      this.close(H3.NO_ERROR, why);
      throw new WebTransportConnectError(why);
    };
    if (!leaf) fail('server sent no certificate');
    const sha256 = createHash('sha256').update(leaf!).digest('hex');
    if (!hashes.map(hexOf).includes(sha256)) fail(`server certificate ${sha256} is not one of the pinned hashes`);
    const certificate = new X509Certificate(leaf!);
    const validity = new Date(certificate.validTo).getTime() - new Date(certificate.validFrom).getTime();
    if (validity > MAX_HASHED_VALIDITY_MS) fail('a pinned certificate must be valid for 14 days at most');
    const now = Date.now();
    if (now < new Date(certificate.validFrom).getTime() || now > new Date(certificate.validTo).getTime()) fail('server certificate is not valid now');
  }

  /** Sends a request with these fields (QPACK-encoded) on a new bidirectional stream. */
  request(fields: readonly Field[], options: { fin?: boolean } = {}): ClientRequestStream {
    return this.rawRequest(encodeFrame(FrameType.HEADERS, encodeFieldSection(fields)), options);
  }

  /** Sends any bytes as the start of a request stream (malformed frames, bad QPACK, …). */
  rawRequest(bytes: Uint8Array, options: { fin?: boolean } = {}): ClientRequestStream {
    const streamId = this.quic.tryOpenStream(true, bytes);
    if (streamId === undefined) throw new Error('no bidirectional stream credit left');
    const request = new ClientRequestStream(streamId, this.h3);
    this.h3.streams.set(streamId, request);
    if (options.fin) {
      this.quic.send(streamId, new Uint8Array(0), true);
      request.finishedSending();
    }
    return request;
  }

  /** Opens a stream whose first bytes are `bytes` (a WebTransport header, garbage…). */
  rawStream(bidi: boolean, bytes: Uint8Array): RawStream {
    const streamId = this.quic.tryOpenStream(bidi, bytes);
    if (streamId === undefined) throw new Error('no stream credit left');
    const stream = new RawStream(streamId, this.quic, () => this.h3.streams.delete(streamId));
    this.h3.streams.set(streamId, stream);
    return stream;
  }

  /** The extended CONNECT for a WebTransport session on `path`. */
  async webTransport(path: string, options: WebTransportConnectOptions = {}): Promise<ClientWebTransport> {
    const fields: Field[] = [
      [':method', 'CONNECT'],
      [':protocol', 'webtransport'],
      [':scheme', 'https'],
      [':authority', this.authority],
      [':path', path],
    ];
    if (options.draft02 ?? true) fields.push(['sec-webtransport-http3-draft02', '1']);
    if (options.protocols?.length) fields.push(['wt-available-protocols', serializeStringList(options.protocols)]);
    for (const [name, value] of Object.entries(options.headers ?? {})) fields.push([name.toLowerCase(), value]);
    const request = this.request(fields);
    this.h3.sessionPending(request.streamId);
    const timeoutMs = options.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const response = await Promise.race([
      request.response,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new WebTransportConnectError(`no response to CONNECT ${path} within ${timeoutMs} ms`)), timeoutMs))),
      this.closed.then((info) => Promise.reject(new WebTransportConnectError('connection closed before the response', undefined, info))),
    ]).finally(() => clearTimeout(timer));
    if (response.status < 200 || response.status > 299) {
      this.h3.sessionDecided(request.streamId, undefined);
      throw new WebTransportConnectError(`CONNECT ${path} answered ${response.status}`, response.status);
    }
    const session = new WtSession(request.streamId, this.h3, request, { maxIncomingUniStreams: options.maxIncomingUniStreams ?? 100, maxIncomingBidiStreams: options.maxIncomingBidiStreams ?? 32, readChunkBytes: 64 * 1024 }, () => {});
    request.attach(session);
    const protocolField = fieldValues(response.fields, 'wt-protocol')[0];
    const transport = new ClientWebTransport(session, protocolField === undefined ? '' : (parseStringItem(protocolField) ?? ''), this, response);
    this.h3.sessionDecided(request.streamId, session);
    this.quic.schedule();
    return transport;
  }

  /** CONNECTION_CLOSE with an HTTP/3 code. */
  close(code: number = H3.NO_ERROR, reason = ''): void {
    this.quic.close(code, reason);
  }

  /** Vanishes: no CONNECTION_CLOSE, the socket just closes (the server finds out by idle timeout). */
  abandon(): void {
    this.quic.abandon();
    this.closeSocket();
  }

  private closeSocket(): void {
    if (this.socketClosed) return;
    this.socketClosed = true;
    this.socket.close();
  }
}

/** A stream driven byte by byte by a test: what the server did to it is recorded. */
export class RawStream implements StreamHandler {
  /** What the server sent on it (bidirectional streams). */
  received = new Uint8Array(0);
  /** Settles with the server's STOP_SENDING code (null when quiche lost it: see QuicConnection). */
  readonly stopped: Promise<number | null>;
  /** Settles when the server's side ends: FIN, or RESET_STREAM with a code. */
  readonly ended: Promise<{ fin: boolean; resetCode?: number }>;
  private resolveStopped!: (code: number | null) => void;
  private resolveEnded!: (end: { fin: boolean; resetCode?: number }) => void;

  constructor(
    readonly id: number,
    private readonly quic: QuicConnection,
    private readonly forget: () => void,
  ) {
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  write(bytes: Uint8Array, fin = false): Promise<void> {
    return this.quic.write(this.id, bytes, fin);
  }

  reset(code: number): void {
    this.quic.resetStream(this.id, code);
  }

  onReadable(): void {
    for (;;) {
      const read = this.quic.read(this.id, 64 * 1024);
      if (read.kind === 'blocked') return;
      if (read.kind !== 'data') {
        this.resolveEnded({ fin: false, resetCode: read.kind === 'reset' ? read.code : undefined });
        return this.forget();
      }
      const merged = new Uint8Array(this.received.length + read.bytes.length);
      merged.set(this.received);
      merged.set(read.bytes, this.received.length);
      this.received = merged;
      if (read.fin) {
        this.resolveEnded({ fin: true });
        return this.forget();
      }
    }
  }

  onStopSending(code: number | null): void {
    this.resolveStopped(code);
  }

  /**
   * Keeps writing `bytes` until the server's STOP_SENDING shows, and returns its code: with data
   * in flight quiche keeps the code (an idle, fully acknowledged stream loses it).
   */
  writeUntilStopped(bytes: Uint8Array, timeoutMs = 5000): Promise<number | null> {
    return writeUntilStopped(this.quic, this.id, bytes, timeoutMs);
  }
}

/**
 * Keeps writing `bytes` on a stream, back to back, until the peer's STOP_SENDING shows, and
 * returns its code: quiche keeps the code only while data is unacknowledged (see QuicConnection).
 */
export async function writeUntilStopped(quic: QuicConnection, streamId: number, bytes: Uint8Array, timeoutMs = 5000): Promise<number | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      await quic.write(streamId, bytes, false);
    } catch (error) {
      const code = (error as StreamWriteError).stoppedCode;
      if (code !== undefined) return code;
      throw error;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`stream ${streamId} was not stopped within ${timeoutMs} ms`);
}

/** Connects and opens a WebTransport session at `url` (https://host:port/path?query). */
export async function connectWebTransport(url: string | URL, options: WebTransportConnectOptions = {}): Promise<ClientWebTransport> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const connection = await QuicheClientConnection.connect(host, Number(target.port || 443), options);
  try {
    return await connection.webTransport(target.pathname + target.search, options);
  } catch (error) {
    connection.close(H3.NO_ERROR, 'no session');
    throw error;
  }
}
