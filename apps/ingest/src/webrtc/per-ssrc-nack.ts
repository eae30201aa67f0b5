/**
 * One werift NACK handler per SSRC, in place of the receiver's single one, for a simulcast
 * publisher's video receiver.
 *
 * werift 0.25's NackHandler (media/receiver/nack.js) follows one sequence: every packet of the
 * receiver goes through `addPacket`, a sequence number ahead of the last one marks the gap as
 * lost, and the losses are NACKed for the SSRC of the *last* packet seen. With three simulcast
 * layers (three SSRCs, three unrelated sequences) interleaved on one receiver, nearly every packet
 * "revealed" a gap: NACKs for packets that never existed, sent to the wrong layer, every 5 ms.
 * Here each SSRC gets its own handler (the same class, built the same way), so a loss is a loss.
 */
import type { RTCRtpReceiver, RtpPacket } from 'werift';

/** The part of werift's NackHandler used here. */
interface NackHandlerLike {
  addPacket(packet: RtpPacket): void;
  close(): void;
  onPacketLost: { subscribe(listener: (nack: unknown) => void): unknown; execute(nack: unknown): void };
}

/** SSRCs followed at once: layers (≤ 4) plus an encoder restart or two; the oldest goes first. */
const MAX_HANDLERS = 8;

export class PerSsrcNack {
  private readonly handlers = new Map<number, NackHandlerLike>();
  private readonly create: () => NackHandlerLike;

  private constructor(private readonly original: NackHandlerLike, receiver: RTCRtpReceiver) {
    const Handler = original.constructor as new (receiver: RTCRtpReceiver) => NackHandlerLike;
    this.create = () => {
      const handler = new Handler(receiver);
      // The receiver counts NACKs per SSRC from its original handler's event (getStats).
      handler.onPacketLost.subscribe((nack) => original.onPacketLost.execute(nack));
      return handler;
    };
  }

  /** Replaces `receiver`'s NACK handler with one handler per SSRC. Idempotent. */
  static install(receiver: RTCRtpReceiver): void {
    const holder = receiver as unknown as { nack: NackHandlerLike | PerSsrcNack };
    if (holder.nack instanceof PerSsrcNack) return;
    holder.nack = new PerSsrcNack(holder.nack, receiver);
  }

  get onPacketLost(): NackHandlerLike['onPacketLost'] {
    return this.original.onPacketLost;
  }

  /** SSRCs with a handler (tests). */
  get ssrcs(): number[] {
    return [...this.handlers.keys()];
  }

  addPacket(packet: RtpPacket): void {
    const ssrc = packet.header.ssrc;
    let handler = this.handlers.get(ssrc);
    if (!handler) {
      if (this.handlers.size >= MAX_HANDLERS) {
        const [oldest, old] = this.handlers.entries().next().value!;
        old.close();
        this.handlers.delete(oldest);
      }
      handler = this.create();
      this.handlers.set(ssrc, handler);
    }
    handler.addPacket(packet);
  }

  close(): void {
    for (const handler of this.handlers.values()) handler.close();
    this.handlers.clear();
    this.original.close();
  }
}
