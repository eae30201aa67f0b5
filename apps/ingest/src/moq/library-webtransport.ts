/**
 * The WebTransport session as @moq/lite gets it: the same object, with the library's habits
 * contained.
 * - The streams it opens never reject where it does not catch. Its subscriber opens a stream and
 *   writes SUBSCRIBE before its try block, in a promise nobody awaits (`Subscriber#runSubscribe`,
 *   0.2.2): a publisher that stops that stream at once, or a session that dies at that moment,
 *   would end the ingest process with an unhandled rejection. Here such a write resolves and the
 *   failure shows on the stream's read side, inside the library's try block, which ends that
 *   track. Written chunks are copied: the library's writer reuses one scratch buffer for varints.
 * - The group streams it reads arrive one whole frame per chunk (group-stream-framer.ts): its
 *   reader's cost was quadratic in the packets of a frame, and a frame over `maxFrameBytes` is
 *   refused before it is held. What the framers of one session hold together is bounded
 *   (group-buffer-budget.ts): past it they stop reading and QUIC flow control pushes back.
 * - Control streams (bidirectional) carry small messages: one declared over
 *   `maxControlMessageBytes` is refused at its size prefix (control-stream-framer.ts), and a byte
 *   budget bounds their rate (byte-budget.ts).
 */

import { ByteBudget } from './byte-budget';
import { ControlStreamFramer } from './control-stream-framer';
import type { GroupBufferBudget } from './group-buffer-budget';
import { GroupStreamFramer } from './group-stream-framer';
import type { MoqIngestErrorCode } from './moq-ingest-error';

type Bidi = { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };

export interface LibraryWebTransportOptions {
  /** Largest frame on a group stream, bytes; a larger one fails its stream (its group is lost). */
  maxFrameBytes: number;
  /** What the session's group streams may hold together before they stop reading. */
  groupBuffer: GroupBufferBudget;
  /** Largest body a control message may declare, bytes; a larger one fails its stream. */
  maxControlMessageBytes: number;
  /**
   * A group stream or a control stream was refused (logged by the caller). With `code`, the
   * publisher broke the control plane and the session should end with it.
   */
  onRefusedStream(detail: string, code?: MoqIngestErrorCode): void;
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
      const framer = new ControlStreamFramer({ opened: 'local', maxMessageBytes: options.maxControlMessageBytes });
      return { readable: stream.readable.pipeThrough(checkedControl(framer, options)), writable: lenientWritable(stream.writable, framer) };
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
      transform: (stream, controller) => {
        const framer = new ControlStreamFramer({ opened: 'remote', maxMessageBytes: options.maxControlMessageBytes });
        controller.enqueue({ readable: stream.readable.pipeThrough(checkedControl(framer, options)), writable: observedWritable(stream.writable, framer) });
      },
    }),
  );
  const incomingUnidirectionalStreams = (session.incomingUnidirectionalStreams as ReadableStream<ReadableStream<Uint8Array>>).pipeThrough(
    new TransformStream<ReadableStream<Uint8Array>, ReadableStream<Uint8Array>>({
      transform: (stream, controller) => controller.enqueue(framed(stream, options)),
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
function lenientWritable(writable: WritableStream<Uint8Array> | undefined, framer?: ControlStreamFramer): WritableStream<Uint8Array> {
  const writer = writable?.getWriter();
  let failed = writer === undefined;
  writer?.closed.catch(() => {
    failed = true;
  });
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      framer?.sent(chunk);
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

/** The ingest's writes on a stream the publisher opened, seen by its framer on their way (errors and all, unchanged). */
function observedWritable(writable: WritableStream<Uint8Array>, framer: ControlStreamFramer): WritableStream<Uint8Array> {
  const writer = writable.getWriter();
  return new WritableStream<Uint8Array>({
    write(chunk) {
      framer.sent(chunk);
      return writer.write(chunk);
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  });
}

/**
 * A group stream re-cut into whole frames, read only when the library asks (highWaterMark 0)
 * and the session's group buffer has room: otherwise the bytes stay in QUIC.
 */
function framed(source: ReadableStream<Uint8Array>, options: LibraryWebTransportOptions): ReadableStream<Uint8Array> {
  const framer = new GroupStreamFramer(options.maxFrameBytes);
  const share = options.groupBuffer.open();
  const reader = source.getReader();
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            await share.room();
            if (cancelled) return;
            const next = await reader.read();
            if (cancelled) return;
            if (next.done) {
              for (const rest of framer.end()) controller.enqueue(rest);
              share.release();
              return controller.close();
            }
            const result = framer.push(next.value);
            share.hold(framer.heldBytes);
            for (const message of result.chunks) controller.enqueue(message);
            if (result.error) {
              share.release();
              options.onRefusedStream(result.error);
              const error = new Error(result.error);
              controller.error(error);
              reader.cancel(error).catch(() => {});
              return;
            }
            if (result.chunks.length > 0) return;
          }
        } catch (error) {
          // The publisher reset the stream, or the session ended: the library reads why.
          share.release();
          throw error;
        }
      },
      cancel(reason) {
        cancelled = true;
        share.release();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** A control stream: each message's declared size checked before any of it is held, and a byte budget over its rate. */
function checkedControl(framer: ControlStreamFramer, options: LibraryWebTransportOptions): TransformStream<Uint8Array, Uint8Array> {
  const budget = new ByteBudget();
  return new TransformStream({
    transform(chunk, controller) {
      const result = framer.push(chunk);
      if (result.error) {
        options.onRefusedStream(result.error, 'moq_control_message_too_large');
        return controller.error(new Error(result.error));
      }
      if (!budget.take(chunk.length, options.now())) {
        const detail = 'a control stream over its byte budget (256 KiB at once, 64 KiB/s)';
        options.onRefusedStream(detail);
        return controller.error(new Error(detail));
      }
      for (const passed of result.chunks) controller.enqueue(passed);
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
