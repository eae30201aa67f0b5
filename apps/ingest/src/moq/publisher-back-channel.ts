/**
 * The ingest's side of the back channel (@onair/shared/moq-control): datagrams on the
 * publisher's WebTransport session, each sent only when the publisher's catalog advertised the
 * level it needs. A keyframe request goes at most once per `intervalMs` (datagrams can be lost;
 * the router asks again while a viewer waits); a session-end notice asks the publisher to close
 * the session itself.
 */
import { CONTROL_LEVEL, encodeKeyframeRequest, encodeSessionEnd, type SessionEndReason } from '@onair/shared/moq-control';
import type { Logger } from '@onair/service/logger';

export interface KeyframeRequestStats {
  sent: number;
  /** Asked within `intervalMs` of the last one sent. */
  rateLimited: number;
  /** Asked while the publisher did not advertise the channel (a third-party publisher). */
  unsupported: number;
}

export class PublisherBackChannel {
  /** Highest back-channel version the publisher advertised; 0 = none. */
  publisherVersion = 0;
  private readonly stats: KeyframeRequestStats = { sent: 0, rateLimited: 0, unsupported: 0 };
  private request = 0;
  private lastAt = -Infinity;
  private writer: WritableStreamDefaultWriter<Uint8Array> | undefined;

  constructor(
    private readonly session: WebTransport,
    private readonly options: { intervalMs: number; now: () => number; log: Logger },
  ) {}

  requestKeyframe(): void {
    if (this.publisherVersion < CONTROL_LEVEL.keyframeRequest) {
      this.stats.unsupported += 1;
      return;
    }
    const now = this.options.now();
    if (now - this.lastAt < this.options.intervalMs) {
      this.stats.rateLimited += 1;
      return;
    }
    this.lastAt = now;
    this.request = (this.request + 1) >>> 0 || 1;
    // No backpressure check: the rate limit bounds the queue to a request or two of 8 bytes.
    if (this.send(encodeKeyframeRequest(this.request))) {
      this.stats.sent += 1;
      this.options.log.debug({ request: this.request }, 'keyframe request datagram to the MoQ publisher');
    }
  }

  /**
   * Tells the publisher the ingest is done with the session (three copies: a lost notice only
   * costs the grace period). False when the publisher does not understand the notice.
   */
  notifySessionEnd(reason: SessionEndReason): boolean {
    if (this.publisherVersion < CONTROL_LEVEL.sessionEnd) return false;
    const notice = encodeSessionEnd(reason);
    let sent = false;
    for (let copy = 0; copy < 3; copy += 1) sent = this.send(notice) || sent;
    return sent;
  }

  private send(datagram: Uint8Array): boolean {
    try {
      this.writer ??= this.session.datagrams.writable.getWriter();
      this.writer.write(datagram).catch(() => {});
      return true;
    } catch (error) {
      this.options.log.debug({ err: (error as Error).message }, 'back channel datagram not sent');
      return false;
    }
  }

  getStats(): KeyframeRequestStats {
    return { ...this.stats };
  }

  close(): void {
    this.writer?.releaseLock();
    this.writer = undefined;
  }
}
