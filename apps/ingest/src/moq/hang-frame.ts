/**
 * hang's "legacy" frame container (@moq/hang catalog `container: {kind: "legacy"}`): each MoQ
 * frame is a QUIC varint timestamp in microseconds (one clock shared by every track of the
 * broadcast) followed by the codec payload as WebCodecs produced it (H.264 Annex B or
 * length-prefixed, an Opus packet). An empty payload is a marker, not a sample ("content stops
 * at this timestamp", @moq/hang `container/legacy.ts`): valid, with nothing to decode.
 */
import { decodeQuicVarint, encodeQuicVarint } from './quic-varint';

export interface HangFrame {
  timestampUs: number;
  /** A view into the input, not a copy. */
  payload: Uint8Array;
}

export type HangFrameError = 'truncated_timestamp' | 'timestamp_too_large' | 'frame_too_large';

export type HangFrameResult = ({ ok: true } & HangFrame) | { ok: false; reason: HangFrameError; detail: string };

/** Reads one frame; a payload longer than `maxPayloadBytes` is refused. */
export function decodeHangFrame(frame: Uint8Array, maxPayloadBytes: number): HangFrameResult {
  if (frame.length === 0) return { ok: false, reason: 'truncated_timestamp', detail: 'an empty frame' };
  const timestamp = decodeQuicVarint(frame);
  if (!timestamp) {
    const needed = 1 << (frame[0]! >> 6);
    return frame.length < needed
      ? { ok: false, reason: 'truncated_timestamp', detail: `the frame ends inside its ${needed}-byte timestamp` }
      : { ok: false, reason: 'timestamp_too_large', detail: 'the timestamp is past 2^53 µs' };
  }
  const payloadLength = frame.length - timestamp.length;
  if (payloadLength > maxPayloadBytes) return { ok: false, reason: 'frame_too_large', detail: `${payloadLength} bytes, more than ${maxPayloadBytes}` };
  return { ok: true, timestampUs: timestamp.value, payload: frame.subarray(timestamp.length) };
}

export function encodeHangFrame({ timestampUs, payload }: HangFrame): Uint8Array {
  const timestamp = encodeQuicVarint(timestampUs);
  const out = new Uint8Array(timestamp.length + payload.length);
  out.set(timestamp, 0);
  out.set(payload, timestamp.length);
  return out;
}
