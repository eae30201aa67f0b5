/**
 * A WtSession as a W3C `WebTransport` object, so browser-shaped libraries (@moq/lite's
 * `Connection.accept`) run on the server unchanged: incoming streams as ReadableStreams of
 * streams, `createBidirectionalStream` / `createUnidirectionalStream`, datagrams, `ready`,
 * `closed`, `draining`, `close({closeCode, reason})` and `protocol`.
 *
 * It is made for a session that is already established, so `ready` is resolved; `closed`
 * resolves with the close code and reason of a clean close and rejects with a session
 * WebTransportError when the session ends abruptly (CONNECT stream reset, connection lost).
 */
import type { CloseSessionInfo } from '@onair/webtransport/capsule';
import { H3 } from '@onair/webtransport/error-codes';
import { W3cDatagrams } from './w3c-datagrams';
import { createReceiveStream, createSendStream, type SendStream } from './w3c-streams';
import { WebTransportError } from './webtransport-error';
import type { WtSession, WtSessionSink } from './wt-session';
import type { WtStream } from './wt-stream';

export interface W3cOptions {
  /** The negotiated `wt-protocol`, '' when none. */
  protocol: string;
  /** Bytes a receive stream queues for the application before quiche holds the rest back. */
  receiveHighWaterMark: number;
  /** Incoming datagrams queued for the application, count (W3C incomingHighWaterMark). */
  datagramHighWaterMark: number;
}

export class W3cWebTransport implements WebTransport {
  readonly ready: Promise<void> = Promise.resolve();
  readonly closed: Promise<WebTransportCloseInfo>;
  readonly draining: Promise<void>;
  readonly datagrams: W3cDatagrams;
  readonly incomingBidirectionalStreams: ReadableStream<WebTransportBidirectionalStream>;
  readonly incomingUnidirectionalStreams: ReadableStream<ReadableStream<Uint8Array>>;
  readonly protocol: string;
  readonly reliability = 'supports-unreliable' as const;
  readonly congestionControl = 'default' as const;
  private resolveClosed!: (info: WebTransportCloseInfo) => void;
  private rejectClosed!: (error: WebTransportError) => void;
  private resolveDraining!: () => void;
  private bidiController!: ReadableStreamDefaultController<WebTransportBidirectionalStream>;
  private uniController!: ReadableStreamDefaultController<ReadableStream<Uint8Array>>;
  private incomingCancelled = { bidi: false, uni: false };

  constructor(
    readonly session: WtSession,
    private readonly options: W3cOptions,
  ) {
    this.protocol = options.protocol;
    this.closed = new Promise((resolve, reject) => {
      this.resolveClosed = resolve;
      this.rejectClosed = reject;
    });
    // An abrupt end rejects `closed`; not every application listens, and that must not crash Node.
    this.closed.catch(() => {});
    this.draining = new Promise((resolve) => (this.resolveDraining = resolve));
    this.datagrams = new W3cDatagrams(session, options.datagramHighWaterMark);
    this.incomingBidirectionalStreams = new ReadableStream({
      start: (controller) => {
        this.bidiController = controller;
      },
      cancel: () => {
        this.incomingCancelled.bidi = true;
      },
    });
    this.incomingUnidirectionalStreams = new ReadableStream({
      start: (controller) => {
        this.uniController = controller;
      },
      cancel: () => {
        this.incomingCancelled.uni = true;
      },
    });
    session.sink = this.sink;
  }

  private readonly sink: WtSessionSink = {
    onIncomingStream: (stream: WtStream) => {
      if (stream.bidi ? this.incomingCancelled.bidi : this.incomingCancelled.uni) {
        stream.abort(H3.REQUEST_REJECTED, 'the application does not accept streams');
        return;
      }
      const readable = createReceiveStream(stream, this.options.receiveHighWaterMark);
      if (stream.bidi) this.bidiController.enqueue({ readable, writable: createSendStream(stream, 0) });
      else this.uniController.enqueue(readable);
    },
    onDatagram: (payload) => this.datagrams.deliver(payload),
    onDraining: () => this.resolveDraining(),
    onClosed: (outcome) => this.onClosed(outcome),
  };

  private onClosed(outcome: { info: CloseSessionInfo } | { error: string }): void {
    const error = 'error' in outcome ? new WebTransportError(outcome.error, { source: 'session' }) : undefined;
    for (const controller of [this.bidiController, this.uniController] as ReadableStreamDefaultController<unknown>[]) {
      try {
        if (error) controller.error(error);
        else controller.close();
      } catch {
        // Cancelled by the application already.
      }
    }
    this.datagrams.end(error);
    this.resolveDraining();
    if ('info' in outcome) this.resolveClosed({ closeCode: outcome.info.code, reason: outcome.info.reason });
    else this.rejectClosed(error!);
  }

  close(closeInfo: WebTransportCloseInfo = {}): void {
    // WebIDL unsigned long: ToUint32; the reason is cut to 1024 UTF-8 bytes by the capsule encoder.
    this.session.close({ code: (closeInfo.closeCode ?? 0) >>> 0, reason: String(closeInfo.reason ?? '') });
  }

  async createBidirectionalStream(options: WebTransportSendStreamOptions = {}): Promise<WebTransportBidirectionalStream & { writable: SendStream }> {
    const stream = await this.open(true);
    return { readable: createReceiveStream(stream, this.options.receiveHighWaterMark), writable: createSendStream(stream, options.sendOrder ?? 0) };
  }

  async createUnidirectionalStream(options: WebTransportSendStreamOptions = {}): Promise<SendStream> {
    return createSendStream(await this.open(false), options.sendOrder ?? 0);
  }

  private async open(bidi: boolean): Promise<WtStream> {
    if (this.session.isClosed) throw new DOMException('session closed', 'InvalidStateError');
    try {
      return await this.session.openStream(bidi);
    } catch (error) {
      throw new WebTransportError(error instanceof Error ? error.message : String(error), { source: 'session' });
    }
  }
}
