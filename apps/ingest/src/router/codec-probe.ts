/**
 * Reads what live state needs from RTP payloads without decoding: whether a packet starts a
 * keyframe (H.264 SPS/IDR, VP8 key frame) and the picture size (H.264 SPS, VP8 key frame header).
 * Pure functions over bytes; they never throw on malformed input, and a size no encoder writes
 * (shared/video-size.ts) is reported as no size.
 */
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

/** NAL unit (header byte included) of an H.264 SPS → picture size after cropping. */
export function parseH264Sps(nal: Uint8Array): { width: number; height: number } | undefined {
  try {
    const r = new BitReader(unescapeRbsp(nal.subarray(1)));
    const profileIdc = r.bits(8);
    r.bits(16); // constraint flags + level_idc
    r.ue(); // seq_parameter_set_id
    let chromaFormatIdc = 1;
    let separateColourPlane = 0;
    if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profileIdc)) {
      chromaFormatIdc = r.ue();
      if (chromaFormatIdc === 3) separateColourPlane = r.bits(1);
      r.ue(); // bit_depth_luma_minus8
      r.ue(); // bit_depth_chroma_minus8
      r.bits(1); // qpprime_y_zero_transform_bypass_flag
      if (r.bits(1)) {
        for (let i = 0; i < (chromaFormatIdc !== 3 ? 8 : 12); i += 1) {
          if (r.bits(1)) skipScalingList(r, i < 6 ? 16 : 64);
        }
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.bits(1);
      r.se();
      r.se();
      const n = r.ue();
      for (let i = 0; i < n; i += 1) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.bits(1); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bits(1);
    if (!frameMbsOnly) r.bits(1);
    r.bits(1); // direct_8x8_inference_flag
    let crop = [0, 0, 0, 0];
    if (r.bits(1)) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
    const chroma = separateColourPlane ? 0 : chromaFormatIdc;
    const cropUnitX = chroma === 1 || chroma === 2 ? 2 : 1;
    const cropUnitY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = widthMbs * 16 - (crop[0]! + crop[1]!) * cropUnitX;
    const height = (2 - frameMbsOnly) * heightMapUnits * 16 - (crop[2]! + crop[3]!) * cropUnitY;
    return isPlausibleVideoSize(width, height) ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j += 1) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Removes emulation-prevention bytes (00 00 03 → 00 00). */
function unescapeRbsp(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const byte of data) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

class BitReader {
  private pos = 0;
  constructor(private readonly data: Uint8Array) {}
  bits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i += 1) {
      const byte = this.data[this.pos >> 3];
      if (byte === undefined) throw new RangeError('end of data');
      value = value * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
      this.pos += 1;
    }
    return value;
  }
  ue(): number {
    let zeros = 0;
    while (this.bits(1) === 0) {
      zeros += 1;
      if (zeros > 31) throw new RangeError('bad exp-golomb');
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
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
