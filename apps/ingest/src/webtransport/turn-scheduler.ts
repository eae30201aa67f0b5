/**
 * Coalesces work per event-loop turn: everything that happened to a connection during one turn
 * (a burst of UDP packets, several stream writes) is processed and flushed once, in a
 * setImmediate after the poll phase — one pass over quiche and one batch of sendto calls
 * instead of one per packet or per write.
 */
export interface Turnable {
  /** Reads what quiche has for the application (streams, datagrams, closure). */
  process(): void;
  /** Sends what quiche has to send and re-arms the connection timer. */
  flush(): void;
}

export class TurnScheduler {
  private readonly toProcess = new Set<Turnable>();
  private readonly toFlush = new Set<Turnable>();
  private immediate: NodeJS.Immediate | undefined;

  /** Process and flush `target` at the end of this turn. */
  process(target: Turnable): void {
    this.toProcess.add(target);
    this.arm();
  }

  /** Only flush (a write or a shutdown: nothing new to read). */
  flush(target: Turnable): void {
    this.toFlush.add(target);
    this.arm();
  }

  private arm(): void {
    this.immediate ??= setImmediate(() => this.run());
  }

  private run(): void {
    this.immediate = undefined;
    // Processing can queue more (a stream handler writes): loop until both sets are empty.
    for (let rounds = 0; (this.toProcess.size > 0 || this.toFlush.size > 0) && rounds < 8; rounds++) {
      const processing = [...this.toProcess];
      this.toProcess.clear();
      for (const target of processing) {
        target.process();
        this.toFlush.add(target);
      }
      const flushing = [...this.toFlush];
      this.toFlush.clear();
      for (const target of flushing) target.flush();
    }
    if (this.toProcess.size > 0 || this.toFlush.size > 0) this.arm();
  }
}
