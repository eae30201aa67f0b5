/**
 * The WebTransport server: one UDP socket, QUIC connections found by connection id, HTTP/3 on
 * each, and extended CONNECTs decided by path, limits and `authorize` before a session exists.
 * Accepted sessions are emitted as W3C-shaped `WebTransportSession`s (transport.ts).
 *
 * Ownership: server → ServerConnection (QuicConnection + Http3Connection) → WtSession →
 * WtStream. `close()` cascades; a connection that closes takes its sessions and streams along.
 * Bounds (server-options.ts) are checked on the way in and by a housekeeping sweep for the
 * time-based ones; every refusal and closure for a limit is counted in `getStats()`.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
import { H3, h3ErrorName } from '@onair/webtransport/error-codes';
import { pino, type Logger } from 'pino';
import { ConnectRequestStream, type ConnectAnswer } from './connect-request-stream';
import { Http3Connection } from './http3-connection';
import { createServerConfig, MAX_SEND_UDP_PAYLOAD, type QuicLimits } from './quic-config';
import { QuicConnection } from './quic-connection';
import { quiche, type HostPort, type QuicheConfig, type QuicheConnectionError } from './quiche';
import { pathAllowed, resolveLimits, type WebTransportLimits, type WebTransportServerOptions } from './server-options';
import type { ConnectDecision, WebTransportCertificate, WebTransportConnectRequest, WebTransportServer, WebTransportServerStats, WebTransportSession } from './transport';
import { TurnScheduler } from './turn-scheduler';
import { W3cWebTransport } from './w3c-session';
import type { WtSession } from './wt-session';

/** A server-side session: the W3C object plus who asked for it. */
class ServerWebTransportSession extends W3cWebTransport implements WebTransportSession {
  constructor(
    session: WtSession,
    readonly id: string,
    readonly request: WebTransportConnectRequest,
    options: ConstructorParameters<typeof W3cWebTransport>[1],
  ) {
    super(session, options);
  }
}

interface ServerConnection {
  quic: QuicConnection;
  h3: Http3Connection;
  ip: string;
  keys: string[];
  sessions: number;
  deciding: number;
  /** performance.now() since the connection has had no session (its start, or its last session's end). */
  sessionlessSince: number | undefined;
  requests: Set<ConnectRequestStream>;
}

const READ_CHUNK_BYTES = 64 * 1024;

export class QuicheWebTransportServer extends EventEmitter<{ session: [session: WebTransportSession] }> implements WebTransportServer {
  private readonly limits: WebTransportLimits;
  private readonly quicLimits: QuicLimits;
  private readonly logger: Logger;
  private readonly scheduler = new TurnScheduler();
  private readonly byConnectionId = new Map<string, ServerConnection>();
  private readonly connections = new Set<ServerConnection>();
  private readonly connectionsPerIp = new Map<string, number>();
  private readonly sessionsPerIp = new Map<string, number>();
  private readonly sessionObjects = new Set<ServerWebTransportSession>();
  private sessionsDeciding = 0;
  private config: QuicheConfig;
  private socket: Socket | undefined;
  private local: HostPort;
  private housekeeping: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private pendingSends = 0;
  private readonly scratch = { read: new Uint8Array(READ_CHUNK_BYTES), send: new Uint8Array(MAX_SEND_UDP_PAYLOAD) };
  private readonly refused: Record<string, number> = {};
  private readonly limitClosures: Record<string, number> = {};

  constructor(private readonly options: WebTransportServerOptions) {
    super();
    this.limits = resolveLimits(options.limits);
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.quicLimits = {
      idleTimeoutMs: this.limits.idleTimeoutMs,
      streamReceiveWindow: this.limits.streamReceiveWindow,
      sessionReceiveWindow: this.limits.sessionReceiveWindow,
      maxIncomingUniStreams: this.limits.maxIncomingUniStreams * this.limits.maxSessionsPerConnection,
      maxIncomingBidiStreams: this.limits.maxIncomingBidiStreams * this.limits.maxSessionsPerConnection,
      // The CONNECTs, and a few refused requests in flight beside them.
      maxRequestStreams: this.limits.maxSessionsPerConnection + 4,
    };
    this.config = createServerConfig(options.certificate, this.quicLimits);
    this.local = { host: options.host ?? '127.0.0.1', port: options.port ?? 8443 };
  }

  async listen(): Promise<{ host: string; port: number }> {
    if (this.socket) throw new Error('WebTransport server is already listening');
    const socket = createSocket({ type: isIPv6(this.local.host) ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    socket.on('message', (packet, remote) => this.onPacket(packet, { host: remote.address, port: remote.port }));
    socket.on('error', (error) => this.logger.warn({ err: error }, 'WebTransport UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.local.port, this.local.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.socket = socket;
    this.local = { host: this.local.host, port: socket.address().port };
    const sweepMs = Math.min(1000, Math.max(50, Math.min(...[this.limits.sessionlessTimeoutMs, this.limits.requestTimeoutMs, this.limits.streamIdleTimeoutMs || Infinity, this.limits.bidiStreamIdleTimeoutMs || Infinity]) / 4));
    this.housekeeping = setInterval(() => this.sweep(), sweepMs);
    this.housekeeping.unref();
    this.logger.info({ host: this.local.host, port: this.local.port }, 'WebTransport (HTTP/3) listening');
    return { ...this.local };
  }

  setCertificate(certificate: WebTransportCertificate): void {
    // Connections keep the TLS context they were accepted with; only new handshakes see this one.
    this.config = createServerConfig(certificate, this.quicLimits);
  }

  getStats(): WebTransportServerStats {
    let streams = 0;
    let bufferedBytes = 0;
    for (const connection of this.connections) {
      for (const session of connection.h3.sessions.values()) {
        streams += session.streams.size;
        for (const stream of session.streams.values()) bufferedBytes += stream.queuedBytes;
      }
    }
    return {
      connections: this.connections.size,
      sessions: this.sessionObjects.size,
      streams,
      bufferedBytes,
      refused: { ...this.refused },
      limitClosures: { ...this.limitClosures },
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.housekeeping);
    for (const session of [...this.sessionObjects]) session.close({ closeCode: 0, reason: 'server shutting down' });
    for (const connection of [...this.connections]) {
      connection.quic.close(H3.NO_ERROR, 'server shutting down');
      connection.quic.process();
      connection.quic.flush();
      connection.quic.abandon();
    }
    const socket = this.socket;
    if (!socket) return;
    // Let the CONNECTION_CLOSE packets leave before the socket goes (bounded wait).
    const deadline = Date.now() + 200;
    while (this.pendingSends > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private transmit(packet: Uint8Array, to: HostPort): void {
    if (!this.socket) return;
    this.pendingSends++;
    this.socket.send(packet, to.port, to.host, () => this.pendingSends--);
  }

  private onPacket(packet: Buffer, remote: HostPort): void {
    if (this.closing) return;
    // RFC 9000 §17.3: a short-header packet (the steady state) carries our connection id, whose
    // length we chose, right after the first byte — no need to ask quiche to parse the header.
    if ((packet[0]! & 0x80) === 0) {
      if (packet.length > quiche.MAX_CONN_ID_LEN) this.byConnectionId.get(packet.toString('latin1', 1, 1 + quiche.MAX_CONN_ID_LEN))?.quic.receive(packet, remote);
      return;
    }
    let header: ReturnType<typeof quiche.Header.fromSlice>;
    try {
      header = quiche.Header.fromSlice(packet, quiche.MAX_CONN_ID_LEN);
    } catch {
      return; // not QUIC
    }
    const connection = this.byConnectionId.get(connectionIdKey(header.dcid)) ?? this.accept(header, remote);
    connection?.quic.receive(packet, remote);
  }

  private accept(header: ReturnType<typeof quiche.Header.fromSlice>, remote: HostPort): ServerConnection | undefined {
    if (header.ty !== quiche.Type.Initial) return undefined; // a stray packet of a connection we no longer have
    if (!quiche.versionIsSupported(header.version)) {
      const out = new Uint8Array(MAX_SEND_UDP_PAYLOAD);
      const length = quiche.negotiateVersion(header.scid, header.dcid, out);
      this.transmit(out.subarray(0, length), remote);
      return undefined;
    }
    if (this.connections.size >= this.limits.maxConnections) return this.countDrop('connections');
    if ((this.connectionsPerIp.get(remote.host) ?? 0) >= this.limits.maxConnectionsPerIp) return this.countDrop('connectionsPerIp');
    const scid = randomBytes(quiche.MAX_CONN_ID_LEN);
    let native: ReturnType<typeof quiche.Connection.accept>;
    try {
      native = quiche.Connection.accept(scid, null, this.local, remote, this.config);
    } catch (error) {
      this.logger.debug({ err: error, remote }, 'QUIC accept failed');
      return undefined;
    }
    const quic = new QuicConnection(native, {
      role: 'server',
      local: this.local,
      remote,
      transmit: (packet, to) => this.transmit(packet, to),
      scheduler: this.scheduler,
      onInternalError: (error) => this.logger.error({ err: error, remote }, 'WebTransport connection error (closed)'),
      scratch: this.scratch,
    });
    const connection: ServerConnection = {
      quic,
      h3: undefined as unknown as Http3Connection,
      ip: remote.host,
      keys: [connectionIdKey(scid), connectionIdKey(header.dcid)],
      sessions: 0,
      deciding: 0,
      sessionlessSince: performance.now(),
      requests: new Set(),
    };
    connection.h3 = new Http3Connection(quic, {
      maxFieldSectionSize: this.limits.maxHeaderBytes,
      maxSessions: this.limits.maxSessionsPerConnection,
      maxParkedStreams: this.limits.maxIncomingUniStreams + this.limits.maxIncomingBidiStreams,
      onRequestStream: (streamId, head, fin) => this.onRequestStream(connection, streamId, head, fin),
      onClosed: (info) => {
        this.forget(connection);
        this.logger.debug({ remote, peer: describeError(info.peer), local: describeError(info.local), timedOut: info.timedOut }, 'QUIC connection closed');
      },
    });
    for (const key of connection.keys) this.byConnectionId.set(key, connection);
    this.connections.add(connection);
    this.connectionsPerIp.set(remote.host, (this.connectionsPerIp.get(remote.host) ?? 0) + 1);
    return connection;
  }

  private countDrop(limit: string): undefined {
    this.countLimit(limit);
    return undefined;
  }

  private countLimit(limit: string): void {
    this.limitClosures[limit] = (this.limitClosures[limit] ?? 0) + 1;
  }

  private forget(connection: ServerConnection): void {
    if (!this.connections.delete(connection)) return;
    for (const key of connection.keys) this.byConnectionId.delete(key);
    const left = (this.connectionsPerIp.get(connection.ip) ?? 1) - 1;
    if (left > 0) this.connectionsPerIp.set(connection.ip, left);
    else this.connectionsPerIp.delete(connection.ip);
  }

  private onRequestStream(connection: ServerConnection, streamId: number, head: Uint8Array, fin: boolean): ConnectRequestStream {
    const request = new ConnectRequestStream(
      streamId,
      {
        h3: connection.h3,
        remote: connection.quic.remote,
        maxFieldSectionSize: this.limits.maxHeaderBytes,
        sessionLimits: {
          maxIncomingUniStreams: this.limits.maxIncomingUniStreams,
          maxIncomingBidiStreams: this.limits.maxIncomingBidiStreams,
          readChunkBytes: Math.min(READ_CHUNK_BYTES, this.limits.receiveHighWaterMark),
        },
        decide: (connectRequest) => this.decide(connection, connectRequest),
        onSession: (session, connectRequest, protocol) => {
          connection.requests.delete(request);
          this.onSession(connection, session, connectRequest, protocol);
        },
        onRefused: (status) => {
          connection.requests.delete(request);
          this.refused[status] = (this.refused[status] ?? 0) + 1;
        },
        onLimit: (limit) => this.countLimit(limit),
      },
      head,
      fin,
    );
    connection.requests.add(request);
    return request;
  }

  /** Path, then limits, then `authorize` (nothing of the session is read meanwhile). */
  private async decide(connection: ServerConnection, request: WebTransportConnectRequest): Promise<ConnectAnswer> {
    if (!pathAllowed(request.path, this.options.paths)) return { status: 404 };
    const ip = connection.ip;
    if (this.sessionObjects.size + this.sessionsDeciding >= this.limits.maxSessions) return this.limited('sessions', 503);
    if ((this.sessionsPerIp.get(ip) ?? 0) >= this.limits.maxSessionsPerIp) return this.limited('sessionsPerIp', 429);
    if (connection.sessions + connection.deciding >= this.limits.maxSessionsPerConnection) return this.limited('sessionsPerConnection', 429);
    // Reserve the slots while authorize runs, so a burst cannot pass the limits together.
    this.sessionsDeciding++;
    connection.deciding++;
    this.sessionsPerIp.set(ip, (this.sessionsPerIp.get(ip) ?? 0) + 1);
    try {
      const decision = await this.options.authorize(request);
      if (decision.status === 200 && decision.protocol && !request.offeredProtocols.includes(decision.protocol)) {
        this.logger.error({ protocol: decision.protocol, offered: request.offeredProtocols }, 'authorize chose a WebTransport protocol the client did not offer');
        return { status: 500 };
      }
      return decision;
    } catch (error) {
      this.logger.error({ err: error, path: pathWithoutQuery(request.path) }, 'WebTransport authorize failed');
      return { status: 500 };
    } finally {
      this.sessionsDeciding--;
      connection.deciding--;
      this.releaseIp(ip);
    }
  }

  private limited(limit: string, status: 429 | 503): ConnectDecision {
    this.countLimit(limit);
    return { status };
  }

  private releaseIp(ip: string): void {
    const left = (this.sessionsPerIp.get(ip) ?? 1) - 1;
    if (left > 0) this.sessionsPerIp.set(ip, left);
    else this.sessionsPerIp.delete(ip);
  }

  private onSession(connection: ServerConnection, session: WtSession, request: WebTransportConnectRequest, protocol: string): void {
    const w3c = new ServerWebTransportSession(session, randomBytes(8).toString('hex'), request, {
      protocol,
      receiveHighWaterMark: this.limits.receiveHighWaterMark,
      datagramHighWaterMark: this.limits.datagramHighWaterMark,
    });
    connection.sessions++;
    connection.sessionlessSince = undefined;
    this.sessionObjects.add(w3c);
    this.sessionsPerIp.set(connection.ip, (this.sessionsPerIp.get(connection.ip) ?? 0) + 1);
    const ended = () => {
      if (!this.sessionObjects.delete(w3c)) return;
      connection.sessions--;
      if (connection.sessions === 0) connection.sessionlessSince = performance.now();
      this.releaseIp(connection.ip);
    };
    w3c.closed.then(ended, ended);
    this.logger.debug({ session: w3c.id, path: pathWithoutQuery(request.path), remote: request.remote, protocol }, 'WebTransport session');
    this.emit('session', w3c);
  }

  /** The time-based limits: sessionless connections, slow requests, unfinished stream headers, idle streams. */
  private sweep(): void {
    const now = performance.now();
    const limits = this.limits;
    for (const connection of this.connections) {
      if (connection.sessionlessSince !== undefined && connection.deciding === 0 && now - connection.sessionlessSince > limits.sessionlessTimeoutMs) {
        this.countLimit('sessionlessConnection');
        connection.sessionlessSince = undefined;
        connection.quic.close(H3.NO_ERROR, 'no WebTransport session');
        continue;
      }
      for (const request of connection.requests) {
        if (request.undecided && now - request.openedAt > limits.requestTimeoutMs) request.expire();
        if (!request.undecided) connection.requests.delete(request);
      }
      for (const [streamId, since] of connection.h3.classifying) {
        if (now - since > limits.requestTimeoutMs) {
          this.countLimit('streamHeaderTimeout');
          connection.h3.dropClassifying(streamId, H3.REQUEST_CANCELLED);
        }
      }
      for (const session of connection.h3.sessions.values()) {
        for (const stream of session.streams.values()) {
          const bound = stream.bidi ? limits.bidiStreamIdleTimeoutMs : limits.streamIdleTimeoutMs;
          if (bound > 0 && stream.incoming && stream.waitingForPeer && now - stream.lastActivity > bound) {
            this.countLimit('streamIdle');
            stream.abandoned = true;
            stream.abort(H3.REQUEST_CANCELLED, `no data for ${bound} ms`);
          }
        }
        // Abandoned streams still hold the peer's stream credit until it ends them (wt-stream.ts):
        // a session whose peer leaves half of its credit that way is closed.
        if (session.abandonedStreams * 2 >= limits.maxIncomingUniStreams) {
          this.countLimit('abandonedStreams');
          session.close({ code: 0, reason: 'too many abandoned streams' });
        }
      }
    }
  }
}

/** Connection ids as map keys: one char per byte. */
function connectionIdKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
}

function describeError(error: QuicheConnectionError | null): string | undefined {
  if (!error) return undefined;
  const reason = Buffer.from(error.reason).toString('utf8');
  return `${error.isApp ? h3ErrorName(error.errorCode) : `transport 0x${error.errorCode.toString(16)}`}${reason ? ` (${reason})` : ''}`;
}

export function createWebTransportServer(options: WebTransportServerOptions): WebTransportServer {
  return new QuicheWebTransportServer(options);
}

/** A CONNECT's path for the log: its query may carry a stream key (`/moq?key=…`). */
function pathWithoutQuery(path: string): string {
  const query = path.indexOf('?');
  return query < 0 ? path : `${path.slice(0, query)}?…`;
}
