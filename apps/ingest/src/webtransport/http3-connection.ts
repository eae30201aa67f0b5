/**
 * HTTP/3 on one QUIC connection, for WebTransport: our control stream with SETTINGS and the two
 * QPACK streams (RFC 9114 §6.2, RFC 9204 §4.2), the peer's critical streams, and the routing of
 * every other stream by its first bytes — request streams to the role's request handler,
 * WebTransport streams and datagrams to their session (draft-ietf-webtrans-http3 §4).
 *
 * Server and client share this class; they differ in who may open request streams (only the
 * client) and in what handles them (`onRequestStream`, server only).
 */
import { concatBytes } from '@onair/webtransport/bytes';
import { decodeDatagram } from '@onair/webtransport/datagram';
import { H3 } from '@onair/webtransport/error-codes';
import { INCOMPLETE, ProtocolError } from '@onair/webtransport/protocol-error';
import { encodeSettingsFrame, webTransportSettings, type Settings } from '@onair/webtransport/settings';
import { decodeBidiStreamHeader, decodeUniStreamHeader, encodeUniStreamType, StreamType } from '@onair/webtransport/stream-header';
import { DrainingStream, PeerControlStream, PeerQpackDecoderStream, PeerQpackEncoderStream } from './critical-streams';
import type { QuicCloseInfo, QuicConnection, QuicConnectionHandler } from './quic-connection';
import type { StreamHandler } from './stream-handler';
import type { WtSession, WtSessionHost } from './wt-session';
import type { WtStream } from './wt-stream';

export interface Http3ConnectionOptions {
  /** Advertised as SETTINGS_MAX_FIELD_SECTION_SIZE, bytes. */
  maxFieldSectionSize: number;
  /** Advertised as the draft-07 WEBTRANSPORT_MAX_SESSIONS. */
  maxSessions: number;
  /** Peer streams naming a session whose CONNECT is still being decided, held unread at most. */
  maxParkedStreams: number;
  /** A new request stream from the peer (server role); `head` is what was read of it already. */
  onRequestStream?(streamId: number, head: Uint8Array, fin: boolean): StreamHandler;
  onEstablished?(): void;
  onClosed?(info: QuicCloseInfo): void;
}

interface ParkedStream {
  streamId: number;
  head: Uint8Array;
  fin: boolean;
}

/** Longest stream header: a type or signal varint and a session id varint. */
const MAX_HEADER_BYTES = 16;

export class Http3Connection implements QuicConnectionHandler, WtSessionHost {
  readonly streams = new Map<number, StreamHandler>();
  readonly sessions = new Map<number, WtSession>();
  /** CONNECT streams whose answer is not known yet, with the WebTransport streams waiting on them. */
  private readonly pendingSessions = new Map<number, ParkedStream[]>();
  peerSettings: Settings | undefined;
  /** GOAWAY id from the peer (RFC 9114 §5.2), once received. */
  goawayId: number | undefined;
  private peerCritical = new Set<string>();
  /** Streams opened by the peer that are still classifying their header: since when. */
  readonly classifying = new Map<number, number>();
  private closed = false;
  /** Resolves when the QUIC handshake is done and our HTTP/3 streams are open. */
  readonly established: Promise<void>;
  private resolveEstablished!: () => void;

  constructor(
    readonly quic: QuicConnection,
    private readonly options: Http3ConnectionOptions,
  ) {
    quic.handler = this;
    this.established = new Promise((resolve) => (this.resolveEstablished = resolve));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onEstablished(): void {
    const settings = webTransportSettings({ maxFieldSectionSize: this.options.maxFieldSectionSize, maxSessions: this.options.maxSessions });
    const control = this.quic.tryOpenStream(false, concatBytes([encodeUniStreamType(StreamType.CONTROL), encodeSettingsFrame(settings)]));
    const encoder = this.quic.tryOpenStream(false, encodeUniStreamType(StreamType.QPACK_ENCODER));
    const decoder = this.quic.tryOpenStream(false, encodeUniStreamType(StreamType.QPACK_DECODER));
    if (control === undefined || encoder === undefined || decoder === undefined) {
      // RFC 9114 §6.2: a peer must allow at least 3 unidirectional streams.
      throw new ProtocolError(H3.STREAM_CREATION_ERROR, 'peer allows too few unidirectional streams for HTTP/3');
    }
    this.resolveEstablished();
    this.options.onEstablished?.();
  }

  onReadable(streamId: number): void {
    let handler = this.streams.get(streamId);
    if (!handler) {
      if (!this.isPeerStream(streamId)) {
        // One of ours that nobody reads any more: drop what arrives.
        handler = new DrainingStream(streamId, this.quic, (id) => this.streams.delete(id));
      } else {
        handler = new IncomingStream(streamId, this);
        this.classifying.set(streamId, performance.now());
      }
      this.streams.set(streamId, handler);
    }
    handler.onReadable();
  }

  onStopSending(streamId: number, code: number | null): void {
    this.streams.get(streamId)?.onStopSending?.(code);
  }

  onDatagram(payload: Uint8Array): void {
    const datagram = decodeDatagram(payload);
    // RFC 9297 §2.1: a datagram for a stream without a session is dropped.
    this.sessions.get(datagram.sessionId)?.onDatagram(datagram.payload);
  }

  onClosed(info: QuicCloseInfo): void {
    if (this.closed) return;
    this.closed = true;
    for (const handler of [...this.streams.values()]) handler.onConnectionClosed?.();
    const reason = info.timedOut ? 'connection idle timeout' : 'connection closed';
    for (const session of [...this.sessions.values()]) session.onAbruptEnd(reason);
    this.streams.clear();
    this.pendingSessions.clear();
    this.options.onClosed?.(info);
  }

  private isPeerStream(streamId: number): boolean {
    const peerIsClient = this.quic.role === 'server';
    return ((streamId & 0x1) === 0) === peerIsClient;
  }

  /** The header of a peer stream is known: give the stream to whom it belongs. */
  classified(streamId: number, kind: ClassifiedStream, head: Uint8Array, fin: boolean): void {
    this.classifying.delete(streamId);
    this.streams.delete(streamId);
    switch (kind.kind) {
      case 'control':
      case 'qpack-encoder':
      case 'qpack-decoder': {
        // RFC 9114 §6.2.1, RFC 9204 §4.2: one of each per peer.
        if (this.peerCritical.has(kind.kind)) throw new ProtocolError(H3.STREAM_CREATION_ERROR, `second ${kind.kind} stream`);
        this.peerCritical.add(kind.kind);
        if (fin) throw new ProtocolError(H3.CLOSED_CRITICAL_STREAM, `peer closed its ${kind.kind} stream`);
        const handler =
          kind.kind === 'control'
            ? new PeerControlStream(streamId, this.quic, { onSettings: (settings) => (this.peerSettings = settings), onGoaway: (id) => (this.goawayId = id) }, head)
            : kind.kind === 'qpack-encoder'
              ? new PeerQpackEncoderStream(streamId, this.quic, head)
              : new PeerQpackDecoderStream(streamId, this.quic);
        this.streams.set(streamId, handler);
        handler.onReadable();
        return;
      }
      case 'push':
        // RFC 9114 §4.6: we never send MAX_PUSH_ID, so a push stream is H3_ID_ERROR; a client may not push at all.
        throw new ProtocolError(this.quic.role === 'server' ? H3.STREAM_CREATION_ERROR : H3.ID_ERROR, 'push stream');
      case 'unknown':
        // RFC 9114 §6.2: an unknown stream type is aborted or discarded; discarding lets quiche
        // free the stream when the peer ends it (see wt-stream.ts on STOP_SENDING in quiche 0.18).
        this.refuse(streamId, H3.STREAM_CREATION_ERROR, 'discard');
        return;
      case 'request': {
        if (!this.options.onRequestStream) throw new ProtocolError(H3.STREAM_CREATION_ERROR, 'server-initiated bidirectional stream that is not WebTransport');
        const handler = this.options.onRequestStream(streamId, head, fin);
        this.streams.set(streamId, handler);
        handler.onReadable();
        return;
      }
      case 'webtransport':
        this.routeWebTransportStream(streamId, kind.sessionId, head, fin);
    }
  }

  private routeWebTransportStream(streamId: number, sessionId: number, head: Uint8Array, fin: boolean): void {
    const session = this.sessions.get(sessionId);
    if (session) {
      if (!session.acceptIncoming(streamId, head, fin)) this.refuse(streamId, H3.EXCESSIVE_LOAD, 'discard');
      return;
    }
    const parked = this.pendingSessions.get(sessionId);
    if (parked && parked.length < this.options.maxParkedStreams) {
      // draft §4.5: a stream may arrive before its session's response; it waits, unread.
      parked.push({ streamId, head, fin });
      this.streams.set(streamId, { onReadable: () => {} });
      return;
    }
    // draft §4.5: streams of a session that was refused (or never existed) are rejected.
    this.refuse(streamId, H3.WEBTRANSPORT_BUFFERED_STREAM_REJECTED, 'stop');
  }

  /**
   * Refuses a peer stream with `code`. `stop`: STOP_SENDING, and for a bidirectional stream
   * RESET_STREAM once the peer's side ended (so quiche can free it). `discard` (what a
   * unidirectional stream always gets, wt-stream.ts says why): read and drop until the peer ends it.
   */
  refuse(streamId: number, code: number, mode: 'stop' | 'discard'): void {
    const bidi = (streamId & 0x2) === 0;
    if (mode === 'discard' && !bidi) {
      this.releaseStream(streamId, true);
      this.quic.schedule();
      return;
    }
    this.quic.stopSending(streamId, code);
    if (bidi) void this.quic.whenPeerSideEnded(streamId).then(() => this.quic.resetStream(streamId, code));
    this.releaseStream(streamId, false);
  }

  /** A CONNECT is being decided: streams naming it wait until `sessionDecided`. */
  sessionPending(sessionId: number): void {
    this.pendingSessions.set(sessionId, []);
  }

  /** The CONNECT got its answer: hand the waiting streams to the session, or refuse them. */
  sessionDecided(sessionId: number, session: WtSession | undefined): void {
    const parked = this.pendingSessions.get(sessionId) ?? [];
    this.pendingSessions.delete(sessionId);
    if (session) this.sessions.set(sessionId, session);
    for (const stream of parked) {
      this.streams.delete(stream.streamId);
      this.routeWebTransportStream(stream.streamId, sessionId, stream.head, stream.fin);
    }
  }

  registerStream(streamId: number, stream: WtStream): void {
    this.streams.set(streamId, stream);
  }

  releaseStream(streamId: number, drain: boolean): void {
    if (drain && !this.closed) this.streams.set(streamId, new DrainingStream(streamId, this.quic, (id) => this.streams.delete(id)));
    else this.streams.delete(streamId);
  }

  sessionClosed(session: WtSession): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
  }

  wakeUp(): void {
    this.quic.schedule();
  }

  /** Abandons a peer stream whose header never completed (the idle bound). */
  dropClassifying(streamId: number, code: number): void {
    this.classifying.delete(streamId);
    this.refuse(streamId, code, 'stop');
  }
}

type ClassifiedStream =
  | { kind: 'control' | 'qpack-encoder' | 'qpack-decoder' | 'push' | 'request' }
  | { kind: 'unknown' }
  | { kind: 'webtransport'; sessionId: number };

/** A peer stream whose first bytes are not read yet: reads up to 16 of them, then hands it over. */
class IncomingStream implements StreamHandler {
  private buffered: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly streamId: number,
    private readonly connection: Http3Connection,
  ) {}

  onReadable(): void {
    const bidi = (this.streamId & 0x2) === 0;
    for (;;) {
      const read = this.connection.quic.read(this.streamId, MAX_HEADER_BYTES - this.buffered.length);
      if (read.kind === 'blocked') return;
      if (read.kind !== 'data') {
        // Reset or gone before its header: nothing to route.
        this.connection.classifying.delete(this.streamId);
        this.connection.releaseStream(this.streamId, false);
        return;
      }
      this.buffered = concatBytes([this.buffered, read.bytes]);
      const header = bidi ? decodeBidiStreamHeader(this.buffered) : decodeUniStreamHeader(this.buffered);
      if (header === INCOMPLETE) {
        if (read.fin) {
          // RFC 9114 §6.2: a stream that ends before its type is ignored (H3_STREAM_CREATION_ERROR on bidi).
          this.connection.classifying.delete(this.streamId);
          if (bidi && this.connection.quic.role === 'server') this.connection.refuse(this.streamId, H3.REQUEST_INCOMPLETE, 'stop');
          else this.connection.releaseStream(this.streamId, false);
          return;
        }
        if (this.buffered.length >= MAX_HEADER_BYTES) throw new ProtocolError(H3.FRAME_ERROR, 'stream header too long');
        continue;
      }
      if (header.kind === 'request') {
        this.connection.classified(this.streamId, { kind: 'request' }, this.buffered, read.fin);
        return;
      }
      const head = this.buffered.subarray(header.length);
      const kind: ClassifiedStream = header.kind === 'webtransport' ? { kind: 'webtransport', sessionId: header.sessionId } : header.kind === 'unknown' ? { kind: 'unknown' } : { kind: header.kind };
      this.connection.classified(this.streamId, kind, head, read.fin);
      return;
    }
  }

  onConnectionClosed(): void {
    this.connection.classifying.delete(this.streamId);
  }
}
