/**
 * The peer's unidirectional HTTP/3 streams that live as long as the connection (RFC 9114 §6.2:
 * control; RFC 9204 §4.2: QPACK encoder and decoder), and the drain for streams nobody reads
 * any more. Closing a critical stream is H3_CLOSED_CRITICAL_STREAM (RFC 9114 §6.2.1).
 */
import { H3 } from '@onair/webtransport/error-codes';
import { decodeGoaway, FrameType } from '@onair/webtransport/frame';
import { FrameReader } from '@onair/webtransport/frame-reader';
import { ProtocolError } from '@onair/webtransport/protocol-error';
import { decodeSettings, type Settings } from '@onair/webtransport/settings';
import type { QuicConnection } from './quic-connection';
import type { StreamHandler } from './stream-handler';

/** SETTINGS and GOAWAY are small; a control frame past this is H3_EXCESSIVE_LOAD. */
const MAX_CONTROL_FRAME_BYTES = 16 * 1024;
const READ_BYTES = 4096;

export interface ControlStreamListener {
  onSettings(settings: Settings): void;
  onGoaway(id: number): void;
}

function closedCritical(what: string): never {
  throw new ProtocolError(H3.CLOSED_CRITICAL_STREAM, `peer closed its ${what} stream`);
}

/** RFC 9114 §6.2.1: SETTINGS first and once; no DATA or HEADERS; GOAWAY noted; unknown skipped. */
export class PeerControlStream implements StreamHandler {
  private readonly reader = new FrameReader(MAX_CONTROL_FRAME_BYTES);
  private settingsSeen = false;

  constructor(
    private readonly streamId: number,
    private readonly quic: QuicConnection,
    private readonly listener: ControlStreamListener,
    head: Uint8Array,
  ) {
    if (head.length > 0) this.consume(head);
  }

  onReadable(): void {
    for (;;) {
      const read = this.quic.read(this.streamId, READ_BYTES);
      if (read.kind === 'blocked') return;
      if (read.kind !== 'data' || read.fin) closedCritical('control');
      this.consume(read.bytes);
    }
  }

  private consume(bytes: Uint8Array): void {
    for (const event of this.reader.push(bytes)) {
      if (event.kind === 'too-large') throw new ProtocolError(H3.EXCESSIVE_LOAD, `control frame 0x${event.type.toString(16)} of ${event.length} bytes`);
      const type = event.kind === 'data' ? FrameType.DATA : event.type;
      if (!this.settingsSeen) {
        if (type !== FrameType.SETTINGS) throw new ProtocolError(H3.MISSING_SETTINGS, 'the control stream must start with SETTINGS');
        this.settingsSeen = true;
        this.listener.onSettings(decodeSettings((event as { payload: Uint8Array }).payload));
        continue;
      }
      if (event.kind === 'frame' && type === FrameType.GOAWAY) {
        this.listener.onGoaway(decodeGoaway(event.payload));
        continue;
      }
      // §7.2.4: a second SETTINGS; §7.2.1/§7.2.2: DATA or HEADERS on the control stream.
      if (type === FrameType.SETTINGS || type === FrameType.DATA || type === FrameType.HEADERS || type === FrameType.PUSH_PROMISE) {
        throw new ProtocolError(H3.FRAME_UNEXPECTED, `frame 0x${type.toString(16)} on the control stream`);
      }
    }
  }
}

/**
 * The peer's QPACK encoder stream. With our table capacity at 0 the only instruction it may send
 * is Set Dynamic Table Capacity 0, the single byte 0x20 (RFC 9204 §4.3.1); anything else would
 * insert into a table it may not have: QPACK_ENCODER_STREAM_ERROR.
 */
export class PeerQpackEncoderStream implements StreamHandler {
  constructor(
    private readonly streamId: number,
    private readonly quic: QuicConnection,
    head: Uint8Array,
  ) {
    this.check(head);
  }

  onReadable(): void {
    for (;;) {
      const read = this.quic.read(this.streamId, READ_BYTES);
      if (read.kind === 'blocked') return;
      if (read.kind !== 'data' || read.fin) closedCritical('QPACK encoder');
      this.check(read.bytes);
    }
  }

  private check(bytes: Uint8Array): void {
    for (const byte of bytes) {
      if (byte !== 0x20) throw new ProtocolError(H3.QPACK_ENCODER_STREAM_ERROR, 'dynamic table instruction with capacity 0');
    }
  }
}

/**
 * The peer's QPACK decoder stream: acknowledgements and cancellations about field sections we
 * sent, which never use the dynamic table — read and dropped.
 */
export class PeerQpackDecoderStream implements StreamHandler {
  constructor(
    private readonly streamId: number,
    private readonly quic: QuicConnection,
  ) {}

  onReadable(): void {
    for (;;) {
      const read = this.quic.read(this.streamId, READ_BYTES);
      if (read.kind === 'blocked') return;
      if (read.kind !== 'data' || read.fin) closedCritical('QPACK decoder');
    }
  }
}

/**
 * A stream we stopped reading (STOP_SENDING sent): quiche may still deliver what was in flight
 * until the peer's RESET_STREAM arrives. Read and drop it, then forget the stream.
 */
export class DrainingStream implements StreamHandler {
  constructor(
    private readonly streamId: number,
    private readonly quic: QuicConnection,
    private readonly forget: (streamId: number) => void,
  ) {}

  onReadable(): void {
    for (;;) {
      const read = this.quic.read(this.streamId, 64 * 1024);
      if (read.kind === 'blocked') return;
      if (read.kind !== 'data' || read.fin) {
        this.forget(this.streamId);
        return;
      }
    }
  }

  onConnectionClosed(): void {
    this.forget(this.streamId);
  }
}
