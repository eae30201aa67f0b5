/**
 * The WebTransport session as @moq/lite gets it: the same object, with two of the library's
 * habits contained.
 * - The streams it opens never reject where it does not catch. Its subscriber opens a stream and
 *   writes SUBSCRIBE before its try block, in a promise nobody awaits (`Subscriber#runSubscribe`,
 *   0.2.2): a publisher that stops that stream at once, or a session that dies at that moment,
 *   would end the ingest process with an unhandled rejection. Here such a write resolves and the
 *   failure shows on the stream's read side, inside the library's try block, which ends that
 *   track. Written chunks are copied: the library's writer reuses one scratch buffer for varints.
 * - The group streams it reads arrive one whole frame per chunk (group-stream-framer.ts): its
 *   reader's cost was quadratic in the packets of a frame, and a frame over `maxFrameBytes` is
 *   refused before it is held. Control streams (bidirectional) get a byte budget instead
 *   (byte-budget.ts): their messages are small, and one large one would cost as much.
 */

import { ByteBudget } from './byte-budget';
import { GroupStreamFramer } from './group-stream-framer';

type Bidi = { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };

export interface LibraryWebTransportOptions {
  /** Largest frame on a group stream, bytes; a larger one fails its stream (its group is lost). */
  maxFrameBytes: number;
  /** A group stream or a control stream was refused (logged by the caller). */
  onRefusedStream(detail: string): void;
  /** Clock for the control streams' byte budget, ms. */
  now: () => number;
  /**
   * The library wants the session closed (its connection failed, it logged why; or it was asked
   * to close). The session is not closed here: the owner does it, with a reason.
   */
  onLibraryClose(): void;
}

export function libraryWebTransport(session: WebTransport, options: LibraryWebTransportOptions): WebTransport {
  const createBidirectionalStream = async (streamOptions?: unknown): Promise<Bidi> => {
    try {
      const stream = (await session.createBidirectionalStream(streamOptions as WebTransportSendStreamOptions)) as unknown as Bidi;
      return { readable: stream.readable.pipeThrough(budgeted(options)), writable: lenientWritable(stream.writable) };
    } catch (error) {
      return { readable: erroredReadable(error), writable: lenientWritable(undefined) };
    }
  };
  const createUnidirectionalStream = async (streamOptions?: unknown): Promise<WritableStream<Uint8Array>> => {
    try {
      return lenientWritable((await session.createUnidirectionalStream(streamOptions as WebTransportSendStreamOptions)) as unknown as WritableStream<Uint8Array>);
    } catch {
      return lenientWritable(undefined);
    }
  };
  const incomingBidirectionalStreams = (session.incomingBidirectionalStreams as ReadableStream<Bidi>).pipeThrough(
    new TransformStream<Bidi, Bidi>({
      transform: (stream, controller) => controller.enqueue({ readable: stream.readable.pipeThrough(budgeted(options)), writable: stream.writable }),
    }),
  );
  const incomingUnidirectionalStreams = (session.incomingUnidirectionalStreams as ReadableStream<ReadableStream<Uint8Array>>).pipeThrough(
    new TransformStream<ReadableStream<Uint8Array>, ReadableStream<Uint8Array>>({
      transform: (stream, controller) => controller.enqueue(stream.pipeThrough(framed(options))),
    }),
  );
  return new Proxy(session, {
    get(target, property) {
      if (property === 'createBidirectionalStream') return createBidirectionalStream;
      if (property === 'createUnidirectionalStream') return createUnidirectionalStream;
      if (property === 'incomingUnidirectionalStreams') return incomingUnidirectionalStreams;
      if (property === 'incomingBidirectionalStreams') return incomingBidirectionalStreams;
      // The owner closes the session, with a reason the publisher can read; the library only says it wants to.
      if (property === 'close') return () => options.onLibraryClose();
      // The receiver is the session itself: its getters and methods may use private fields.
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Writes copy and go through until the stream fails; after that they are dropped (the read side reports the failure). */
function lenientWritable(writable: WritableStream<Uint8Array> | undefined): WritableStream<Uint8Array> {
  const writer = writable?.getWriter();
  let failed = writer === undefined;
  writer?.closed.catch(() => {
    failed = true;
  });
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      if (failed) return;
      try {
        await writer!.write(chunk.slice());
      } catch {
        failed = true;
      }
    },
    async close() {
      await writer?.close().catch(() => {});
    },
    async abort(reason) {
      await writer?.abort(reason).catch(() => {});
    },
  });
}

function framed(options: LibraryWebTransportOptions): TransformStream<Uint8Array, Uint8Array> {
  const framer = new GroupStreamFramer(options.maxFrameBytes);
  return new TransformStream({
    transform(chunk, controller) {
      const result = framer.push(chunk);
      for (const message of result.chunks) controller.enqueue(message);
      if (result.error) {
        options.onRefusedStream(result.error);
        controller.error(new Error(result.error));
      }
    },
    flush(controller) {
      for (const rest of framer.end()) controller.enqueue(rest);
    },
  });
}

function budgeted(options: LibraryWebTransportOptions): TransformStream<Uint8Array, Uint8Array> {
  const budget = new ByteBudget();
  return new TransformStream({
    transform(chunk, controller) {
      if (budget.take(chunk.length, options.now())) return controller.enqueue(chunk);
      const detail = 'a control stream over its byte budget (256 KiB at once, 64 KiB/s)';
      options.onRefusedStream(detail);
      controller.error(new Error(detail));
    },
  });
}

function erroredReadable(error: unknown): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.error(error);
    },
  });
}
