/**
 * Reads what live state needs from RTP payloads without decoding: whether a packet starts a
 * keyframe (H.264 SPS/IDR, VP8 key frame) and the picture size (H.264 SPS, VP8 key frame header).
 * Pure functions over bytes; they never throw on malformed input, and a size no encoder writes
 * (shared/video-size.ts) is reported as no size.
 */
import { readH264Sps } from '@onair/shared/h264-sps';
import { isPlausibleVideoSize } from '@onair/shared/video-size';

export interface KeyframeInfo {
  /** The packet starts a decodable keyframe (a viewer may start here). */
  keyframeStart: boolean;
  width?: number;
  height?: number;
}

const NONE: KeyframeInfo = { keyframeStart: false };

/** RFC 6184 payloads: single NAL unit, STAP-A (24), FU-A (28). */
export function probeH264(payload: Uint8Array): KeyframeInfo {
  if (payload.length < 1) return NONE;
  const type = payload[0]! & 0x1f;
  if (type >= 1 && type <= 23) return nalInfo(payload);
  if (type === 24) {
    let offset = 1;
    let info: KeyframeInfo = NONE;
    while (offset + 2 < payload.length) {
      const size = (payload[offset]! << 8) | payload[offset + 1]!;
      offset += 2;
      if (size === 0 || offset + size > payload.length) break;
      const nal = nalInfo(payload.subarray(offset, offset + size));
      if (nal.keyframeStart) info = { ...info, ...nal };
      offset += size;
    }
    return info;
  }
  if (type === 28 && payload.length >= 2) {
    const start = (payload[1]! & 0x80) !== 0;
    // An IDR slice fragment without SPS before it cannot start decoding on its own; only SPS starts a keyframe.
    return start && (payload[1]! & 0x1f) === 7 ? { keyframeStart: true } : NONE;
  }
  return NONE;
}

function nalInfo(nal: Uint8Array): KeyframeInfo {
  if ((nal[0]! & 0x1f) !== 7) return NONE;
  const size = parseH264Sps(nal);
  return size ? { keyframeStart: true, ...size } : { keyframeStart: true };
}

/** NAL unit (header byte included) of an H.264 SPS → picture size after cropping (@onair/shared/h264-sps). */
export function parseH264Sps(nal: Uint8Array): { width: number; height: number } | undefined {
  const sps = readH264Sps(nal);
  return sps && isPlausibleVideoSize(sps.width, sps.height) ? { width: sps.width, height: sps.height } : undefined;
}

/** RFC 7741 payload descriptor, then the VP8 frame tag (RFC 6386 §9.1). */
export function probeVp8(payload: Uint8Array): KeyframeInfo {
  if (payload.length < 1) return NONE;
  const b0 = payload[0]!;
  const start = (b0 & 0x10) !== 0 && (b0 & 0x07) === 0;
  if (!start) return NONE;
  let offset = 1;
  if (b0 & 0x80) {
    const x = payload[offset++];
    if (x === undefined) return NONE;
    if (x & 0x80) offset += (payload[offset] ?? 0) & 0x80 ? 2 : 1;
    if (x & 0x40) offset += 1;
    if (x & 0x30) offset += 1;
  }
  const frame = payload.subarray(offset);
  if (frame.length < 3 || (frame[0]! & 0x01) !== 0) return NONE;
  if (frame.length >= 10 && frame[3] === 0x9d && frame[4] === 0x01 && frame[5] === 0x2a) {
    const width = (frame[6]! | (frame[7]! << 8)) & 0x3fff;
    const height = (frame[8]! | (frame[9]! << 8)) & 0x3fff;
    return isPlausibleVideoSize(width, height) ? { keyframeStart: true, width, height } : { keyframeStart: true };
  }
  return { keyframeStart: true };
}

/** Dispatch by codec name (`H264`, `VP8`); other codecs never report keyframes. */
export function probeKeyframe(codec: string, payload: Uint8Array): KeyframeInfo {
  const lower = codec.toLowerCase();
  if (lower === 'h264') return probeH264(payload);
  if (lower === 'vp8') return probeVp8(payload);
  return NONE;
}
