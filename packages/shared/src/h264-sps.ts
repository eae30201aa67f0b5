/**
 * H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1), read as far as a forwarding server
 * needs: profile, constraint flags and level (what SDP's `profile-level-id` says, RFC 6184
 * §8.1) and the picture size after cropping. No I/O, browser-safe; never throws on malformed
 * input, and bounds what a stranger's SPS may claim.
 */

export interface H264Sps {
  /** `profile_idc` (66 Baseline, 77 Main, 100 High, …). */
  profileIdc: number;
  /** The byte of `constraint_set0..5_flag` + 2 reserved bits (RFC 6184 calls it `profile-iop`). */
  constraintFlags: number;
  /** `level_idc` (31 = level 3.1). */
  levelIdc: number;
  width: number;
  height: number;
}

/** Bounds on what an SPS may claim; past them it is refused (undefined). */
export interface H264SpsLimits {
  /** Largest width or height in pixels (default 8192). */
  maxDimension?: number;
  /** Largest frame in macroblocks (default 139 264: MaxFS of level 6.2, H.264 Table A-1, 8192×4352). */
  maxMacroblocks?: number;
}

/** An SPS is a few dozen bytes; with scaling lists and VUI a few hundred. More is not an SPS. */
const MAX_SPS_BYTES = 4096;

/** profile_idc values whose SPS carries chroma_format_idc and the bit depths (§7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/**
 * Reads an SPS NAL unit (header byte included, emulation prevention bytes still in it).
 * Undefined when it is not an SPS, is truncated or malformed, or claims a picture past `limits`.
 */
export function readH264Sps(nal: Uint8Array, limits: H264SpsLimits = {}): H264Sps | undefined {
  if (nal.length < 4 || nal.length > MAX_SPS_BYTES || (nal[0]! & 0x1f) !== 7) return undefined;
  const maxDimension = limits.maxDimension ?? 8192;
  const maxMacroblocks = limits.maxMacroblocks ?? 139_264;
  try {
    const r = new BitReader(unescapeRbsp(nal.subarray(1)));
    const profileIdc = r.bits(8);
    const constraintFlags = r.bits(8);
    const levelIdc = r.bits(8);
    if (r.ue() > 31) return undefined; // seq_parameter_set_id
    let chromaFormatIdc = 1;
    let separateColourPlane = 0;
    if (HIGH_PROFILES.has(profileIdc)) {
      chromaFormatIdc = r.ue();
      if (chromaFormatIdc > 3) return undefined;
      if (chromaFormatIdc === 3) separateColourPlane = r.bits(1);
      if (r.ue() > 6 || r.ue() > 6) return undefined; // bit_depth_luma/chroma_minus8
      r.bits(1); // qpprime_y_zero_transform_bypass_flag
      if (r.bits(1)) {
        for (let i = 0; i < (chromaFormatIdc !== 3 ? 8 : 12); i += 1) {
          if (r.bits(1)) skipScalingList(r, i < 6 ? 16 : 64);
        }
      }
    }
    if (r.ue() > 12) return undefined; // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) {
      if (r.ue() > 12) return undefined; // log2_max_pic_order_cnt_lsb_minus4
    } else if (pocType === 1) {
      r.bits(1);
      r.se();
      r.se();
      const cycle = r.ue();
      if (cycle > 255) return undefined;
      for (let i = 0; i < cycle; i += 1) r.se();
    } else if (pocType !== 2) return undefined;
    r.ue(); // max_num_ref_frames
    r.bits(1); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bits(1);
    if (!frameMbsOnly) r.bits(1); // mb_adaptive_frame_field_flag
    r.bits(1); // direct_8x8_inference_flag
    let crop = [0, 0, 0, 0];
    if (r.bits(1)) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
    const heightMbs = (2 - frameMbsOnly) * heightMapUnits;
    if (widthMbs * heightMbs > maxMacroblocks) return undefined;
    const chroma = separateColourPlane ? 0 : chromaFormatIdc;
    const cropUnitX = chroma === 1 || chroma === 2 ? 2 : 1;
    const cropUnitY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = widthMbs * 16 - (crop[0]! + crop[1]!) * cropUnitX;
    const height = heightMbs * 16 - (crop[2]! + crop[3]!) * cropUnitY;
    if (width <= 0 || height <= 0 || width > maxDimension || height > maxDimension) return undefined;
    return { profileIdc, constraintFlags, levelIdc, width, height };
  } catch {
    return undefined;
  }
}

/**
 * SDP `profile-level-id` (RFC 6184 §8.1): profile_idc, the constraint byte and level_idc of the
 * SPS, as six hex digits (`64001f`).
 */
export function h264ProfileLevelId(sps: Pick<H264Sps, 'profileIdc' | 'constraintFlags' | 'levelIdc'>): string {
  return [sps.profileIdc, sps.constraintFlags, sps.levelIdc].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** WebCodecs / RFC 6381 codec string of the SPS (`avc1.64001f`). */
export function h264CodecString(sps: Pick<H264Sps, 'profileIdc' | 'constraintFlags' | 'levelIdc'>): string {
  return `avc1.${h264ProfileLevelId(sps)}`;
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j += 1) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Removes emulation prevention bytes (00 00 03 → 00 00, §7.4.1). */
function unescapeRbsp(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  let length = 0;
  let zeros = 0;
  for (const byte of data) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out[length++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, length);
}

/** Reads bits MSB first; throws RangeError past the end (caught by readH264Sps). */
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

  /** Exp-Golomb ue(v) (§9.1); at most 32 bits of value. */
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
