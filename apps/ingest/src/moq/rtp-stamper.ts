/**
 * The RTP header fields of one outgoing track (RFC 3550 §5.1): a random SSRC, a random first
 * sequence number that then increases by one per packet (mod 2^16) with no gap of our own, and
 * timestamps from the broadcast's shared MediaClock plus a random initial value.
 */
import { randomInt } from 'node:crypto';
import type { InboundRtp, MediaKind } from '../webrtc/engine';
import type { RtpPayload } from './h264-rtp-packetizer';
import { type MediaClock, rtpTimestamp } from './media-clock';

export const RTP_HEADER_BYTES = 12;

export interface RtpStamperOptions {
  kind: MediaKind;
  payloadType: number;
  clockRate: number;
  clock: MediaClock;
  /** Default: random (tests pin them). */
  ssrc?: number;
  initialSequenceNumber?: number;
  initialTimestamp?: number;
}

export class RtpStamper {
  readonly ssrc: number;
  private sequenceNumber: number;
  private readonly initialTimestamp: number;

  constructor(private readonly options: RtpStamperOptions) {
    this.ssrc = options.ssrc ?? randomInt(1, 0xffff_ffff);
    this.sequenceNumber = options.initialSequenceNumber ?? randomInt(0, 0x10000);
    this.initialTimestamp = options.initialTimestamp ?? randomInt(0, 0xffff_ffff);
  }

  /** The RTP timestamp of a frame at `timestampUs` on the publisher's clock. */
  timestamp(timestampUs: number): number {
    return rtpTimestamp(this.initialTimestamp, this.options.clock.ticks(timestampUs, this.options.clockRate));
  }

  /** Numbers the packets of one frame, all with the frame's timestamp. */
  stamp(payloads: RtpPayload[], timestampUs: number): InboundRtp[] {
    const timestamp = this.timestamp(timestampUs);
    return payloads.map(({ payload, marker }) => {
      const sequenceNumber = this.sequenceNumber;
      this.sequenceNumber = (sequenceNumber + 1) & 0xffff;
      return { kind: this.options.kind, sequenceNumber, timestamp, ssrc: this.ssrc, payloadType: this.options.payloadType, marker, payload, size: RTP_HEADER_BYTES + payload.length };
    });
  }
}
