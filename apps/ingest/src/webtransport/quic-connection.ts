/**
 * One QUIC connection on the quiche binding: packets in (`receive`), packets out (`flush`), the
 * connection timer, and stream/datagram primitives for the HTTP/3 layer above it.
 *
 * Receive backpressure lives here by omission: a stream's bytes are read from quiche only when
 * the layer above calls `read()` — bytes it does not want stay in quiche, whose flow-control
 * window (the configured per-stream and per-connection limits) then stops the peer.
 * Send backpressure: `write()` resolves once quiche has taken every byte; what it cannot take
 * yet waits here (one pending queue per stream, drained on every turn).
 *
 * Errors: a ProtocolError thrown by the layer above while processing closes the connection with
 * its code (RFC 9114 §8: connection errors); any other exception closes it with
 * H3_INTERNAL_ERROR and is reported — a peer never crashes the process.
 */
import { H3 } from '@onair/webtransport/error-codes';
import { ProtocolError } from '@onair/webtransport/protocol-error';
import { quiche, quicheErrorName, quicheStreamErrorCode, type HostPort, type QuicheConnection, type QuicheConnectionError } from './quiche';
import type { TurnScheduler, Turnable } from './turn-scheduler';

export interface QuicConnectionHandler {
  onEstablished(): void;
  /** quiche has bytes (or a FIN, or a reset) for this stream. */
  onReadable(streamId: number): void;
  /** The peer sent STOP_SENDING for a stream we write (RFC 9000 §19.5), code null when quiche lost it; reported once. */
  onStopSending(streamId: number, code: number | null): void;
  onDatagram(payload: Uint8Array): void;
  onClosed(info: QuicCloseInfo): void;
}

export interface QuicCloseInfo {
  peer: QuicheConnectionError | null;
  local: QuicheConnectionError | null;
  timedOut: boolean;
}

export type StreamRead =
  | { kind: 'data'; bytes: Uint8Array; fin: boolean }
  | { kind: 'blocked' }
  | { kind: 'reset'; code: number }
  | { kind: 'gone' };

/** A write that quiche refused: the peer stopped the stream (`stoppedCode`), or it is closed. */
export class StreamWriteError extends Error {
  override readonly name = 'StreamWriteError';
  constructor(
    message: string,
    /** Set when the peer stopped the stream: its code, or null when it is not known. */
    readonly stoppedCode?: number | null,
  ) {
    super(message);
  }
}

interface PendingWrite {
  chunks: Uint8Array[];
  fin: boolean;
  waiters: Array<{ resolve: () => void; reject: (error: Error) => void }>;
}

export interface QuicConnectionOptions {
  role: 'server' | 'client';
  local: HostPort;
  remote: HostPort;
  /** Sends one UDP datagram. */
  transmit(packet: Uint8Array, to: HostPort): void;
  scheduler: TurnScheduler;
  /** A bug in a layer above (not a peer's fault): logged by the owner. */
  onInternalError(error: unknown): void;
  /**
   * Scratch buffers, shared by every connection of an endpoint (reads and sends copy out of them
   * at once, and JS runs one connection at a time): `read` bounds one `read()`, `send` is the
   * largest UDP payload quiche may write.
   */
  scratch: { read: Uint8Array; send: Uint8Array };
}

const BLOCKED: StreamRead = { kind: 'blocked' };
const GONE: StreamRead = { kind: 'gone' };
const RESOLVED = Promise.resolve();
const EMPTY = new Uint8Array(0);

export class QuicConnection implements Turnable {
  handler: QuicConnectionHandler | undefined;
  readonly role: 'server' | 'client';
  readonly remote: HostPort;
  private readonly local: HostPort;
  private established = false;
  private finished = false;
  private readonly pending = new Map<number, PendingWrite>();
  /** Our write sides that are open: STOP_SENDING on them must be noticed even when idle. */
  private readonly writeSides = new Set<number>();
  private readonly stopped = new Set<number>();
  private creditWaiters: Array<() => void> = [];
  /** Streams written to since the last flush: their bytes have not left yet. */
  private readonly writtenSinceFlush = new Set<number>();
  /** When a stream's last bytes left (the flush after its last write), performance.now(). */
  private readonly lastSentAt = new Map<number, number>();
  /** Streams whose peer side we wait to see ended (FIN or RESET_STREAM received). */
  private readonly peerEndWaiters = new Map<number, Array<() => void>>();
  private nextBidi: number;
  private nextUni: number;
  private timer: NodeJS.Timeout | undefined;
  private timerDeadline = 0;
  private readonly readScratch: Uint8Array;
  private readonly sendScratch: Uint8Array;

  constructor(
    readonly native: QuicheConnection,
    private readonly options: QuicConnectionOptions,
  ) {
    this.role = options.role;
    this.local = options.local;
    this.remote = options.remote;
    // RFC 9000 §2.1: the low bit says who opened a stream, the next one its direction.
    this.nextBidi = options.role === 'client' ? 0 : 1;
    this.nextUni = options.role === 'client' ? 2 : 3;
    this.readScratch = options.scratch.read;
    this.sendScratch = options.scratch.send;
  }

  get isEstablished(): boolean {
    return this.established;
  }

  get isClosed(): boolean {
    return this.finished;
  }

  /** Asks for a processing pass (and a flush) at the end of this turn. */
  schedule(): void {
    this.options.scheduler.process(this);
  }

  receive(packet: Uint8Array, from: HostPort): void {
    if (this.finished) return;
    try {
      this.native.recv(packet, { from, to: this.local });
    } catch {
      // A packet quiche cannot use (corrupt, duplicate, undecryptable) is dropped (RFC 9000 §12.2).
    }
    this.options.scheduler.process(this);
  }

  process(): void {
    if (this.finished) return;
    try {
      this.processUnsafe();
    } catch (error) {
      this.failWith(error);
    }
    if (this.native.isClosed()) this.finish();
  }

  private processUnsafe(): void {
    const native = this.native;
    if (!this.established) {
      if (!native.isEstablished()) return;
      this.established = true;
      this.handler?.onEstablished();
    }
    const handler = this.handler;
    if (!handler) return;
    for (const streamId of native.readable()) handler.onReadable(streamId);
    for (let datagram = native.dgramRecvVec(); datagram !== null; datagram = native.dgramRecvVec()) handler.onDatagram(datagram);
    this.drainPending();
    if (this.writeSides.size > 0) this.noticeStopSending();
    for (const [streamId, waiters] of this.peerEndWaiters) {
      if (!this.peerSideEnded(streamId)) continue;
      this.peerEndWaiters.delete(streamId);
      for (const wake of waiters) wake();
    }
    if (this.creditWaiters.length > 0 && (native.peerStreamsLeftBidi() > 0 || native.peerStreamsLeftUni() > 0)) {
      const waiters = this.creditWaiters;
      this.creditWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Closes the connection for a ProtocolError (its code) or anything else (H3_INTERNAL_ERROR). */
  failWith(error: unknown): void {
    if (error instanceof ProtocolError) {
      this.close(error.code, error.message);
      return;
    }
    this.options.onInternalError(error);
    this.close(H3.INTERNAL_ERROR, 'internal error');
  }

  flush(): void {
    if (this.finished) return;
    const native = this.native;
    if (this.writtenSinceFlush.size > 0) {
      const now = performance.now();
      for (const streamId of this.writtenSinceFlush) this.lastSentAt.set(streamId, now);
      this.writtenSinceFlush.clear();
    }
    for (;;) {
      let sent: ReturnType<QuicheConnection['send']>;
      try {
        sent = native.send(this.sendScratch);
      } catch (error) {
        this.options.onInternalError(error);
        break;
      }
      if (sent === null) break;
      this.options.transmit(this.sendScratch.slice(0, sent[0]), sent[1].to);
    }
    if (native.isClosed()) {
      this.finish();
      return;
    }
    this.armTimer();
  }

  private armTimer(): void {
    const ms = this.native.timeout();
    if (ms === null) {
      clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    const deadline = performance.now() + ms;
    // An earlier timer can stay: quiche's on_timeout acts only on timers that are due.
    if (this.timer !== undefined && this.timerDeadline <= deadline + 1) return;
    clearTimeout(this.timer);
    this.timerDeadline = deadline;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.finished) return;
      this.native.onTimeout();
      this.options.scheduler.process(this);
    }, Math.ceil(ms));
  }

  /** Up to `maxBytes` of a stream (a copy the caller owns), or why not. */
  read(streamId: number, maxBytes: number): StreamRead {
    const target = maxBytes >= this.readScratch.length ? this.readScratch : this.readScratch.subarray(0, Math.max(1, maxBytes));
    let result: [number, boolean] | null;
    try {
      result = this.native.streamRecv(streamId, target);
    } catch (error) {
      const code = quicheStreamErrorCode(error, 'StreamReset');
      return code === undefined ? GONE : { kind: 'reset', code };
    }
    // quiche can report a stream readable with nothing to read yet: the same as no data.
    if (result === null || (result[0] === 0 && !result[1])) return BLOCKED;
    return { kind: 'data', bytes: target.slice(0, result[0]), fin: result[1] };
  }

  /**
   * Resolves when quiche has taken all of `bytes` (and the FIN). The bytes are copied when they
   * have to wait: the caller may reuse its buffer at once.
   */
  write(streamId: number, bytes: Uint8Array, fin: boolean): Promise<void> {
    if (this.finished) return Promise.reject(new StreamWriteError('connection closed'));
    const queued = this.pending.get(streamId);
    if (queued) {
      queued.chunks.push(bytes.slice());
      queued.fin ||= fin;
      return new Promise((resolve, reject) => queued.waiters.push({ resolve, reject }));
    }
    let result: number | null;
    try {
      result = this.native.streamSend(streamId, bytes, fin);
    } catch (error) {
      return Promise.reject(this.sendFailed(streamId, error));
    }
    this.options.scheduler.flush(this);
    // null is quiche's Done: nothing taken, not even a FIN (which also needs stream capacity).
    const written = result ?? 0;
    if (written > 0) this.writtenSinceFlush.add(streamId);
    if (result !== null && written === bytes.length) {
      if (fin) this.writeSides.delete(streamId);
      else this.writeSides.add(streamId);
      return RESOLVED;
    }
    // quiche answers Done both for "no capacity now" and for a stream it already freed.
    const gone = written === 0 ? this.checkAlive(streamId) : undefined;
    if (gone) return Promise.reject(gone);
    this.writeSides.add(streamId);
    const waiting: PendingWrite = { chunks: [bytes.slice(written)], fin, waiters: [] };
    this.pending.set(streamId, waiting);
    return new Promise((resolve, reject) => waiting.waiters.push({ resolve, reject }));
  }

  /**
   * FIN for a stream, dodging a quiche 0.18 bug: a stream whose data were all acknowledged counts
   * as complete the moment its FIN is set (`SendBuf::is_complete` looks at acknowledged bytes
   * only), so an acknowledgement of earlier data arriving before the FIN frame leaves frees the
   * stream and the FIN is never sent — the peer's reader waits forever (reproduced here with a
   * 1 MiB echo: stuck on every fourth stream, no packet lost). A FIN written while its data have
   * not left yet travels with them; otherwise it waits until the acknowledgements of the data
   * have come back (2 RTT + 30 ms of ack delay, at most 250 ms).
   */
  async writeFin(streamId: number): Promise<void> {
    const sentAt = this.pending.has(streamId) || this.writtenSinceFlush.has(streamId) ? undefined : this.lastSentAt.get(streamId);
    if (sentAt !== undefined) {
      const rtt = this.native.pathStats()[0]?.rtt ?? 100;
      const wait = sentAt + Math.min(250, 2 * rtt + 30) - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    this.lastSentAt.delete(streamId);
    return this.write(streamId, EMPTY, true);
  }

  /** A write whose outcome nobody awaits (control streams, responses): failures are the stream's end. */
  send(streamId: number, bytes: Uint8Array, fin: boolean): void {
    this.write(streamId, bytes, fin).catch(() => {});
  }

  private drainPending(): void {
    for (const [streamId, waiting] of this.pending) {
      const bytes = waiting.chunks.length === 1 ? waiting.chunks[0]! : concat(waiting.chunks);
      let result: number | null;
      try {
        result = this.native.streamSend(streamId, bytes, waiting.fin);
      } catch (error) {
        this.pending.delete(streamId);
        const failure = this.sendFailed(streamId, error);
        for (const waiter of waiting.waiters) waiter.reject(failure);
        continue;
      }
      const written = result ?? 0;
      if (written > 0) this.writtenSinceFlush.add(streamId);
      if (result === null || written < bytes.length) {
        const gone = written === 0 ? this.checkAlive(streamId) : undefined;
        if (gone) {
          this.pending.delete(streamId);
          for (const waiter of waiting.waiters) waiter.reject(gone);
          continue;
        }
        waiting.chunks = [bytes.subarray(written)];
        continue;
      }
      this.pending.delete(streamId);
      if (waiting.fin) this.writeSides.delete(streamId);
      for (const waiter of waiting.waiters) waiter.resolve();
    }
  }

  /**
   * STOP_SENDING is not an event in quiche 0.18: a stopped stream shows as StreamStopped(code)
   * from `stream_capacity` — until everything sent on it is acknowledged, when quiche frees it and
   * the code is lost (InvalidStreamState: reported with a null code). So every open send side is
   * checked after each batch of packets.
   */
  private noticeStopSending(): void {
    for (const streamId of this.writeSides) {
      const gone = this.checkAlive(streamId);
      const waiting = gone && this.pending.get(streamId);
      if (waiting) {
        this.pending.delete(streamId);
        for (const waiter of waiting.waiters) waiter.reject(gone);
      }
    }
  }

  /** The failure to report when quiche has stopped or freed the stream, else undefined. */
  private checkAlive(streamId: number): StreamWriteError | undefined {
    try {
      this.native.streamCapacity(streamId);
      return undefined;
    } catch (error) {
      return this.sendFailed(streamId, error);
    }
  }

  private sendFailed(streamId: number, error: unknown): StreamWriteError {
    this.writeSides.delete(streamId);
    this.lastSentAt.delete(streamId);
    const code = quicheStreamErrorCode(error, 'StreamStopped');
    const freed = quicheErrorName(error).startsWith('InvalidStreamState');
    if (code === undefined && !freed) return new StreamWriteError(`stream ${streamId}: ${quicheErrorName(error)}`);
    if (!this.stopped.has(streamId)) {
      this.stopped.add(streamId);
      // Answer STOP_SENDING with RESET_STREAM carrying the same code (RFC 9000 §3.5).
      if (code !== undefined) this.shutdown(streamId, quiche.Shutdown.Write, code);
      this.handler?.onStopSending(streamId, code ?? null);
    }
    return new StreamWriteError(`stream ${streamId} stopped by the peer`, code ?? null);
  }

  /** RFC 9218 urgency (0 first … 7 last) of a stream we send on. */
  setPriority(streamId: number, urgency: number): void {
    try {
      this.native.streamPriority(streamId, urgency, true);
    } catch {
      // The stream is gone.
    }
  }

  /** STOP_SENDING: we will not read this stream any more. */
  stopSending(streamId: number, code: number): void {
    this.shutdown(streamId, quiche.Shutdown.Read, code);
  }

  /** RESET_STREAM: abandons what was not sent yet; pending writes fail. */
  resetStream(streamId: number, code: number): void {
    this.writeSides.delete(streamId);
    this.lastSentAt.delete(streamId);
    const waiting = this.pending.get(streamId);
    this.pending.delete(streamId);
    this.shutdown(streamId, quiche.Shutdown.Write, code);
    if (waiting) {
      const failure = new StreamWriteError(`stream ${streamId} reset`);
      for (const waiter of waiting.waiters) waiter.reject(failure);
    }
  }

  private shutdown(streamId: number, direction: number, code: number): void {
    try {
      this.native.streamShutdown(streamId, direction, code);
    } catch {
      // Already finished or reset: nothing left to shut.
    }
    this.options.scheduler.flush(this);
  }

  /**
   * Opens the next local stream by writing its first bytes (quiche creates a stream on its
   * first write). Undefined while the peer's MAX_STREAMS credit is used up.
   */
  tryOpenStream(bidi: boolean, header: Uint8Array): number | undefined {
    if (this.finished) throw new StreamWriteError('connection closed');
    if ((bidi ? this.native.peerStreamsLeftBidi() : this.native.peerStreamsLeftUni()) === 0) return undefined;
    const streamId = bidi ? this.nextBidi : this.nextUni;
    if (bidi) this.nextBidi += 4;
    else this.nextUni += 4;
    this.send(streamId, header, false);
    return streamId;
  }

  /**
   * Resolves once the peer's side of the stream has ended (its FIN or RESET_STREAM arrived, even
   * on a stream we stopped reading), the connection closed, or `timeoutMs` passed.
   */
  whenPeerSideEnded(streamId: number, timeoutMs = 5000): Promise<void> {
    if (this.finished || this.peerSideEnded(streamId)) return RESOLVED;
    return new Promise((resolve) => {
      const timer = setTimeout(wake, timeoutMs);
      function wake(): void {
        clearTimeout(timer);
        resolve();
      }
      const waiters = this.peerEndWaiters.get(streamId) ?? [];
      waiters.push(wake);
      this.peerEndWaiters.set(streamId, waiters);
    });
  }

  private peerSideEnded(streamId: number): boolean {
    try {
      return this.native.streamFinished(streamId);
    } catch {
      return true;
    }
  }

  /** Waits for the peer to raise its stream limit (or the connection to close). */
  waitForStreamCredit(): Promise<void> {
    if (this.finished) return Promise.reject(new StreamWriteError('connection closed'));
    return new Promise((resolve) => this.creditWaiters.push(resolve));
  }

  /** Sends a QUIC DATAGRAM; false when it is too big for the path or the queue is full. */
  sendDatagram(payload: Uint8Array): boolean {
    if (this.finished) return false;
    try {
      this.native.dgramSend(payload);
    } catch {
      return false;
    }
    this.options.scheduler.flush(this);
    return true;
  }

  /** Largest DATAGRAM payload quiche can send now (null before the handshake or without peer support). */
  maxDatagramPayload(): number | null {
    return this.finished ? null : this.native.dgramMaxWritableLen();
  }

  /** CONNECTION_CLOSE with an application (HTTP/3) error code; the draining period follows. */
  close(code: number = H3.NO_ERROR, reason = ''): void {
    if (this.finished) return;
    try {
      this.native.close(true, code, new TextEncoder().encode(reason.slice(0, 200)));
    } catch {
      // Already closing.
    }
    this.options.scheduler.process(this);
  }

  /** Forgets the connection at once (server shutdown after the CONNECTION_CLOSE was flushed). */
  abandon(): void {
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const failure = new StreamWriteError('connection closed');
    for (const waiting of this.pending.values()) for (const waiter of waiting.waiters) waiter.reject(failure);
    this.pending.clear();
    this.lastSentAt.clear();
    const waiters = this.creditWaiters;
    this.creditWaiters = [];
    for (const wake of waiters) wake();
    for (const ended of this.peerEndWaiters.values()) for (const wake of ended) wake();
    this.peerEndWaiters.clear();
    this.handler?.onClosed({ peer: this.native.peerError(), local: this.native.localError(), timedOut: this.native.isTimedOut() });
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const chunk of chunks) size += chunk.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
