/**
 * One WebTransport stream (a QUIC stream bound to a session, draft-ietf-webtrans-http3 §4.2–4.3),
 * below the W3C adapter: it moves bytes between quiche and a `WtStreamReceiver`, in the order and
 * at the pace the receiver asks for.
 *
 * Receive side: bytes are read from quiche only while the receiver wants more (`push` returns
 * false when its queue is full; `resume()` when it was read). What the receiver does not want
 * stays in quiche, so the peer is held back by flow control, not by a JS buffer.
 * Send side: `write()` resolves when quiche took the bytes (connection and stream flow control).
 *
 * Stopping the receive side, and quiche 0.18: after STOP_SENDING (`stream_shutdown(Read)`)
 * quiche frees a stream only when an acknowledgement of our own frames on it arrives after the
 * peer's RESET_STREAM. A peer-opened unidirectional stream has no frames of ours, so it is never
 * freed and its MAX_STREAMS credit never comes back (measured: a session with a limit of 3 was
 * wedged after 3 cancelled streams). So:
 * - a peer's unidirectional stream is never STOP_SENDING'd: we discard what still arrives until
 *   the peer ends it (RFC 9114 §6.2 allows either);
 * - a bidirectional stream is stopped only while our send side is open, and our FIN or
 *   RESET_STREAM then waits until the peer's side has ended (a round trip), so its
 *   acknowledgement frees the stream; with our side already ended, we discard instead.
 */
import type { QuicConnection, StreamWriteError } from './quic-connection';
import type { StreamHandler } from './stream-handler';

export interface WtStreamReceiver {
  /** Takes a chunk; false when no more is wanted until `resume()`. */
  push(bytes: Uint8Array): boolean;
  /** The peer finished its side (FIN). */
  end(): void;
  /**
   * The receive side ended abnormally: reset by the peer (`h3Code` as received), or closed here
   * (session gone, a limit, the application) with `h3Code` null and a reason.
   */
  abort(h3Code: number | null, reason: string): void;
  /** Bytes taken from quiche that the application has not read yet. */
  queuedBytes(): number;
}

export interface WtStreamSenderListener {
  /** The peer sent STOP_SENDING (`h3Code` as received, null if quiche lost it), or the stream was closed here (null). */
  stopped(h3Code: number | null, reason: string): void;
}

export interface WtStreamOwner {
  readonly quic: QuicConnection;
  /** Both sides are done: stop tracking the stream. */
  streamDone(stream: WtStream): void;
  /** Ask for a processing pass (the receiver wants bytes again). */
  wakeUp(): void;
}

/** `discarding`: no receiver any more, bytes are read and dropped until the peer ends the stream. */
type ReadState = 'open' | 'discarding' | 'finished' | 'reset' | 'stopped' | 'none';
type WriteState = 'open' | 'finishing' | 'finished' | 'reset' | 'stopped' | 'none';

export class WtStream implements StreamHandler {
  readonly bidi: boolean;
  /** Opened by the peer. */
  readonly incoming: boolean;
  receiver: WtStreamReceiver | undefined;
  sender: WtStreamSenderListener | undefined;
  /** performance.now() of the last byte received (or of opening): the idle bound counts from it. */
  lastActivity = performance.now();
  /** Set once the idle bound gave up on this stream. */
  abandoned = false;
  bytesReceived = 0;
  bytesSent = 0;
  private readState: ReadState;
  private writeState: WriteState;
  private paused = false;
  /** STOP_SENDING went out: our FIN/RESET waits for the peer's side to end (see the file comment). */
  private stopSent = false;
  /** Bytes that came with the stream header, delivered before anything else. */
  private head: Uint8Array | undefined;
  private finAfterHead = false;
  private done = false;
  private readonly readChunkBytes: number;

  constructor(
    readonly id: number,
    private readonly owner: WtStreamOwner,
    options: { incoming: boolean; head?: Uint8Array; readChunkBytes: number },
  ) {
    this.bidi = (id & 0x2) === 0;
    this.incoming = options.incoming;
    this.readState = this.bidi || this.incoming ? 'open' : 'none';
    this.writeState = this.bidi || !this.incoming ? 'open' : 'none';
    this.head = options.head && options.head.length > 0 ? options.head : undefined;
    this.readChunkBytes = options.readChunkBytes;
  }

  /** Bytes received and waiting in the receiver's queue for the application. */
  get queuedBytes(): number {
    return this.readState === 'open' ? (this.receiver?.queuedBytes() ?? 0) + (this.head?.length ?? 0) : 0;
  }

  get canWrite(): boolean {
    return this.writeState === 'open';
  }

  /** Waiting on the peer: reading is wanted and nothing is held back by the receiver. */
  get waitingForPeer(): boolean {
    return this.readState === 'open' && !this.paused && this.receiver !== undefined;
  }

  /** Still holding quiche state for the peer's bytes after the application let go (counted against the limits). */
  get discarding(): boolean {
    return this.readState === 'discarding';
  }

  onReadable(): void {
    if (this.readState === 'discarding') return this.discard();
    const receiver = this.receiver;
    if (!receiver || this.paused || this.readState !== 'open') return;
    if (this.head !== undefined || this.finAfterHead) {
      const head = this.head;
      this.head = undefined;
      const wantsMore = head === undefined || receiver.push(head);
      if (this.finAfterHead) return this.finishReading(receiver);
      if (!wantsMore) {
        this.paused = true;
        return;
      }
    }
    for (;;) {
      const read = this.owner.quic.read(this.id, this.readChunkBytes);
      if (read.kind === 'blocked') return;
      if (read.kind !== 'data') {
        this.readState = 'reset';
        receiver.abort(read.kind === 'reset' ? read.code : null, read.kind === 'reset' ? `stream ${this.id} reset by the peer` : `stream ${this.id} no longer exists`);
        return this.checkDone();
      }
      this.lastActivity = performance.now();
      this.bytesReceived += read.bytes.length;
      const wantsMore = read.bytes.length === 0 || receiver.push(read.bytes);
      if (read.fin) return this.finishReading(receiver);
      if (!wantsMore) {
        this.paused = true;
        return;
      }
    }
  }

  private discard(): void {
    for (;;) {
      const read = this.owner.quic.read(this.id, 64 * 1024);
      if (read.kind === 'blocked') return;
      if (read.kind !== 'data' || read.fin) {
        this.readState = 'finished';
        return this.checkDone();
      }
    }
  }

  /** The FIN came in the same read as the stream header: nothing more will be readable. */
  markFinishedWithHead(): void {
    this.finAfterHead = true;
  }

  private finishReading(receiver: WtStreamReceiver): void {
    this.readState = 'finished';
    receiver.end();
    this.checkDone();
  }

  /** The receiver attached, or read what it had: deliver again. */
  resume(): void {
    if (this.readState !== 'open') return;
    this.paused = false;
    // Bytes that came with the header are not in quiche any more: deliver them from here.
    if (this.head !== undefined || this.finAfterHead) this.onReadable();
    this.owner.wakeUp();
  }

  /**
   * The application (or a limit) wants no more of this stream: the receiver fails with `reason`,
   * and the peer is told with STOP_SENDING `h3Code` where quiche can free the stream afterwards,
   * else what still arrives is discarded (see the file comment).
   */
  stopReading(h3Code: number, reason = 'stopped here'): void {
    if (this.readState !== 'open') return;
    const receiver = this.receiver;
    this.receiver = undefined;
    this.head = undefined;
    this.finAfterHead = false;
    if (this.bidi && this.writeState === 'open') {
      this.readState = 'stopped';
      this.stopSent = true;
      this.owner.quic.stopSending(this.id, h3Code);
      receiver?.abort(null, reason);
      return this.checkDone();
    }
    this.readState = 'discarding';
    receiver?.abort(null, reason);
    this.owner.wakeUp();
  }

  /**
   * W3C `sendOrder` (higher goes first) onto quiche's urgency levels: above 0 → 2, below → 4,
   * 0 → 3 (the default). Coarse on purpose: a publisher's streams only need "before" and "after".
   */
  setSendOrder(sendOrder: number): void {
    if (this.writeState === 'open') this.owner.quic.setPriority(this.id, sendOrder > 0 ? 2 : sendOrder < 0 ? 4 : 3);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.writeState !== 'open') throw new Error(`stream ${this.id} is not writable (${this.writeState})`);
    this.bytesSent += bytes.length;
    await this.owner.quic.write(this.id, bytes, false);
  }

  async finish(): Promise<void> {
    if (this.writeState !== 'open') throw new Error(`stream ${this.id} is not writable (${this.writeState})`);
    this.writeState = 'finishing';
    try {
      if (this.stopSent) await this.owner.quic.whenPeerSideEnded(this.id);
      await this.owner.quic.writeFin(this.id);
      this.writeState = 'finished';
    } catch (error) {
      if (this.writeState === 'finishing') this.writeState = 'reset';
      throw error;
    } finally {
      this.checkDone();
    }
  }

  /** RESET_STREAM with `h3Code`. */
  reset(h3Code: number, reason = 'reset here'): void {
    if (this.writeState !== 'open' && this.writeState !== 'finishing') return;
    this.writeState = 'reset';
    if (this.stopSent) {
      const quic = this.owner.quic;
      void quic.whenPeerSideEnded(this.id).then(() => quic.resetStream(this.id, h3Code));
    } else {
      this.owner.quic.resetStream(this.id, h3Code);
    }
    this.sender?.stopped(null, reason);
    this.checkDone();
  }

  onStopSending(code: number | null): void {
    if (this.writeState !== 'open' && this.writeState !== 'finishing') return;
    this.writeState = 'stopped';
    this.sender?.stopped(code, `stream ${this.id} stopped by the peer`);
    this.checkDone();
  }

  /** Closes both sides with `h3Code` (session gone, a limit): the application sees `reason`. */
  abort(h3Code: number, reason: string): void {
    // Stop reading first, so that the reset can wait for the peer's side where it must.
    this.stopReading(h3Code, reason);
    this.reset(h3Code, reason);
  }

  onConnectionClosed(): void {
    if (this.readState === 'open') {
      this.readState = 'reset';
      this.receiver?.abort(null, 'connection closed');
    } else if (this.readState === 'discarding') {
      this.readState = 'finished';
    }
    if (this.writeState === 'open' || this.writeState === 'finishing') {
      this.writeState = 'reset';
      this.sender?.stopped(null, 'connection closed');
    }
    this.checkDone();
  }

  /** The stop code carried by a failed write, for the W3C layer. */
  static stoppedCodeOf(error: unknown): number | null | undefined {
    return (error as StreamWriteError | undefined)?.stoppedCode;
  }

  private checkDone(): void {
    if (this.done) return;
    const readDone = this.readState !== 'open' && this.readState !== 'discarding';
    const writeDone = this.writeState !== 'open' && this.writeState !== 'finishing';
    if (!readDone || !writeDone) return;
    this.done = true;
    this.owner.streamDone(this);
  }
}
