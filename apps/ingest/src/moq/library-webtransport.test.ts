/**
 * The session as @moq/lite gets it, against a fake session whose stream sources count what is
 * pulled from them: what the ingest reads is what it holds (the rest waits in QUIC).
 */
import { describe, expect, it } from 'vitest';
import { GroupBufferBudget } from './group-buffer-budget';
import { libraryWebTransport, type LibraryWebTransportOptions } from './library-webtransport';
import { encodeQuicVarint } from './quic-varint';

const KiB = 1024;
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
/** A group stream's first bytes: type 0, header {subscribe 0, sequence}, then one frame's size. */
const groupHead = (sequence: number, frameBytes: number) => concat(Uint8Array.of(0), encodeQuicVarint(2), Uint8Array.of(0, sequence), encodeQuicVarint(frameBytes));

/** A QUIC stream's receive side that hands out `data` in `chunkBytes` pieces, only when read; then waits (or ends). */
function source(data: Uint8Array, chunkBytes: number, counter: { pulled: number }, end = false): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (at >= data.length) return end ? controller.close() : undefined;
        const chunk = data.slice(at, at + chunkBytes);
        at += chunk.length;
        counter.pulled += chunk.length;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
}

function fakeSession(unis: ReadableStream<Uint8Array>[], bidis: Array<{ readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }> = []): WebTransport {
  return {
    incomingUnidirectionalStreams: new ReadableStream({ start: (c) => unis.forEach((u) => c.enqueue(u)) }),
    incomingBidirectionalStreams: new ReadableStream({ start: (c) => bidis.forEach((b) => c.enqueue(b)) }),
  } as unknown as WebTransport;
}

function wrap(session: WebTransport, overrides: Partial<LibraryWebTransportOptions> = {}) {
  const refusals: Array<{ detail: string; code?: string }> = [];
  const groupBuffer = new GroupBufferBudget(1024 * KiB);
  const transport = libraryWebTransport(session, {
    maxFrameBytes: 4096 * KiB,
    groupBuffer,
    maxControlMessageBytes: 64 * KiB,
    onRefusedStream: (detail, code) => refusals.push(code ? { detail, code } : { detail }),
    now: () => 0,
    onLibraryClose: () => {},
    ...overrides,
  });
  return { transport, refusals, groupBuffer };
}

/** Reads every incoming group stream to its end as the library does; the frames each delivered. */
function readAllGroups(transport: WebTransport): { frames: Uint8Array[][]; errors: unknown[] } {
  const frames: Uint8Array[][] = [];
  const errors: unknown[] = [];
  void (async () => {
    const streams = transport.incomingUnidirectionalStreams.getReader();
    for (let next = await streams.read(); !next.done; next = await streams.read()) {
      const got: Uint8Array[] = [];
      frames.push(got);
      const reader = (next.value as ReadableStream<Uint8Array>).getReader();
      void (async () => {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) got.push(chunk.value);
      })().catch((error: unknown) => errors.push(error));
    }
  })();
  return { frames, errors };
}

/** Until nothing moves for a few turns of the event loop (everything here is in memory). */
async function settle(progress: () => number): Promise<void> {
  for (;;) {
    const before = progress();
    for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
    if (progress() === before) return;
  }
}

describe('libraryWebTransport: group streams', () => {
  it('stops reading once the session\'s group streams hold the budget: 40 streams of 500 KiB partial frames read ≤ 2.1 MiB, not 20 MB', async () => {
    const counter = { pulled: 0 };
    const unis = Array.from({ length: 40 }, (_, i) => source(concat(groupHead(i, 512 * KiB), new Uint8Array(500 * KiB)), 16 * KiB, counter));
    const { transport, groupBuffer } = wrap(fakeSession(unis));
    readAllGroups(transport);
    await settle(() => counter.pulled);
    // The budget, the first holder's whole frame, and one read chunk per stream.
    expect(counter.pulled).toBeLessThanOrEqual(1024 * KiB + 512 * KiB + 40 * 16 * KiB);
    expect(groupBuffer.getStats()).toMatchObject({ waiting: 39 });
    // All of it but the group headers (handed on) is held: the budget is used up, not more.
    expect(groupBuffer.getStats().heldBytes).toBeGreaterThanOrEqual(1024 * KiB);
    expect(groupBuffer.getStats().heldBytes).toBeGreaterThan(counter.pulled - 40 * 4);
  });

  it('delivers every frame, whole, when the frames in flight are more than the budget (no wedge)', async () => {
    const counter = { pulled: 0 };
    const frames = Array.from({ length: 12 }, (_, i) => new Uint8Array(400 * KiB + i).fill(i));
    const unis = frames.map((frame, i) => source(concat(groupHead(i, frame.length), frame, encodeQuicVarint(3), Uint8Array.of(1, 2, 3)), 16 * KiB, counter, true));
    const { transport, groupBuffer } = wrap(fakeSession(unis));
    const read = readAllGroups(transport);
    await settle(() => counter.pulled + read.frames.flat().length);
    expect(read.errors).toEqual([]);
    read.frames.forEach((got, i) => {
      expect(got).toHaveLength(3); // the header, the frame, the 3-byte frame
      expect(got[1]!.length).toBe(encodeQuicVarint(frames[i]!.length).length + frames[i]!.length);
      expect(got[1]![got[1]!.length - 1]).toBe(i);
    });
    expect(groupBuffer.getStats()).toMatchObject({ heldBytes: 0, waiting: 0 });
    expect(groupBuffer.getStats().peakBytes).toBeLessThanOrEqual(1024 * KiB + 401 * KiB + 12 * 16 * KiB);
    expect(groupBuffer.getStats().waits).toBeGreaterThan(0);
  });

  it('frees the bytes of a stream the publisher resets, and the waiting streams read on', async () => {
    const counter = { pulled: 0 };
    let reset!: (error: Error) => void;
    const resetting = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(concat(groupHead(0, 2048 * KiB), new Uint8Array(1500 * KiB)));
        reset = (error) => controller.error(error);
      },
    });
    const waiting = source(concat(groupHead(1, 100 * KiB), new Uint8Array(100 * KiB)), 16 * KiB, counter, true);
    const { transport, groupBuffer } = wrap(fakeSession([resetting, waiting]));
    const read = readAllGroups(transport);
    await settle(() => counter.pulled);
    expect(groupBuffer.getStats()).toMatchObject({ waiting: 1 });
    reset(new Error('RESET_STREAM'));
    await settle(() => counter.pulled + read.frames.flat().length);
    expect(read.errors).toMatchObject([{ message: 'RESET_STREAM' }]);
    expect(read.frames[1]).toHaveLength(2);
    expect(groupBuffer.getStats()).toMatchObject({ heldBytes: 0, waiting: 0 });
  });
});

describe('libraryWebTransport: control streams', () => {
  it("refuses a message over the cap on a stream the publisher opened, at its prefix, with the session's code; the ingest's writes go through", async () => {
    const written: Uint8Array[] = [];
    const writable = new WritableStream<Uint8Array>({ write: (chunk) => void written.push(chunk) });
    const counter = { pulled: 0 };
    const readable = source(concat(encodeQuicVarint(1), encodeQuicVarint(65 * KiB), new Uint8Array(16 * KiB)), 16 * KiB, counter);
    const { transport, refusals } = wrap(fakeSession([], [{ readable, writable }]));
    const bidi = (await transport.incomingBidirectionalStreams.getReader().read()).value as { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
    const writer = bidi.writable.getWriter();
    await writer.write(Uint8Array.of(7, 8));
    expect(written).toEqual([Uint8Array.of(7, 8)]);
    await expect(bidi.readable.getReader().read()).rejects.toThrow("a 66560-byte control message on the publisher's announce stream, more than 65536");
    expect(refusals).toEqual([{ detail: "a 66560-byte control message on the publisher's announce stream, more than 65536", code: 'moq_control_message_too_large' }]);
  });

  it("reads the ingest's subscribe stream by its answers' shape: an OK and a DROP of groups from 1 000 000 pass", async () => {
    const answers = concat(encodeQuicVarint(0), encodeQuicVarint(2), Uint8Array.of(60, 1), encodeQuicVarint(1), encodeQuicVarint(10), encodeQuicVarint(1_000_000), encodeQuicVarint(1_000_001), encodeQuicVarint(3));
    const session = {
      ...fakeSession([]),
      createBidirectionalStream: async () => ({ readable: source(answers, 5, { pulled: 0 }, true), writable: new WritableStream<Uint8Array>() }),
    } as unknown as WebTransport;
    const { transport, refusals } = wrap(session);
    const stream = await transport.createBidirectionalStream();
    await stream.writable.getWriter().write(encodeQuicVarint(2));
    const got: Uint8Array[] = [];
    const reader = stream.readable.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) got.push(next.value);
    expect(concat(...got)).toEqual(answers);
    expect(refusals).toEqual([]);
  });
});
