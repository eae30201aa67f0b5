/**
 * Two W3C `WebTransport` objects joined in memory, for running @moq/lite's client and the MoQ
 * ingest in one process. Like a real session: written chunks are copied (a writer may reuse its
 * buffer, as @moq/lite's does), datagrams go both ways and can be read by the test, and closing
 * one side — cleanly, or abruptly as a closed tab does — resets every stream and settles both
 * sides' `closed`. (@moq/lite ships a mock pair too, without datagrams and without resets.)
 */
import type { WebTransportSession } from '../../../apps/ingest/src/webtransport/transport';

type Bidi = { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };

class Side {
  readonly ready = Promise.resolve();
  readonly closed: Promise<WebTransportCloseInfo>;
  readonly incomingBidirectionalStreams: ReadableStream<Bidi>;
  readonly incomingUnidirectionalStreams: ReadableStream<ReadableStream<Uint8Array>>;
  readonly datagrams: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array>; maxDatagramSize: number; incomingHighWaterMark: number; outgoingHighWaterMark: number; incomingMaxAge: number | null; outgoingMaxAge: number | null };
  readonly congestionControl = 'default';
  readonly reliability = 'supports-unreliable';
  /** Datagrams this side sent, in order (for assertions). */
  readonly sentDatagrams: Uint8Array[] = [];
  peer!: Side;
  isClosed = false;
  /** A hostile peer: every stream this side opens from now on is reset by the other side at once. */
  peerResetsNewStreams = false;
  private resolveClosed!: (info: WebTransportCloseInfo) => void;
  private rejectClosed!: (error: Error) => void;
  private bidis!: ReadableStreamDefaultController<Bidi>;
  private unis!: ReadableStreamDefaultController<ReadableStream<Uint8Array>>;
  private incomingDatagrams!: ReadableStreamDefaultController<Uint8Array>;
  /** Every stream touching this side, to reset when the session ends. */
  private readonly streams = new Set<TransformStreamDefaultController<Uint8Array>>();

  constructor(
    readonly protocol: string,
    private readonly packetBytes: number,
  ) {
    this.closed = new Promise((resolve, reject) => {
      this.resolveClosed = resolve;
      this.rejectClosed = reject;
    });
    this.closed.catch(() => {});
    this.incomingBidirectionalStreams = new ReadableStream({ start: (c) => void (this.bidis = c) });
    this.incomingUnidirectionalStreams = new ReadableStream({ start: (c) => void (this.unis = c) });
    this.datagrams = {
      readable: new ReadableStream({ start: (c) => void (this.incomingDatagrams = c) }),
      writable: new WritableStream({
        write: (chunk) => {
          if (this.isClosed) throw new Error('session closed');
          const copy = Uint8Array.from(chunk);
          this.sentDatagrams.push(copy);
          try {
            this.peer.incomingDatagrams.enqueue(Uint8Array.from(copy));
          } catch {
            // the peer's readable is closed: a datagram is lost, as on the network
          }
        },
      }),
      maxDatagramSize: 1200,
      incomingHighWaterMark: 1,
      outgoingHighWaterMark: 1,
      incomingMaxAge: null,
      outgoingMaxAge: null,
    };
  }

  private pipe(): TransformStream<Uint8Array, Uint8Array> {
    let controller!: TransformStreamDefaultController<Uint8Array>;
    const stream = new TransformStream<Uint8Array, Uint8Array>(
      {
        start: (c) => {
          controller = c;
        },
        // The kernel-boundary copy (what was written may be overwritten by the writer right
        // after), in pieces of at most one QUIC packet's payload, as a receiver reads them.
        transform: (chunk, c) => {
          for (let at = 0; at < chunk.length; at += this.packetBytes) c.enqueue(chunk.slice(at, at + this.packetBytes));
        },
      },
      { highWaterMark: 256 },
      { highWaterMark: 256 },
    );
    this.streams.add(controller);
    this.peer.streams.add(controller);
    return stream;
  }

  async createBidirectionalStream(): Promise<Bidi> {
    if (this.isClosed) throw new Error('session closed');
    const out = this.pipe();
    const back = this.pipe();
    if (this.peerResetsNewStreams) {
      for (const stream of [out, back]) void stream.writable.abort(new Error('STOP_SENDING from the peer')).catch(() => {});
    } else this.peer.bidis.enqueue({ readable: out.readable, writable: back.writable });
    return { readable: back.readable, writable: out.writable };
  }

  async createUnidirectionalStream(): Promise<WritableStream<Uint8Array>> {
    if (this.isClosed) throw new Error('session closed');
    const out = this.pipe();
    this.peer.unis.enqueue(out.readable);
    return out.writable;
  }

  close(info: WebTransportCloseInfo = {}): void {
    this.end({ closeCode: info.closeCode ?? 0, reason: info.reason ?? '' });
  }

  /** Ends both sides; `error` rejects their `closed` (an abrupt end: a tab closed, a network gone). */
  end(info: WebTransportCloseInfo, error?: Error): void {
    for (const side of [this, this.peer]) {
      if (side.isClosed) continue;
      side.isClosed = true;
      for (const stream of side.streams) {
        try {
          stream.error(error ?? new Error('session closed'));
        } catch {
          // already errored or closed
        }
      }
      for (const controller of [side.bidis, side.unis, side.incomingDatagrams]) {
        try {
          controller.close();
        } catch {
          // already closed
        }
      }
      if (error) side.rejectClosed(error);
      else side.resolveClosed(info);
    }
  }
}

export interface WebTransportPair {
  /** The publisher's side, for `Connection.connect(url, {transport: client})`. */
  client: WebTransport & { sentDatagrams: Uint8Array[] };
  /** The ingest's side, shaped as the WebTransport server hands it over. */
  server: WebTransportSession & { sentDatagrams: Uint8Array[] };
  /** Ends the session abruptly, as when the publisher's tab closes: `closed` rejects on both sides. */
  abort(message?: string): void;
  /** From now on the publisher resets every stream the server opens, the moment it opens. */
  resetServerStreams(): void;
}

/**
 * `protocol`: the negotiated `wt-protocol` (e.g. `moq-lite-04`; '' for none: SETUP negotiates).
 * `packetBytes`: stream data reaches the reader in pieces of at most this size (default 1200).
 */
export function createWebTransportPair(protocol = 'moq-lite-04', path = '/moq?key=test', packetBytes = 1200): WebTransportPair {
  const client = new Side(protocol, packetBytes);
  const server = new Side(protocol, packetBytes);
  client.peer = server;
  server.peer = client;
  Object.assign(server, { id: 'session-1', request: { path, authority: '127.0.0.1:8443', origin: 'http://127.0.0.1', offeredProtocols: [protocol], remote: { address: '127.0.0.1', port: 50000 } } });
  return {
    client: client as unknown as WebTransportPair['client'],
    server: server as unknown as WebTransportPair['server'],
    abort: (message = 'connection lost') => client.end({}, new Error(message)),
    resetServerStreams: () => {
      server.peerResetsNewStreams = true;
    },
  };
}
