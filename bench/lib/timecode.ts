/**
 * The time code the glass-to-glass bench burns into every published frame and reads back from
 * every displayed one: 48 bits of capture time (ms since the epoch, `performance.timeOrigin +
 * performance.now()` of the publishing page) and a 16-bit Fletcher checksum, as an 8×8 grid of
 * black/white blocks. Blocks are 1/16 of the frame height, so a frame scaled down to 320×180 by
 * the sender's adaptation or by the decoder still carries ~20-pixel blocks: far above what H.264
 * at any usable bitrate smears. A misread frame fails the checksum and is counted, not used.
 *
 * Geometry is in normalized coordinates of a 16:9 frame, so encoder and decoder agree whatever
 * the resolution. Pure and isomorphic: bundled into the bench pages, self-checked in Node.
 */

/** Grid size: 8 × 8 = 64 bits = 48 data + 16 checksum. */
export const GRID = 8;
const DATA_BITS = 48;
/** Left/top edge of the grid and block size, as fractions of the frame height (16:9 frame). */
const ORIGIN_Y = 0.0625;
const BLOCK = 0.0625 * 1.4;
const ORIGIN_X = ORIGIN_Y;

/** Fletcher-16 over the 6 bytes of the 48-bit value (big-endian). */
export function checksum(value: number): number {
  let a = 0;
  let b = 0;
  for (let i = 5; i >= 0; i--) {
    const byte = Math.floor(value / 2 ** (8 * i)) % 256;
    a = (a + byte) % 255;
    b = (b + a) % 255;
  }
  return (b << 8) | a;
}

/** The 64 bits (row-major, MSB first) for a time in ms; the value is truncated to an integer. */
export function encodeBits(timeMs: number): boolean[] {
  const value = Math.floor(timeMs) % 2 ** DATA_BITS;
  const bits: boolean[] = [];
  for (let i = DATA_BITS - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) % 2 === 1);
  const sum = checksum(value);
  for (let i = 15; i >= 0; i--) bits.push(((sum >> i) & 1) === 1);
  // Whitened with a checkerboard so every code has black and white blocks to set the threshold.
  return bits.map((bit, i) => bit !== (((i >> 3) + (i & 7)) % 2 === 1));
}

/** The time in the bits, or undefined when the checksum does not match. */
export function decodeBits(bits: readonly boolean[]): number | undefined {
  if (bits.length !== GRID * GRID) return undefined;
  bits = bits.map((bit, i) => bit !== (((i >> 3) + (i & 7)) % 2 === 1));
  let value = 0;
  for (let i = 0; i < DATA_BITS; i++) value = value * 2 + (bits[i] ? 1 : 0);
  let sum = 0;
  for (let i = DATA_BITS; i < GRID * GRID; i++) sum = (sum << 1) | (bits[i] ? 1 : 0);
  return sum === checksum(value) ? value : undefined;
}

/** Pixel rectangle of block (row, col) in a frame of the given size. */
export function blockRect(row: number, col: number, width: number, height: number): { x: number; y: number; w: number; h: number } {
  const unit = height; // grid is laid out in units of the frame height (16:9 frame assumed)
  const x = Math.round((ORIGIN_X + col * BLOCK) * unit);
  const y = Math.round((ORIGIN_Y + row * BLOCK) * unit);
  const x2 = Math.round((ORIGIN_X + (col + 1) * BLOCK) * unit);
  const y2 = Math.round((ORIGIN_Y + (row + 1) * BLOCK) * unit);
  void width;
  return { x, y, w: x2 - x, h: y2 - y };
}

/** Minimal 2D context surface the drawer needs (a CanvasRenderingContext2D in the page). */
export interface FillContext {
  fillStyle: string | CanvasGradient | CanvasPattern;
  fillRect(x: number, y: number, w: number, h: number): void;
}

/** Draws the code for `timeMs` (with a white quiet zone around it) onto a frame of width × height. */
export function drawTimecode(ctx: FillContext, timeMs: number, width: number, height: number): void {
  const bits = encodeBits(timeMs);
  const first = blockRect(0, 0, width, height);
  const last = blockRect(GRID - 1, GRID - 1, width, height);
  const pad = Math.round(first.w / 2);
  ctx.fillStyle = '#fff';
  ctx.fillRect(first.x - pad, first.y - pad, last.x + last.w - first.x + 2 * pad, last.y + last.h - first.y + 2 * pad);
  for (let row = 0; row < GRID; row++) {
    for (let col = 0; col < GRID; col++) {
      if (!bits[row * GRID + col]) continue;
      const r = blockRect(row, col, width, height);
      ctx.fillStyle = '#000';
      ctx.fillRect(r.x, r.y, r.w, r.h);
    }
  }
}

/**
 * Reads the code from RGBA pixels of a width × height frame (an ImageData's data): the mean
 * luma of the middle third of each block against the midpoint of the darkest and brightest
 * block means (so a washed-out or dark decode still reads).
 */
export function readTimecode(rgba: ArrayLike<number>, width: number, height: number): number | undefined {
  const means: number[] = [];
  for (let row = 0; row < GRID; row++) {
    for (let col = 0; col < GRID; col++) {
      const r = blockRect(row, col, width, height);
      const x0 = r.x + Math.floor(r.w / 3);
      const x1 = r.x + Math.ceil((2 * r.w) / 3);
      const y0 = r.y + Math.floor(r.h / 3);
      const y1 = r.y + Math.ceil((2 * r.h) / 3);
      let sum = 0;
      let n = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = (y * width + x) * 4;
          sum += 0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!;
          n++;
        }
      }
      means.push(n > 0 ? sum / n : 0);
    }
  }
  const lo = Math.min(...means);
  const hi = Math.max(...means);
  if (hi - lo < 64) return undefined; // no contrast: not a code (black frame, wrong picture)
  const threshold = (lo + hi) / 2;
  return decodeBits(means.map((m) => m < threshold));
}

/**
 * Round trip on synthetic frames at the sizes the bench meets (source, sender-scaled, the
 * decoder's 320×180 read-back) plus a corrupted frame that must be rejected. Throws on failure;
 * the bench runs it before measuring anything.
 */
export function selfCheck(): void {
  const sizes: Array<[number, number]> = [[1280, 720], [640, 360], [320, 180], [854, 480]];
  for (const [width, height] of sizes) {
    for (const t of [0, 1, 1_763_781_123_456, 2 ** 48 - 1]) {
      const rgba = new Uint8ClampedArray(width * height * 4).fill(128);
      const ctx: FillContext = {
        fillStyle: '#fff',
        fillRect(x, y, w, h) {
          const v = this.fillStyle === '#000' ? 16 : 235; // video range, as a decoder shows it
          for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) rgba.fill(v, (yy * width + xx) * 4, (yy * width + xx) * 4 + 3);
        },
      };
      drawTimecode(ctx, t, width, height);
      const read = readTimecode(rgba, width, height);
      if (read !== t) throw new Error(`timecode self-check: wrote ${t} at ${width}x${height}, read ${read}`);
      // Flip one data block: the checksum must reject it.
      const r = blockRect(2, 3, width, height);
      const i = ((r.y + (r.h >> 1)) * width + r.x + (r.w >> 1)) * 4;
      const flipped = rgba[i]! < 128 ? 235 : 16;
      for (let yy = r.y; yy < r.y + r.h; yy++) for (let xx = r.x; xx < r.x + r.w; xx++) rgba.fill(flipped, (yy * width + xx) * 4, (yy * width + xx) * 4 + 3);
      if (readTimecode(rgba, width, height) !== undefined) throw new Error(`timecode self-check: a flipped block at ${width}x${height} passed the checksum`);
    }
  }
}
