/**
 * A session's datagrams as the W3C `WebTransportDatagramDuplexStream` (W3C WebTransport §5):
 * incoming datagrams wait in a queue of `incomingHighWaterMark` datagrams, the oldest dropped
 * first when it overflows, and those older than `incomingMaxAge` ms are dropped when read;
 * outgoing datagrams larger than `maxDatagramSize` or that find quiche's queue full are dropped
 * (they are unreliable by definition), never buffered here.
 */
import type { WtSession } from './wt-session';

interface Queued {
  bytes: Uint8Array;
  at: number;
}

export class W3cDatagrams implements WebTransportDatagramDuplexStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  incomingMaxAge: number | null = null;
  outgoingMaxAge: number | null = null;
  outgoingHighWaterMark = 1;
  /** Datagrams dropped: incoming (queue overflow or age) and outgoing (too big, queue full). */
  droppedIncoming = 0;
  droppedOutgoing = 0;
  private highWaterMark: number;
  private readonly queue: Queued[] = [];
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private readerWaiting = false;
  private ended = false;

  constructor(
    private readonly session: WtSession,
    incomingHighWaterMark: number,
  ) {
    this.highWaterMark = incomingHighWaterMark;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          const next = this.takeFresh();
          if (next) this.controller.enqueue(next);
          else this.readerWaiting = true;
        },
        cancel: () => {
          this.ended = true;
          this.queue.length = 0;
        },
      },
      { highWaterMark: 0 },
    );
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        if (this.session.isClosed) throw new DOMException('session closed', 'InvalidStateError');
        const bytes = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk as ArrayBuffer);
        if (bytes.byteLength > this.maxDatagramSize || !this.session.sendDatagram(bytes)) this.droppedOutgoing++;
      },
    });
  }

  get incomingHighWaterMark(): number {
    return this.highWaterMark;
  }

  set incomingHighWaterMark(value: number) {
    this.highWaterMark = Math.max(1, Math.floor(value) || 1);
  }

  /** Bytes a datagram may carry now (path MTU and the peer's limit, less the session id). */
  get maxDatagramSize(): number {
    return this.session.maxDatagramSize();
  }

  /** A datagram arrived for the session. */
  deliver(bytes: Uint8Array): void {
    if (this.ended) return;
    if (this.readerWaiting) {
      this.readerWaiting = false;
      this.controller.enqueue(bytes);
      return;
    }
    this.queue.push({ bytes, at: performance.now() });
    while (this.queue.length > this.highWaterMark) {
      this.queue.shift();
      this.droppedIncoming++;
    }
  }

  private takeFresh(): Uint8Array | undefined {
    const now = performance.now();
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      if (this.incomingMaxAge === null || now - next.at <= this.incomingMaxAge) return next.bytes;
      this.droppedIncoming++;
    }
    return undefined;
  }

  /** The session ended: the readable closes (clean end) or errors (abrupt end). */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = 0;
    try {
      if (error) this.controller.error(error);
      else this.controller.close();
    } catch {
      // Cancelled by the application already.
    }
  }
}
