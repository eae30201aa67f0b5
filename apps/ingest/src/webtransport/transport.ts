/**
 * The WebTransport server as the ingest sees it: HTTP/3 extended CONNECT sessions
 * (draft-ietf-webtrans-http3) handed over as W3C-WebTransport-shaped objects, so that
 * browser-shaped libraries (@moq/lite) run on them unchanged.
 *
 * Only this interface is known outside `webtransport/`: the QUIC stack behind it (today quiche
 * from `@matrixai/quic`, DESIGN.md §7) can be swapped for `node:quic` or another HTTP/3 stack
 * without touching the MoQ ingest or the router.
 */
import type { EventEmitter } from 'node:events';

/** What a client asked for in its extended CONNECT (RFC 9220 §3, draft-ietf-webtrans-http3 §3.2). */
export interface WebTransportConnectRequest {
  /** `:path`, query included (e.g. `/moq?key=sk_…`). */
  path: string;
  /** `:authority`. */
  authority: string;
  /** `origin` header, when the client is a browser. */
  origin: string | undefined;
  /** `wt-available-protocols` (RFC 8941 list of strings), in the client's order of preference. */
  offeredProtocols: string[];
  /** The UDP address the QUIC connection comes from. */
  remote: { address: string; port: number };
}

/**
 * The server's answer to a CONNECT. Anything but 200 is sent as the response status and the
 * request stream is closed: no stream or datagram of that session is ever accepted.
 */
export type ConnectDecision =
  | {
      status: 200;
      /**
       * Sent as `wt-protocol` (draft-ietf-webtrans-http3 §3.3); omitted → no header. Must be one
       * of the request's `offeredProtocols` (else the server answers 500 and logs it).
       */
      protocol?: string;
    }
  | { status: 400 | 401 | 403 | 404 | 429 | 503; reason?: string };

/** A W3C `WebTransport` on the server side, plus who is on the other end. */
export interface WebTransportSession extends WebTransport {
  readonly id: string;
  readonly request: WebTransportConnectRequest;
  /** The negotiated `wt-protocol`, '' when none: W3C `WebTransport.protocol` (not in TypeScript's DOM lib yet). */
  readonly protocol: string;
  /** Resolves when the client asks to wind down (DRAIN_WEBTRANSPORT_SESSION) or the session ends (W3C). */
  readonly draining: Promise<void>;
}

export interface WebTransportCertificate {
  certPem: string;
  keyPem: string;
}

export interface WebTransportServerStats {
  connections: number;
  sessions: number;
  /** Streams open across every session. */
  streams: number;
  /** Bytes received and not yet read by the application, across every stream. */
  bufferedBytes: number;
  /** CONNECTs refused, by status. */
  refused: Record<string, number>;
  /** Sessions or connections closed for breaking a limit, by limit. */
  limitClosures: Record<string, number>;
}

interface WebTransportServerEvents {
  session: [session: WebTransportSession];
}

export interface WebTransportServer extends EventEmitter<WebTransportServerEvents> {
  /** Binds the UDP socket; resolves with the bound address (port 0 → the port chosen). */
  listen(): Promise<{ host: string; port: number }>;
  /**
   * New handshakes use `certificate` from now on; established connections keep the one they
   * were made with (a rotation drops no live session).
   */
  setCertificate(certificate: WebTransportCertificate): void;
  getStats(): WebTransportServerStats;
  /** Closes every session (CLOSE_WEBTRANSPORT_SESSION), every connection, then the socket. Idempotent. */
  close(): Promise<void>;
}
