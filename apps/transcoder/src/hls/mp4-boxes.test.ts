import { describe, expect, it } from 'vitest';
import { BoxSplitter, Mp4ParseError, readBoxes, readBoxHeader } from './mp4-boxes';
import { parseMoof } from './mp4-fragment';
import { parseMoov } from './mp4-init';
import { fixture, splitFile } from './test-kit';

function box(type: string, payload: Buffer | number = 0): Buffer {
  const body = typeof payload === 'number' ? Buffer.alloc(payload) : payload;
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

function rawHeader(size: number, type: string, extra: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(size, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, extra]);
}

function largeSize(size: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(size);
  return b;
}

describe('readBoxHeader', () => {
  const cases: Array<{ name: string; buf: Buffer; expect: { type: string; bodyStart: number; end: number } | RegExp }> = [
    { name: 'plain box', buf: box('free', 4), expect: { type: 'free', bodyStart: 8, end: 12 } },
    { name: 'empty box', buf: box('skip'), expect: { type: 'skip', bodyStart: 8, end: 8 } },
    { name: '64-bit size', buf: Buffer.concat([rawHeader(1, 'mdat', largeSize(20n)), Buffer.alloc(4)]), expect: { type: 'mdat', bodyStart: 16, end: 20 } },
    { name: 'size 0 = to the end', buf: Buffer.concat([rawHeader(0, 'mdat'), Buffer.alloc(10)]), expect: { type: 'mdat', bodyStart: 8, end: 18 } },
    { name: 'size smaller than header', buf: rawHeader(4, 'free'), expect: /smaller than its header/ },
    { name: '64-bit size smaller than header', buf: rawHeader(1, 'free', largeSize(12n)), expect: /smaller than its header/ },
    { name: 'size past the parent', buf: rawHeader(100, 'moov', Buffer.alloc(10)), expect: /runs past the end/ },
    { name: 'huge 64-bit size', buf: rawHeader(1, 'mdat', largeSize(0xffffffffffffffffn)), expect: /too large/ },
    { name: 'truncated header', buf: Buffer.from([0, 0, 0]), expect: /needs 4 more byte/ },
    { name: 'truncated 64-bit size', buf: rawHeader(1, 'mdat', Buffer.alloc(3)), expect: /needs 8 more byte/ },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      if (testCase.expect instanceof RegExp) {
        expect(() => readBoxHeader(testCase.buf, 0, testCase.buf.length)).toThrow(Mp4ParseError);
        expect(() => readBoxHeader(testCase.buf, 0, testCase.buf.length)).toThrow(testCase.expect);
      } else {
        expect(readBoxHeader(testCase.buf, 0, testCase.buf.length)).toMatchObject(testCase.expect);
      }
    });
  }

  it('readBoxes lists siblings and stops exactly at the end', () => {
    const buf = Buffer.concat([box('ftyp', 8), box('moov', 16), box('free')]);
    expect(readBoxes(buf).map((b) => [b.type, b.start, b.end])).toEqual([
      ['ftyp', 0, 16],
      ['moov', 16, 40],
      ['free', 40, 48],
    ]);
  });
});

describe('BoxSplitter', () => {
  const file = fixture('av-per-frame.mp4');
  const whole = readBoxes(file).map((b) => b.type);

  it.each([1, 7, 8, 13, 1000, 65536])('cuts a real stream pushed in %i-byte chunks into the same boxes', (size) => {
    const splitter = new BoxSplitter();
    const types: string[] = [];
    const bytes: Buffer[] = [];
    for (let offset = 0; offset < file.length; offset += size) {
      for (const b of splitter.push(file.subarray(offset, offset + size))) {
        types.push(b.type);
        bytes.push(b.data);
      }
    }
    expect(types).toEqual(whole);
    expect(Buffer.concat(bytes).equals(file)).toBe(true);
    expect(splitter.bufferedBytes).toBe(0);
  });

  it('keeps an incomplete box buffered until the rest arrives', () => {
    const splitter = new BoxSplitter();
    const moof = box('moof', 100);
    expect(splitter.push(moof.subarray(0, 50))).toEqual([]);
    expect(splitter.bufferedBytes).toBe(50);
    expect(splitter.push(moof.subarray(50)).map((b) => b.type)).toEqual(['moof']);
  });

  const bad: Array<[string, Buffer, RegExp]> = [
    ['a size over the limit', rawHeader(64 * 1024 * 1024, 'mdat'), /limit is/],
    ['a huge 64-bit size', rawHeader(1, 'mdat', largeSize(1n << 60n)), /limit is/],
    ['size 0', rawHeader(0, 'mdat'), /size 0/],
    ['a size below the header', rawHeader(3, 'moof'), /less than its header/],
    ['a type that is not a four-character code', rawHeader(16, '\u0000\u0001\u0002\u0003'), /four-character code/],
  ];
  it.each(bad)('throws a clear error for %s', (_name, buf, message) => {
    const splitter = new BoxSplitter({ maxBoxBytes: 32 * 1024 * 1024 });
    expect(() => splitter.push(buf)).toThrow(Mp4ParseError);
    expect(() => new BoxSplitter().push(buf)).toThrow(message);
  });

  it('resync skips garbage to the next moof', () => {
    const { fragments } = splitFile(file);
    const splitter = new BoxSplitter();
    expect(() => splitter.push(Buffer.concat([Buffer.from('garbage!garbage!'), fragments[0]!]))).toThrow(Mp4ParseError);
    expect(splitter.resync()).toBe(16);
    expect(splitter.push(Buffer.alloc(0)).map((b) => b.type)).toEqual(['moof', 'mdat']);
  });
});

/** Deterministic PRNG so a failing fuzz case can be replayed. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('fuzz: truncated and corrupted real boxes', () => {
  const file = fixture('av-200ms.mp4');
  const boxes = readBoxes(file);
  const moovRef = boxes.find((b) => b.type === 'moov')!;
  const moov = file.subarray(moovRef.start, moovRef.end);
  const init = parseMoov(moov);
  const moofRef = boxes.find((b) => b.type === 'moof')!;
  const moof = file.subarray(moofRef.start, moofRef.end);

  function mutate(source: Buffer, random: () => number): Buffer {
    const copy = Buffer.from(source);
    const mode = Math.floor(random() * 3);
    if (mode === 0) return copy.subarray(0, Math.floor(random() * copy.length));
    const flips = 1 + Math.floor(random() * 8);
    for (let i = 0; i < flips; i++) {
      const at = Math.floor(random() * copy.length);
      copy[at] = mode === 1 ? Math.floor(random() * 256) : 0xff;
    }
    return copy;
  }

  it('parseMoov and parseMoof either parse or throw Mp4ParseError, 4000 cases', () => {
    const random = rng(42);
    const started = performance.now();
    let errors = 0;
    for (let i = 0; i < 2000; i++) {
      for (const [source, parse] of [
        [moov, (b: Buffer) => parseMoov(b)],
        [moof, (b: Buffer) => parseMoof(b, init)],
      ] as const) {
        const input = mutate(source, random);
        try {
          parse(input);
        } catch (error) {
          errors++;
          expect(error).toBeInstanceOf(Mp4ParseError);
          expect((error as Error).message.length).toBeGreaterThan(10);
        }
      }
    }
    expect(errors).toBeGreaterThan(100);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('a forged trun sample_count does not loop or allocate', () => {
    const forged = Buffer.from(moof);
    const at = forged.indexOf('trun', 0, 'latin1');
    forged.writeUInt32BE(0xffffffff, at + 8); // sample_count right after version+flags
    expect(() => parseMoof(forged, init)).toThrow(/declares 4294967295 samples/);
  });

  it('the splitter on a corrupted stream throws only Mp4ParseError and always advances on resync', () => {
    const random = rng(7);
    for (let i = 0; i < 200; i++) {
      const input = mutate(file, random);
      const splitter = new BoxSplitter();
      let rounds = 0;
      let pending = input;
      while (rounds++ < 10_000) {
        try {
          splitter.push(pending);
          break;
        } catch (error) {
          expect(error).toBeInstanceOf(Mp4ParseError);
          const before = splitter.bufferedBytes;
          const dropped = splitter.resync();
          expect(dropped > 0 || before < 8).toBe(true);
          pending = Buffer.alloc(0);
        }
      }
      expect(rounds).toBeLessThan(10_000);
    }
  });
});
