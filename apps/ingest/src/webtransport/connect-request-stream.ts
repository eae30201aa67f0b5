/**
 * The server side of one client request stream: HEADERS → a checked request head → for an
 * extended CONNECT with `:protocol webtransport`, the server's decision (limits, path,
 * `authorize`) → `:status`; after a 200, the stream's DATA is the session's capsule stream.
 *
 * Nothing of a session is read before it is decided: while the decision is pending this stream
 * is not read and WebTransport streams naming it wait unread (Http3Connection parks them).
 *
 * Errors, by RFC 9114: malformed HEADERS (§4.1.2) → 400 and H3_MESSAGE_ERROR on this stream;
 * a field section over the limit (§4.2.2) → 431; QPACK errors and frames that may not appear
 * here (§7.2) are connection errors, thrown as ProtocolError to the connection.
 */
import { CapsuleReader } from '@onair/webtransport/capsule-reader';
import { encodeFrame, FrameType } from '@onair/webtransport/frame';
import { FrameReader, type FrameEvent } from '@onair/webtransport/frame-reader';
import { H3 } from '@onair/webtransport/error-codes';
import { fieldValues, parseRequestHead, type RequestHead } from '@onair/webtransport/message-head';
import { ProtocolError } from '@onair/webtransport/protocol-error';
import { decodeFieldSection, encodeFieldSection, type Field } from '@onair/webtransport/qpack/field-section';
import { parseStringList, serializeString } from '@onair/webtransport/structured-field';
import type { Http3Connection } from './http3-connection';
import type { HostPort } from './quiche';
import type { StreamHandler } from './stream-handler';
import type { ConnectDecision, WebTransportConnectRequest } from './transport';
import { WtSession, type ConnectStreamControl, type WtSessionLimits } from './wt-session';

const READ_BYTES = 16 * 1024;

/** The server's answer: `authorize`'s decision, or a status of its own (404, 429, 500, 503). */
export type ConnectAnswer = ConnectDecision | { status: 500 };

export interface ConnectRequestContext {
  readonly h3: Http3Connection;
  readonly remote: HostPort;
  /** Largest HEADERS frame payload and decoded field section accepted, bytes. */
  readonly maxFieldSectionSize: number;
  readonly sessionLimits: WtSessionLimits;
  /** Limits, path and `authorize`, in that order. */
  decide(request: WebTransportConnectRequest): Promise<ConnectAnswer>;
  /** A session was accepted (the 200 is on its way). */
  onSession(session: WtSession, request: WebTransportConnectRequest, protocol: string): void;
  /** A request was answered with something else than 200. */
  onRefused(status: number): void;
  onLimit(limit: string): void;
}

type State = 'headers' | 'deciding' | 'session' | 'finished';

export class ConnectRequestStream implements StreamHandler, ConnectStreamControl {
  private state: State = 'headers';
  private readonly frames: FrameReader;
  private readonly capsules = new CapsuleReader();
  private session: WtSession | undefined;
  private finSent = false;
  private connectionClosed = false;
  readonly openedAt = performance.now();

  constructor(
    readonly streamId: number,
    private readonly context: ConnectRequestContext,
    private head: Uint8Array,
    private finWithHead: boolean,
  ) {
    this.frames = new FrameReader(context.maxFieldSectionSize);
  }

  /** Still waiting for its HEADERS or for the decision (the request timeout applies). */
  get undecided(): boolean {
    return this.state === 'headers' || this.state === 'deciding';
  }

  private get quic() {
    return this.context.h3.quic;
  }

  onReadable(): void {
    if (this.state === 'deciding' || this.state === 'finished') return;
    if (this.head.length > 0 || this.finWithHead) {
      const head = this.head;
      this.head = new Uint8Array(0);
      this.consume(head);
      if (this.finWithHead) return this.onEnd();
    }
    while (this.state === 'headers' || this.state === 'session') {
      const read = this.quic.read(this.streamId, READ_BYTES);
      if (read.kind === 'blocked') return;
      if (read.kind !== 'data') return this.onReset();
      this.consume(read.bytes);
      if (read.fin) return this.onEnd();
    }
  }

  private consume(bytes: Uint8Array): void {
    for (const event of this.frames.push(bytes)) {
      if (this.state === 'headers') this.onHeadersStateEvent(event);
      else if (this.state === 'session') this.onSessionEvent(event);
      else return;
    }
  }

  private onHeadersStateEvent(event: FrameEvent): void {
    if (event.kind === 'too-large') {
      if (event.type !== FrameType.HEADERS) throw new ProtocolError(H3.EXCESSIVE_LOAD, `frame 0x${event.type.toString(16)} too large`);
      this.context.onLimit('headerBytes');
      return this.refuse(431, H3.EXCESSIVE_LOAD);
    }
    // RFC 9114 §4.1: a request starts with HEADERS; DATA first is H3_FRAME_UNEXPECTED.
    if (event.kind === 'data' || event.type !== FrameType.HEADERS) throw new ProtocolError(H3.FRAME_UNEXPECTED, 'request stream does not start with HEADERS');
    let head: RequestHead;
    try {
      head = parseRequestHead(decodeFieldSection(event.payload, this.context.maxFieldSectionSize));
    } catch (error) {
      if (!(error instanceof ProtocolError) || error.scope === 'connection') throw error;
      if (error.code === H3.EXCESSIVE_LOAD) {
        this.context.onLimit('headerBytes');
        return this.refuse(431, H3.EXCESSIVE_LOAD);
      }
      return this.refuse(400, H3.MESSAGE_ERROR);
    }
    this.route(head);
  }

  private route(head: RequestHead): void {
    if (head.method !== 'CONNECT') return this.refuse(405, undefined, [['allow', 'CONNECT']]);
    if (head.protocol !== 'webtransport') return this.refuse(400);
    const offered = fieldValues(head.fields, 'wt-available-protocols');
    const request: WebTransportConnectRequest = {
      path: head.path!,
      authority: head.authority!,
      origin: fieldValues(head.fields, 'origin')[0],
      // RFC 8941 §4.2: a field that does not parse is ignored.
      offeredProtocols: offered.length > 0 ? (parseStringList(offered.join(', ')) ?? []) : [],
      remote: { address: this.context.remote.host, port: this.context.remote.port },
    };
    const draft02 = fieldValues(head.fields, 'sec-webtransport-http3-draft02').length > 0;
    this.state = 'deciding';
    this.context.h3.sessionPending(this.streamId);
    this.context.decide(request).then(
      (decision) => this.apply(decision, request, draft02),
      () => this.apply({ status: 503 }, request, draft02),
    );
  }

  private apply(decision: ConnectAnswer, request: WebTransportConnectRequest, draft02: boolean): void {
    if (this.state !== 'deciding') return;
    if (this.connectionClosed) {
      this.state = 'finished';
      return;
    }
    if (decision.status !== 200) {
      this.context.h3.sessionDecided(this.streamId, undefined);
      return this.refuse(decision.status);
    }
    const fields: Field[] = [[':status', '200']];
    // Chromium's draft-02 handshake answers its `sec-webtransport-http3-draft02` with this.
    if (draft02) fields.push(['sec-webtransport-http3-draft', 'draft02']);
    const protocol = decision.protocol ?? '';
    if (protocol) fields.push(['wt-protocol', serializeString(protocol)]);
    this.quic.send(this.streamId, encodeFrame(FrameType.HEADERS, encodeFieldSection(fields)), false);
    this.state = 'session';
    const session = new WtSession(this.streamId, this.context.h3, this, this.context.sessionLimits, (limit) => this.context.onLimit(limit));
    this.session = session;
    this.context.h3.sessionDecided(this.streamId, session);
    this.context.onSession(session, request, protocol);
    this.quic.schedule(); // read what waited while deciding
  }

  private onSessionEvent(event: FrameEvent): void {
    const session = this.session!;
    if (event.kind === 'too-large') throw new ProtocolError(H3.EXCESSIVE_LOAD, `frame 0x${event.type.toString(16)} too large on a CONNECT stream`);
    if (event.kind === 'frame') {
      // Trailers would end the request; anything else is not allowed on a request stream (§7.2).
      if (event.type === FrameType.HEADERS) return;
      throw new ProtocolError(H3.FRAME_UNEXPECTED, `frame 0x${event.type.toString(16)} on a CONNECT stream`);
    }
    try {
      for (const capsule of this.capsules.push(event.bytes)) session.onCapsule(capsule);
    } catch (error) {
      if (!(error instanceof ProtocolError) || error.scope === 'connection') throw error;
      session.fail(error.code, error.message);
      this.state = 'finished';
    }
  }

  private onEnd(): void {
    if (this.state === 'headers') {
      // RFC 9114 §4.1.2: the stream ended before a complete request.
      this.quic.resetStream(this.streamId, H3.REQUEST_INCOMPLETE);
      return this.finishStream(false);
    }
    if (this.state === 'session') {
      const session = this.session!;
      if (!this.frames.atFrameBoundary || !this.capsules.atCapsuleBoundary) session.fail(H3.MESSAGE_ERROR, 'CONNECT stream ended inside a capsule');
      else session.onConnectStreamEnd();
      this.finish();
      this.finishStream(false);
    }
  }

  private onReset(): void {
    if (this.state === 'session') {
      this.session!.onAbruptEnd('CONNECT stream reset by the peer');
      this.quic.resetStream(this.streamId, H3.REQUEST_CANCELLED);
    }
    this.finishStream(false);
  }

  /**
   * Answers `status` and ends our side. A malformed or oversized request also gets STOP_SENDING
   * with `stopCode` (its sender should stop); a well-formed refused one does not — Chromium
   * reports a CONNECT refused that way as a QUIC protocol error instead of the refusal — and
   * whatever it still sends is drained (the sessionless-connection bound ends a client that
   * keeps going).
   */
  private refuse(status: number, stopCode?: number, extra: Field[] = []): void {
    this.context.onRefused(status);
    this.quic.send(this.streamId, encodeFrame(FrameType.HEADERS, encodeFieldSection([[':status', String(status)], ...extra])), true);
    this.finSent = true;
    if (stopCode !== undefined) this.quic.stopSending(this.streamId, stopCode);
    // Without STOP_SENDING the rest of the request is read and dropped; with it, quiche drops it.
    this.finishStream(stopCode === undefined);
  }

  private finishStream(drain: boolean): void {
    if (this.state === 'deciding') this.context.h3.sessionDecided(this.streamId, undefined);
    this.state = 'finished';
    this.context.h3.releaseStream(this.streamId, drain);
  }

  /** The request timeout passed before the HEADERS or the decision: 408 for HEADERS, 503 for a decision. */
  expire(): void {
    if (this.state === 'headers') {
      this.context.onLimit('requestTimeout');
      this.refuse(408, H3.REQUEST_CANCELLED);
    } else if (this.state === 'deciding') {
      this.context.onLimit('requestTimeout');
      this.state = 'headers'; // let refuse() run; the late decision is ignored
      this.context.h3.sessionDecided(this.streamId, undefined);
      this.refuse(503);
    }
  }

  // ConnectStreamControl, for the session

  sendCapsule(capsule: Uint8Array): void {
    if (!this.finSent) this.quic.send(this.streamId, encodeFrame(FrameType.DATA, capsule), false);
  }

  finish(): void {
    if (this.finSent) return;
    this.finSent = true;
    void this.quic.writeFin(this.streamId).catch(() => {});
  }

  abort(h3Code: number): void {
    this.finSent = true;
    this.quic.stopSending(this.streamId, h3Code);
    void this.quic.whenPeerSideEnded(this.streamId).then(() => this.quic.resetStream(this.streamId, h3Code));
    this.finishStream(false);
  }

  onConnectionClosed(): void {
    this.connectionClosed = true;
  }
}
