/**
 * ISO-BMFF (ISO/IEC 14496-12) box reading: a bounds-checked cursor, a reader for the boxes
 * inside a buffer, and an incremental splitter that turns a byte stream cut at any boundary
 * into whole top-level boxes. Pure code: no I/O, every malformed input ends in a
 * `Mp4ParseError`, never an out-of-range read, a hang or an unbounded allocation.
 */

/** Anything wrong with the bytes: truncated, a size that does not fit, a box too large. */
export class Mp4ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Mp4ParseError';
  }
}

/** A box found inside a buffer: `start` is the header's offset, payload is `[bodyStart, end)`. */
export interface BoxRef {
  type: string;
  start: number;
  bodyStart: number;
  end: number;
}

/** Reads big-endian fields from `[pos, end)` of a buffer and throws instead of reading past `end`. */
export class Cursor {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
    readonly what = 'box',
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(bytes: number): void {
    if (bytes < 0 || this.pos + bytes > this.end) {
      throw new Mp4ParseError(`${this.what}: needs ${bytes} more byte(s) at offset ${this.pos}, only ${Math.max(0, this.end - this.pos)} left`);
    }
  }

  skip(bytes: number): void {
    this.need(bytes);
    this.pos += bytes;
  }

  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const value = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  u24(): number {
    this.need(3);
    const value = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  i32(): number {
    this.need(4);
    const value = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  /** A 64-bit unsigned field as a number; past 2^53 precision would be lost, so it throws. */
  u64(): number {
    this.need(8);
    const value = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Mp4ParseError(`${this.what}: 64-bit value ${value} is too large`);
    return Number(value);
  }

  fourcc(): string {
    this.need(4);
    const value = this.buf.toString('latin1', this.pos, this.pos + 4);
    this.pos += 4;
    return value;
  }

  /** Version and flags of a FullBox (§4.2.2). */
  fullBox(): { version: number; flags: number } {
    const version = this.u8();
    return { version, flags: this.u24() };
  }
}

/**
 * Reads the header of the box at `offset` within `[offset, limit)`. Size 1 means a 64-bit size
 * follows; size 0 means "to the end of the enclosing space" (§4.2.2).
 */
export function readBoxHeader(buf: Buffer, offset: number, limit: number): BoxRef {
  const cur = new Cursor(buf, offset, limit, 'box header');
  let size = cur.u32();
  const type = cur.fourcc();
  if (size === 1) size = cur.u64();
  else if (size === 0) size = limit - offset;
  const bodyStart = cur.pos;
  if (size < bodyStart - offset) throw new Mp4ParseError(`box '${printable(type)}' at ${offset}: size ${size} is smaller than its header`);
  if (offset + size > limit) throw new Mp4ParseError(`box '${printable(type)}' at ${offset}: size ${size} runs past the end of its parent (${limit - offset} bytes left)`);
  return { type, start: offset, bodyStart, end: offset + size };
}

/** Every box directly inside `[start, end)`. Each step advances by at least 8 bytes, so it always terminates. */
export function readBoxes(buf: Buffer, start = 0, end = buf.length): BoxRef[] {
  const boxes: BoxRef[] = [];
  let offset = start;
  while (offset < end) {
    const box = readBoxHeader(buf, offset, end);
    boxes.push(box);
    offset = box.end;
  }
  return boxes;
}

/** The children of a container box. */
export function childrenOf(buf: Buffer, box: BoxRef, skipBytes = 0): BoxRef[] {
  if (box.bodyStart + skipBytes > box.end) throw new Mp4ParseError(`box '${box.type}' is too short to hold children`);
  return readBoxes(buf, box.bodyStart + skipBytes, box.end);
}

/** First box of a type among `boxes`, or undefined. */
export function find(boxes: BoxRef[], type: string): BoxRef | undefined {
  return boxes.find((box) => box.type === type);
}

/** First box of a type among `boxes`, or throws naming what is missing. */
export function required(boxes: BoxRef[], type: string, parent: string): BoxRef {
  const box = find(boxes, type);
  if (!box) throw new Mp4ParseError(`'${parent}' has no '${type}' box`);
  return box;
}

/** Follows a path of container types, e.g. `['mdia', 'minf', 'stbl']`, from a box's children. */
export function path(buf: Buffer, from: BoxRef, types: string[]): BoxRef {
  let box = from;
  for (const type of types) box = required(childrenOf(buf, box), type, box.type);
  return box;
}

/** A cursor over the body of a box. */
export function body(buf: Buffer, box: BoxRef): Cursor {
  return new Cursor(buf, box.bodyStart, box.end, box.type);
}

function printable(type: string): string {
  return /^[\x20-\x7e]{4}$/.test(type) ? type : Buffer.from(type, 'latin1').toString('hex');
}

/** A whole top-level box cut out of a stream. */
export interface TopLevelBox {
  type: string;
  /** The complete box, header included. */
  data: Buffer;
}

export interface BoxSplitterOptions {
  /** Largest top-level box accepted, in bytes; a larger declared size is an error. Default 32 MiB. */
  maxBoxBytes?: number;
}

/** Top-level box types that an fMP4 stream may carry (§4.2 and the fragment boxes of §8.8). */
const KNOWN_TOP_LEVEL = new Set(['ftyp', 'styp', 'moov', 'moof', 'mdat', 'free', 'skip', 'sidx', 'mfra', 'emsg', 'prft', 'uuid', 'meta', 'wide', 'pdin', 'ssix']);

/**
 * Incremental splitter: `push()` any bytes, get back the top-level boxes completed by them.
 * Buffers at most one partial box. On a malformed header it throws, and `resync()` skips to the
 * next plausible `ftyp`/`moof` header so a live stream can recover.
 */
export class BoxSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Size of the box whose header was read but whose bytes have not all arrived (no re-joins meanwhile). */
  private awaiting = 0;
  private readonly maxBoxBytes: number;

  constructor(options: BoxSplitterOptions = {}) {
    this.maxBoxBytes = options.maxBoxBytes ?? 32 * 1024 * 1024;
  }

  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer): TopLevelBox[] {
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    const out: TopLevelBox[] = [];
    if (this.pendingBytes < this.awaiting) return out;
    while (this.pendingBytes >= 8) {
      const head = this.peek(16);
      let size = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (!/^[\x20-\x7e]{4}$/.test(type)) throw new Mp4ParseError(`top-level box type ${printable(type)} is not a four-character code`);
      let headerBytes = 8;
      if (size === 1) {
        if (head.length < 16) break;
        const large = head.readBigUInt64BE(8);
        if (large > BigInt(this.maxBoxBytes)) throw new Mp4ParseError(`top-level box '${type}' declares ${large} bytes; the limit is ${this.maxBoxBytes}`);
        size = Number(large);
        headerBytes = 16;
      } else if (size === 0) {
        throw new Mp4ParseError(`top-level box '${type}' has size 0 ("to end of file"), which a live stream cannot use`);
      }
      if (size < headerBytes) throw new Mp4ParseError(`top-level box '${type}' declares ${size} bytes, less than its header`);
      if (size > this.maxBoxBytes) throw new Mp4ParseError(`top-level box '${type}' declares ${size} bytes; the limit is ${this.maxBoxBytes}`);
      if (this.pendingBytes < size) {
        this.awaiting = size;
        break;
      }
      this.awaiting = 0;
      out.push({ type, data: this.take(size) });
    }
    return out;
  }

  /**
   * After an error: drops bytes up to the next `ftyp` or `moof` whose size looks sane, keeping
   * the rest. Returns the number of bytes dropped.
   */
  resync(): number {
    this.awaiting = 0;
    const all = this.peek(this.pendingBytes);
    for (let i = 1; i + 8 <= all.length; i++) {
      const type = all.toString('latin1', i + 4, i + 8);
      if (type !== 'ftyp' && type !== 'moof') continue;
      const size = all.readUInt32BE(i);
      if (size >= 16 && size <= this.maxBoxBytes) {
        this.take(i);
        return i;
      }
    }
    // Keep the last 7 bytes: a header may straddle the next chunk.
    const drop = Math.max(0, all.length - 7);
    this.take(drop);
    return drop;
  }

  /** Forgets buffered bytes (the producer restarted). */
  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.awaiting = 0;
  }

  private peek(bytes: number): Buffer {
    const first = this.pending[0];
    if (first && first.length >= bytes) return first.subarray(0, bytes);
    const joined = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [joined];
    return joined.subarray(0, Math.min(bytes, joined.length));
  }

  private take(bytes: number): Buffer {
    const joined = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    // Copy so the returned box does not pin a large chunk it shares memory with.
    const out = Buffer.from(joined.subarray(0, bytes));
    const rest = joined.subarray(bytes);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return out;
  }
}

export function isKnownTopLevel(type: string): boolean {
  return KNOWN_TOP_LEVEL.has(type);
}
