import { describe, expect, it } from 'vitest';
import { GroupStreamFramer } from './group-stream-framer';
import { decodeQuicVarint, encodeQuicVarint } from './quic-varint';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (chunks: Uint8Array[]) => chunks.map((c) => Buffer.from(c).toString('hex'));
const concat = (chunks: Uint8Array[]) => new Uint8Array(Buffer.concat(chunks));

/** A group stream as @moq/lite's publisher writes it: type 0, header message, frames. */
function groupStream(subscribe: number, sequence: number, frames: Uint8Array[]): Uint8Array {
  const header = concat([encodeQuicVarint(subscribe), encodeQuicVarint(sequence)]);
  return concat([Uint8Array.of(0), encodeQuicVarint(header.length), header, ...frames.flatMap((f) => [encodeQuicVarint(f.length), f])]);
}

function run(framer: GroupStreamFramer, chunks: Uint8Array[]) {
  const out: Uint8Array[] = [];
  for (const chunk of chunks) {
    const result = framer.push(chunk);
    out.push(...result.chunks);
    if (result.error) return { out, error: result.error };
  }
  return { out: [...out, ...framer.end()], error: undefined };
}

describe('GroupStreamFramer', () => {
  const stream = groupStream(3, 7, [hex('c0ffee'), hex('00'), new Uint8Array(0)]);

  it.each([
    ['in one chunk', [stream]],
    ['byte by byte', [...stream].map((b) => Uint8Array.of(b))],
    ['cut inside the header and a frame', [stream.subarray(0, 2), stream.subarray(2, 6), stream.subarray(6)]],
  ])('hands on the header, then one chunk per frame: %s', (_name, chunks) => {
    expect(toHex(run(new GroupStreamFramer(1024), chunks).out)).toEqual(['00020307', '03c0ffee', '0100', '00']);
  });

  it('passes another stream type through untouched', () => {
    const other = hex('04 0102030405');
    expect(toHex(run(new GroupStreamFramer(1024), [other.subarray(0, 2), other.subarray(2)]).out)).toEqual(['0401', '02030405']);
  });

  it.each([
    ['a frame over the cap', groupStream(0, 0, [new Uint8Array(1025)]), /1025-byte frame, more than 1024/],
    ['a huge header', concat([Uint8Array.of(0), encodeQuicVarint(1000)]), /1000-byte group header/],
    ['a frame size past 2^53', concat([groupStream(0, 0, []), hex('ffffffffffffffff')]), /past 2\^53/],
  ])('fails the stream on %s, before holding it', (_name, data, error) => {
    const result = run(new GroupStreamFramer(1024), [data]);
    expect(result.error).toMatch(error);
  });

  it('hands on an incomplete last message at the end (the library reports the short stream)', () => {
    const { out } = run(new GroupStreamFramer(1024), [stream.subarray(0, stream.length - 3)]);
    expect(concat(out)).toEqual(stream.subarray(0, stream.length - 3));
  });

  it('round-trips 2000 random group streams cut at random places, one chunk per frame', () => {
    for (let i = 0; i < 2000; i += 1) {
      const frames = Array.from({ length: i % 6 }, () => new Uint8Array(Math.floor(Math.random() ** 3 * 40_000)).fill(i & 0xff));
      const data = groupStream(Math.floor(Math.random() * 2 ** 40), i, frames);
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < data.length; ) {
        const size = 1 + Math.floor(Math.random() * (Math.random() < 0.5 ? 10 : 3000));
        chunks.push(data.subarray(at, at + size));
        at += size;
      }
      const { out, error } = run(new GroupStreamFramer(40_000), chunks);
      expect(error).toBeUndefined();
      expect(out).toHaveLength(1 + frames.length);
      out.slice(1).forEach((chunk, k) => {
        const size = decodeQuicVarint(chunk)!;
        expect(size.value).toBe(frames[k]!.length);
        expect(chunk.length).toBe(size.length + size.value);
      });
      expect(Buffer.compare(Buffer.from(concat(out)), Buffer.from(data))).toBe(0);
    }
  }, 30_000); // bounded in count; the time allows for a loaded 2-core machine

  it('never throws on 10 000 random streams, and never hands on more than it got', () => {
    for (let i = 0; i < 10_000; i += 1) {
      const data = Uint8Array.from({ length: i % 40 }, () => (Math.random() < 0.3 ? 0 : Math.floor(Math.random() * 256)));
      const { out } = run(new GroupStreamFramer(64), [data.subarray(0, i % 7), data.subarray(i % 7)]);
      expect(concat(out).length).toBeLessThanOrEqual(data.length);
    }
  }, 30_000);

  it("lets @moq/lite's Reader take a 1 MiB frame sent in 1200-byte packets in one copy (2.8 s without it)", async () => {
    const data = groupStream(0, 0, [new Uint8Array(1 << 20).fill(7)]);
    const framer = new GroupStreamFramer(4 << 20);
    const readable = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < data.length; at += 1200) for (const chunk of framer.push(data.subarray(at, at + 1200)).chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    // The library's own Reader (not in its exports map; this is the code that was quadratic).
    const { Reader } = (await import(new URL('./stream.js', import.meta.resolve('@moq/lite')).href)) as { Reader: new (stream: ReadableStream<Uint8Array>) => { u8(): Promise<number>; u53(): Promise<number>; read(size: number): Promise<Uint8Array> } };
    const reader = new Reader(readable);
    const started = performance.now();
    expect(await reader.u8()).toBe(0);
    await reader.read(await reader.u53());
    const frame = await reader.read(await reader.u53());
    expect(frame.length).toBe(1 << 20);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
