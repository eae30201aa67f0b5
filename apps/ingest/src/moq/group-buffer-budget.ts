/**
 * What the group streams of one session may hold between them: the bytes of frames their framers
 * (group-stream-framer.ts) have received but not yet handed to @moq/lite whole. The per-frame cap
 * alone (4 MiB) let the 100 unidirectional streams a session may have open hold ~400 MiB. Once
 * the budget is used up, a stream stops reading: what its publisher sends waits in QUIC, whose
 * flow-control windows (1 MiB a stream, 4 MiB a session) then push the publisher back, until a
 * stream hands a frame on. The stream that began holding first may always read on, so the frames
 * being assembled finish and a session cannot wedge itself on partial frames: a session holds at
 * most the budget + one frame + one read chunk per stream. No I/O: streams ask for room and say
 * what they hold.
 */

export interface GroupBufferShare {
  /** The bytes this stream holds now. */
  hold(bytes: number): void;
  /** Resolves once this stream may read on. */
  room(): Promise<void>;
  /** The stream ended: it holds nothing and waits for nothing. Safe to call twice. */
  release(): void;
}

export interface GroupBufferStats {
  heldBytes: number;
  peakBytes: number;
  /** Times a stream had to wait for room, since the session began. */
  waits: number;
  /** Streams waiting now. */
  waiting: number;
}

export class GroupBufferBudget {
  private held = 0;
  private peak = 0;
  private waits = 0;
  /** Streams holding bytes, in the order they began to (a Set keeps it); the first may always read. */
  private readonly holders = new Set<GroupBufferShare>();
  private readonly waiters = new Map<GroupBufferShare, () => void>();

  /** `capBytes`: what the streams may hold together before all but the first holder wait. */
  constructor(readonly capBytes: number) {}

  open(): GroupBufferShare {
    let bytes = 0;
    const share: GroupBufferShare = {
      hold: (next) => {
        const less = next < bytes;
        this.held += next - bytes;
        bytes = next;
        if (next > 0) this.holders.add(share);
        else this.holders.delete(share);
        this.peak = Math.max(this.peak, this.held);
        if (less) this.wake();
      },
      room: () => {
        if (this.mayRead(share)) return Promise.resolve();
        this.waits += 1;
        return new Promise((resolve) => this.waiters.set(share, resolve));
      },
      release: () => {
        share.hold(0);
        const waiter = this.waiters.get(share);
        this.waiters.delete(share);
        waiter?.();
      },
    };
    return share;
  }

  getStats(): GroupBufferStats {
    return { heldBytes: this.held, peakBytes: this.peak, waits: this.waits, waiting: this.waiters.size };
  }

  private mayRead(share: GroupBufferShare): boolean {
    return this.held < this.capBytes || this.holders.values().next().value === share;
  }

  private wake(): void {
    for (const [share, resolve] of this.waiters) {
      if (!this.mayRead(share)) continue;
      this.waiters.delete(share);
      resolve();
    }
  }
}
