/**
 * The ingest's side of the back channel (@onair/shared/moq-control): a keyframe request is an
 * 8-byte datagram on the publisher's WebTransport session, sent only when the publisher's
 * catalog advertised the channel, at most once per `intervalMs`. Datagrams can be lost; the
 * router asks again while a viewer waits.
 */
import { CONTROL_VERSION, encodeKeyframeRequest } from '@onair/shared/moq-control';
import type { Logger } from '@onair/service/logger';

export interface KeyframeRequestStats {
  sent: number;
  /** Asked within `intervalMs` of the last one sent. */
  rateLimited: number;
  /** Asked while the publisher did not advertise the channel (a third-party publisher). */
  unsupported: number;
}

export class KeyframeBackChannel {
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
    if (this.publisherVersion < CONTROL_VERSION) {
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
    try {
      // No backpressure check: the rate limit bounds the queue to a request or two of 8 bytes.
      this.writer ??= this.session.datagrams.writable.getWriter();
      this.writer.write(encodeKeyframeRequest(this.request)).catch(() => {});
      this.stats.sent += 1;
      this.options.log.debug({ request: this.request }, 'keyframe request datagram to the MoQ publisher');
    } catch (error) {
      this.options.log.debug({ err: (error as Error).message }, 'keyframe request datagram not sent');
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
