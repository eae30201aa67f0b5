/**
 * Options of the WebTransport server, with the defaults and the units of every limit. Each limit
 * bounds something a stranger can make the server hold (STYLE: every resource has a cap).
 */
import type { Logger } from 'pino';
import type { ConnectDecision, WebTransportCertificate, WebTransportConnectRequest } from './transport';

export interface WebTransportLimits {
  /** QUIC connections at once, in total. Further Initial packets are dropped. Default 1000. */
  maxConnections: number;
  /** QUIC connections at once from one IP address. Default 16. */
  maxConnectionsPerIp: number;
  /** WebTransport sessions at once, in total; more are answered 503. Default 1000. */
  maxSessions: number;
  /** Sessions at once from one IP address; more are answered 429. Default 8. */
  maxSessionsPerIp: number;
  /** Sessions on one QUIC connection (browsers use one connection per session); more → 429. Default 1. */
  maxSessionsPerConnection: number;
  /**
   * Unidirectional streams the client may have open at once in a session. A moq publisher opens
   * one per group and audio makes ~50 groups/s, each finished within a frame, so this is
   * concurrency, not a rate; it is also the QUIC MAX_STREAMS credit. Default 100.
   */
  maxIncomingUniStreams: number;
  /** Bidirectional streams the client may have open at once in a session. Default 32. */
  maxIncomingBidiStreams: number;
  /**
   * QUIC flow-control window of one stream, bytes: what a peer may send on a stream ahead of the
   * application reading it. Default 1 MiB.
   */
  streamReceiveWindow: number;
  /**
   * QUIC flow-control window of a connection (one session), bytes: what a peer may send ahead of
   * the application across all its streams. Default 4 MiB.
   */
  sessionReceiveWindow: number;
  /** Bytes a receive stream queues in JS for the application (W3C readable highWaterMark). Default 64 KiB. */
  receiveHighWaterMark: number;
  /** Largest request field section (RFC 9114 §4.2.2), bytes; larger → 431. Default 16 KiB. */
  maxHeaderBytes: number;
  /** QUIC max_idle_timeout, ms: a connection silent this long is gone. Default 30 000. */
  idleTimeoutMs: number;
  /** A connection without a session (before its first, after its last) is closed after this, ms. Default 10 000. */
  sessionlessTimeoutMs: number;
  /** A request must deliver its HEADERS and be decided (authorize included) within this, ms. Default 10 000. */
  requestTimeoutMs: number;
  /**
   * An incoming unidirectional stream that receives nothing for this long while the application
   * waits on it is stopped (H3_REQUEST_CANCELLED), ms; 0 = never. Default 30 000.
   */
  streamIdleTimeoutMs: number;
  /**
   * The same for incoming bidirectional streams, ms; 0 = never. Default 0: moq's control streams
   * are bidirectional and legitimately quiet for minutes (their number is capped instead).
   */
  bidiStreamIdleTimeoutMs: number;
  /** Incoming datagrams queued per session for the application, count (W3C incomingHighWaterMark). Default 64. */
  datagramHighWaterMark: number;
}

export const DEFAULT_LIMITS: WebTransportLimits = {
  maxConnections: 1000,
  maxConnectionsPerIp: 16,
  maxSessions: 1000,
  maxSessionsPerIp: 8,
  maxSessionsPerConnection: 1,
  maxIncomingUniStreams: 100,
  maxIncomingBidiStreams: 32,
  streamReceiveWindow: 1 << 20,
  sessionReceiveWindow: 4 << 20,
  receiveHighWaterMark: 64 << 10,
  maxHeaderBytes: 16 << 10,
  idleTimeoutMs: 30_000,
  sessionlessTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  streamIdleTimeoutMs: 30_000,
  bidiStreamIdleTimeoutMs: 0,
  datagramHighWaterMark: 64,
};

export interface WebTransportServerOptions {
  /** UDP address to bind. Default '127.0.0.1': listening wider is a deliberate choice of the config. */
  host?: string;
  /** UDP port; 0 lets the OS pick one (see `listen()`'s result). Default 8443. */
  port?: number;
  /** ECDSA P-256 for browsers' `serverCertificateHashes` (certificates.ts), or a CA-issued pair. */
  certificate: WebTransportCertificate;
  /** Paths a CONNECT may name (query excluded): exact, or a prefix when it ends with '/'. Others → 404. */
  paths: string[];
  /**
   * Decides every WebTransport CONNECT that passed the path and the limits, before anything of
   * its session is read. A throw or rejection answers 500; a 200 naming a protocol the client did
   * not offer answers 500 too (a programming error, logged).
   */
  authorize(request: WebTransportConnectRequest): ConnectDecision | Promise<ConnectDecision>;
  limits?: Partial<WebTransportLimits>;
  logger?: Logger;
}

export function resolveLimits(overrides: Partial<WebTransportLimits> = {}): WebTransportLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`WebTransport limit ${name} must be a number ≥ 0, got ${value}`);
  }
  for (const name of ['maxConnections', 'maxSessions', 'maxSessionsPerConnection', 'maxIncomingUniStreams', 'maxIncomingBidiStreams', 'streamReceiveWindow', 'sessionReceiveWindow', 'receiveHighWaterMark', 'maxHeaderBytes', 'idleTimeoutMs'] as const) {
    if (limits[name] < 1) throw new RangeError(`WebTransport limit ${name} must be ≥ 1`);
  }
  return limits;
}

/** Does `path` (query excluded) match one of `allowed` (exact, or a prefix ending in '/')? */
export function pathAllowed(path: string, allowed: readonly string[]): boolean {
  const pathname = path.split('?', 1)[0]!;
  return allowed.some((entry) => (entry.endsWith('/') ? pathname.startsWith(entry) : pathname === entry));
}
