/**
 * Whether a picture size read from a stream (an H.264 SPS, a VP8 key frame header) can be real.
 * Those headers are written by whoever publishes: a crafted SPS claimed 10×28, and the transcoder
 * planned a 10×28 ladder that ffmpeg could not encode. Bounds: 16 px (one macroblock) to 8192 px
 * a side (H.264 level 6.2 is 8192×4320), and at most level 6.2's 139 264 macroblocks
 * (ITU-T H.264 Table A-1, MaxFS) in all.
 */
export const MIN_VIDEO_SIDE = 16;
export const MAX_VIDEO_SIDE = 8192;
export const MAX_VIDEO_PIXELS = 139_264 * 256;

export function isPlausibleVideoSize(width: number, height: number): boolean {
  return (
    Number.isInteger(width) &&
    Number.isInteger(height) &&
    width >= MIN_VIDEO_SIDE &&
    height >= MIN_VIDEO_SIDE &&
    width <= MAX_VIDEO_SIDE &&
    height <= MAX_VIDEO_SIDE &&
    width * height <= MAX_VIDEO_PIXELS
  );
}
