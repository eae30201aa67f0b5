/**
 * The H.264 codec string a browser encoder is configured with: Constrained Baseline (what every
 * WebRTC viewer decodes, OpenH264 included), at the lowest level that carries the picture.
 * Pure; used by the WebTransport broadcaster's encoder.
 */

/** H.264 levels by their limits (ITU-T H.264 Table A-1): max macroblocks per frame and per second. */
const LEVELS: Array<{ idc: number; maxFrameMbs: number; maxMbsPerSecond: number }> = [
  { idc: 30, maxFrameMbs: 1620, maxMbsPerSecond: 40_500 },
  { idc: 31, maxFrameMbs: 3600, maxMbsPerSecond: 108_000 },
  { idc: 32, maxFrameMbs: 5120, maxMbsPerSecond: 216_000 },
  { idc: 40, maxFrameMbs: 8192, maxMbsPerSecond: 245_760 },
  { idc: 42, maxFrameMbs: 8704, maxMbsPerSecond: 522_240 },
  { idc: 50, maxFrameMbs: 22_080, maxMbsPerSecond: 589_824 },
  { idc: 51, maxFrameMbs: 36_864, maxMbsPerSecond: 983_040 },
];

/** `avc1.42e0LL`: profile_idc 66 with constraint_set0+1 (Constrained Baseline), level LL. */
export function constrainedBaselineCodec(width: number, height: number, framerate: number): string {
  const frameMbs = Math.ceil(width / 16) * Math.ceil(height / 16);
  const mbsPerSecond = frameMbs * Math.max(1, framerate);
  const level = LEVELS.find((l) => frameMbs <= l.maxFrameMbs && mbsPerSecond <= l.maxMbsPerSecond) ?? LEVELS[LEVELS.length - 1]!;
  return `avc1.42e0${level.idc.toString(16).padStart(2, '0')}`;
}
