/**
 * The client side of one request stream (for the Node client and tests): our HEADERS (or any
 * bytes a hostile test wants to send) out, the response HEADERS in; for an accepted WebTransport
 * CONNECT the stream then carries the session's capsules, like the server side.
 */
import { CapsuleReader } from '@onair/webtransport/capsule-reader';
import { H3 } from '@onair/webtransport/error-codes';
import { encodeFrame, FrameType } from '@onair/webtransport/frame';
import { FrameReader } from '@onair/webtransport/frame-reader';
import { parseResponseHead, type ResponseHead } from '@onair/webtransport/message-head';
import { ProtocolError } from '@onair/webtransport/protocol-error';
import { decodeFieldSection } from '@onair/webtransport/qpack/field-section';
import type { Http3Connection } from './http3-connection';
import type { StreamHandler } from './stream-handler';
import type { ConnectStreamControl, WtSession } from './wt-session';

const READ_BYTES = 16 * 1024;
/** Responses onair's server sends are tiny; a client accepts up to this. */
const MAX_RESPONSE_HEADER_BYTES = 64 * 1024;

/** How a request stream ended from the server's side. */
export interface RequestStreamEnd {
  /** The server finished its side (FIN). */
  fin: boolean;
  /** The server reset its side with this HTTP/3 code. */
  resetCode?: number;
}

export class ClientRequestStream implements StreamHandler, ConnectStreamControl {
  readonly response: Promise<ResponseHead>;
  /** Settles when the server's side of the stream is over (FIN, reset, or connection gone). */
  readonly ended: Promise<RequestStreamEnd>;
  private resolveResponse!: (head: ResponseHead) => void;
  private rejectResponse!: (error: Error) => void;
  private resolveEnded!: (end: RequestStreamEnd) => void;
  private readonly frames = new FrameReader(MAX_RESPONSE_HEADER_BYTES);
  private readonly capsules = new CapsuleReader();
  private gotResponse = false;
  private readDone = false;
  private writeDone = false;
  private session: WtSession | undefined;
  private finSent = false;
  /** Settles with the server's STOP_SENDING code for our side (null when quiche lost it). */
  readonly stopped: Promise<number | null>;
  private resolveStopped!: (code: number | null) => void;

  constructor(
    readonly streamId: number,
    private readonly h3: Http3Connection,
  ) {
    this.response = new Promise((resolve, reject) => {
      this.resolveResponse = resolve;
      this.rejectResponse = reject;
    });
    this.response.catch(() => {});
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
  }

  /** Makes this stream the CONNECT stream of `session` (after a 2xx). */
  attach(session: WtSession): void {
    this.session = session;
  }

  onReadable(): void {
    for (;;) {
      const read = this.h3.quic.read(this.streamId, READ_BYTES);
      if (read.kind === 'blocked') return;
      if (read.kind !== 'data') {
        const resetCode = read.kind === 'reset' ? read.code : undefined;
        this.rejectResponse(new Error(`request stream reset by the server (${resetCode ?? 'gone'})`));
        this.session?.onAbruptEnd('CONNECT stream reset by the server');
        this.done({ fin: false, resetCode });
        return;
      }
      this.consume(read.bytes);
      if (read.fin) {
        this.rejectResponse(new Error('request stream ended without a response'));
        this.session?.onConnectStreamEnd();
        this.done({ fin: true });
        return;
      }
    }
  }

  private consume(bytes: Uint8Array): void {
    for (const event of this.frames.push(bytes)) {
      if (event.kind === 'too-large') throw new ProtocolError(H3.EXCESSIVE_LOAD, 'response header too large');
      if (event.kind === 'frame' && event.type === FrameType.HEADERS) {
        if (this.gotResponse) continue; // trailers
        const head = parseResponseHead(decodeFieldSection(event.payload, MAX_RESPONSE_HEADER_BYTES));
        if (head.status < 200) continue; // interim (RFC 9114 §4.1)
        this.gotResponse = true;
        this.resolveResponse(head);
        continue;
      }
      if (event.kind === 'data') {
        if (!this.gotResponse) throw new ProtocolError(H3.FRAME_UNEXPECTED, 'DATA before the response HEADERS');
        if (this.session) for (const capsule of this.capsules.push(event.bytes)) this.session.onCapsule(capsule);
        continue;
      }
      throw new ProtocolError(H3.FRAME_UNEXPECTED, `frame 0x${event.type.toString(16)} on a request stream`);
    }
  }

  onStopSending(code: number | null): void {
    this.resolveStopped(code);
    this.writeDone = true;
    this.release();
  }

  onConnectionClosed(): void {
    this.rejectResponse(new Error('connection closed'));
    this.resolveStopped(null);
    this.writeDone = true;
    this.done({ fin: false });
  }

  private done(end: RequestStreamEnd): void {
    this.resolveEnded(end);
    this.readDone = true;
    this.release();
  }

  /** Forget the stream once neither side has anything more to tell. */
  private release(): void {
    if (this.readDone && this.writeDone) this.h3.releaseStream(this.streamId, false);
  }

  // ConnectStreamControl

  sendCapsule(capsule: Uint8Array): void {
    if (!this.finSent) this.h3.quic.send(this.streamId, encodeFrame(FrameType.DATA, capsule), false);
  }

  finish(): void {
    if (this.finSent) return;
    this.finSent = true;
    this.writeDone = true;
    void this.h3.quic.writeFin(this.streamId).catch(() => {});
    this.release();
  }

  abort(h3Code: number): void {
    this.finSent = true;
    this.writeDone = true;
    this.h3.quic.resetStream(this.streamId, h3Code);
    this.h3.quic.stopSending(this.streamId, h3Code);
    this.readDone = true;
    this.release();
  }

  /** Marks our side as finished by the caller (a request sent with its FIN). */
  finishedSending(): void {
    this.finSent = true;
    this.writeDone = true;
  }
}
