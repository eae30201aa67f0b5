/**
 * One WebTransport session (draft-ietf-webtrans-http3): the CONNECT stream that made it, the
 * streams and datagrams that carry its id, and its end — by a CLOSE_WEBTRANSPORT_SESSION
 * capsule (§6), a FIN or reset of the CONNECT stream, or the connection going away. When it
 * ends, every stream of it is reset and stopped with WEBTRANSPORT_SESSION_GONE (§6).
 *
 * Ownership: the Http3Connection owns its sessions; a session owns its WtStreams. The W3C
 * adapter (`w3c-session.ts`) is the session's `sink`.
 */
import { CapsuleType, decodeCloseSession, encodeCloseSession, encodeDrainSession, type Capsule, type CloseSessionInfo } from '@onair/webtransport/capsule';
import { datagramHeaderLength, encodeDatagram } from '@onair/webtransport/datagram';
import { H3 } from '@onair/webtransport/error-codes';
import { encodeWebTransportBidiHeader, encodeWebTransportUniHeader } from '@onair/webtransport/stream-header';
import type { QuicConnection } from './quic-connection';
import { WtStream, type WtStreamOwner } from './wt-stream';

export interface WtSessionSink {
  onIncomingStream(stream: WtStream): void;
  onDatagram(payload: Uint8Array): void;
  /** DRAIN_WEBTRANSPORT_SESSION received (§4.7). */
  onDraining(): void;
  /** Closed cleanly (a CLOSE capsule or FIN) with `info`, or abruptly with `error`. */
  onClosed(outcome: { info: CloseSessionInfo } | { error: string }): void;
}

/** The CONNECT stream as the session uses it (capsules go out in DATA frames). */
export interface ConnectStreamControl {
  sendCapsule(capsule: Uint8Array): void;
  /** FIN on our side of the CONNECT stream. */
  finish(): void;
  /** RESET_STREAM + STOP_SENDING on the CONNECT stream. */
  abort(h3Code: number): void;
}

/** What the session needs from the HTTP/3 connection it lives on. */
export interface WtSessionHost {
  readonly quic: QuicConnection;
  registerStream(streamId: number, stream: WtStream): void;
  /** The stream is done: forget it. */
  releaseStream(streamId: number, drain: boolean): void;
  /** Refuses a peer stream: discarded (unidirectional) or stopped and reset (bidirectional). */
  refuse(streamId: number, code: number, mode: 'stop' | 'discard'): void;
  sessionClosed(session: WtSession): void;
  wakeUp(): void;
}

export interface WtSessionLimits {
  /** Concurrent streams the peer may have open in this session, per direction. */
  maxIncomingUniStreams: number;
  maxIncomingBidiStreams: number;
  /** Bytes one read takes from quiche (and a receive queue holds at most about this). */
  readChunkBytes: number;
}

export class WtSession implements WtStreamOwner {
  sink: WtSessionSink | undefined;
  readonly streams = new Map<number, WtStream>();
  state: 'open' | 'draining' | 'closed' = 'open';
  private incomingUni = 0;
  private incomingBidi = 0;
  /** Set when the peer's CLOSE capsule arrived, so its FIN does not close twice. */
  private peerClose: CloseSessionInfo | undefined;

  constructor(
    /** The CONNECT stream id (draft §4.1: the session id). */
    readonly id: number,
    private readonly host: WtSessionHost,
    private readonly connect: ConnectStreamControl,
    private readonly limits: WtSessionLimits,
    /** Counts a stream refused for a limit (stats). */
    private readonly onLimit: (limit: string) => void,
  ) {}

  get quic(): QuicConnection {
    return this.host.quic;
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** A peer stream that named this session. False when a limit refused it (already answered). */
  acceptIncoming(streamId: number, head: Uint8Array, finWithHead: boolean): boolean {
    const bidi = (streamId & 0x2) === 0;
    if (this.state === 'closed') return false;
    const open = bidi ? this.incomingBidi : this.incomingUni;
    const max = bidi ? this.limits.maxIncomingBidiStreams : this.limits.maxIncomingUniStreams;
    if (open >= max) {
      this.onLimit(bidi ? 'incomingBidiStreams' : 'incomingUniStreams');
      return false;
    }
    if (bidi) this.incomingBidi++;
    else this.incomingUni++;
    const stream = new WtStream(streamId, this, { incoming: true, head, readChunkBytes: this.limits.readChunkBytes });
    if (finWithHead) stream.markFinishedWithHead();
    this.streams.set(streamId, stream);
    this.host.registerStream(streamId, stream);
    this.sink?.onIncomingStream(stream);
    stream.onReadable();
    return true;
  }

  /** Opens a stream of ours; waits while the peer's stream limit is used up. */
  async openStream(bidi: boolean): Promise<WtStream> {
    const header = bidi ? encodeWebTransportBidiHeader(this.id) : encodeWebTransportUniHeader(this.id);
    for (;;) {
      if (this.state === 'closed') throw new Error('session closed');
      const streamId = this.quic.tryOpenStream(bidi, header);
      if (streamId !== undefined) {
        const stream = new WtStream(streamId, this, { incoming: false, readChunkBytes: this.limits.readChunkBytes });
        this.streams.set(streamId, stream);
        this.host.registerStream(streamId, stream);
        return stream;
      }
      await this.quic.waitForStreamCredit();
    }
  }

  streamDone(stream: WtStream): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    if (stream.incoming) {
      if (stream.bidi) this.incomingBidi--;
      else this.incomingUni--;
    }
    this.host.releaseStream(stream.id, false);
  }

  /** Streams the idle bound gave up on whose peer has not ended them yet. */
  get abandonedStreams(): number {
    let count = 0;
    for (const stream of this.streams.values()) if (stream.abandoned && stream.discarding) count++;
    return count;
  }

  wakeUp(): void {
    this.host.wakeUp();
  }

  /** RFC 9297 §2.1: the quarter stream id, then the payload. False when it was not sent. */
  sendDatagram(payload: Uint8Array): boolean {
    if (this.state === 'closed') return false;
    return this.quic.sendDatagram(encodeDatagram(this.id, payload));
  }

  /** The largest payload a datagram of this session can carry now, bytes (0 when none can be sent). */
  maxDatagramSize(): number {
    const max = this.quic.maxDatagramPayload();
    return max === null ? 0 : Math.max(0, max - datagramHeaderLength(this.id));
  }

  onDatagram(payload: Uint8Array): void {
    if (this.state !== 'closed') this.sink?.onDatagram(payload);
  }

  /**
   * draft §6: CLOSE_WEBTRANSPORT_SESSION, then FIN; every stream goes with WEBTRANSPORT_SESSION_GONE.
   * The capsule is written before the streams are reset, so the peer learns why before its streams fail.
   */
  close(info: CloseSessionInfo): void {
    if (this.state === 'closed') return;
    this.connect.sendCapsule(encodeCloseSession(info));
    this.connect.finish();
    this.terminate({ info });
  }

  /** draft §4.7: DRAIN_WEBTRANSPORT_SESSION asks the peer to wind down (e.g. before a server restart). */
  drain(): void {
    if (this.state === 'closed') return;
    this.connect.sendCapsule(encodeDrainSession());
  }

  onCapsule(capsule: Capsule): void {
    if (capsule.type === CapsuleType.CLOSE_WEBTRANSPORT_SESSION) {
      if (this.state === 'closed' || this.peerClose) return;
      this.peerClose = decodeCloseSession(capsule.value);
      this.terminate({ info: this.peerClose });
      // draft §6: the receiver of the capsule closes its side of the CONNECT stream too.
      this.connect.finish();
    } else if (capsule.type === CapsuleType.DRAIN_WEBTRANSPORT_SESSION && this.state === 'open') {
      this.state = 'draining';
      this.sink?.onDraining();
    }
  }

  /** FIN on the peer's side of the CONNECT stream: a clean close, code 0 unless a capsule said otherwise. */
  onConnectStreamEnd(): void {
    if (this.state === 'closed') return;
    this.terminate({ info: { code: 0, reason: '' } });
    this.connect.finish();
  }

  /** The CONNECT stream was reset, a capsule was malformed, or the connection went away. */
  onAbruptEnd(reason: string): void {
    if (this.state === 'closed') return;
    this.terminate({ error: reason });
  }

  /** Ends the session on a protocol error of its CONNECT stream (H3_MESSAGE_ERROR and the like). */
  fail(h3Code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.terminate({ error: reason });
    this.connect.abort(h3Code);
  }

  private terminate(outcome: { info: CloseSessionInfo } | { error: string }): void {
    this.state = 'closed';
    const reason = 'error' in outcome ? outcome.error : `session closed (${outcome.info.code}${outcome.info.reason ? `: ${outcome.info.reason}` : ''})`;
    for (const stream of [...this.streams.values()]) stream.abort(H3.WEBTRANSPORT_SESSION_GONE, reason);
    this.host.sessionClosed(this);
    this.sink?.onClosed(outcome);
  }
}
