/**
 * WebTransport streams as WHATWG streams, the way browsers expose them (W3C WebTransport §6,
 * §7): a readable byte stream per receive side and a writable per send side, with error codes
 * mapped to and from HTTP/3 (draft-ietf-webtrans-http3 §4.4).
 *
 * The readable's queue is its backpressure: while it holds `highWaterMark` bytes nobody read,
 * the WtStream stops taking bytes from quiche.
 */
import { http3ToWebTransportCode, webTransportCodeToHttp3 } from '@onair/webtransport/error-codes';
import { applicationCodeOf, WebTransportError } from './webtransport-error';
import { WtStream } from './wt-stream';

function errorFor(h3Code: number | null, reason: string): WebTransportError {
  return new WebTransportError(reason, { source: 'stream', streamErrorCode: h3Code === null ? null : http3ToWebTransportCode(h3Code) });
}

function bytesOf(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError('WebTransport streams carry ArrayBuffer or ArrayBufferView chunks');
}

/** The receive side of `stream` as a readable byte stream (a W3C WebTransportReceiveStream). */
export function createReceiveStream(stream: WtStream, highWaterMark: number): ReadableStream<Uint8Array> {
  let controller!: ReadableByteStreamController;
  let settled = false;
  const readable = new ReadableStream(
    {
      type: 'bytes',
      start(c) {
        controller = c;
      },
      pull() {
        stream.resume();
      },
      cancel(reason) {
        settled = true;
        stream.stopReading(webTransportCodeToHttp3(applicationCodeOf(reason)), 'cancelled by the application');
      },
    },
    { highWaterMark },
  );
  stream.receiver = {
    push(bytes) {
      if (settled) return false;
      controller.enqueue(bytes as Uint8Array<ArrayBuffer>);
      return (controller.desiredSize ?? 0) > 0;
    },
    end() {
      if (settled) return;
      settled = true;
      controller.close();
      // A pending BYOB request must be answered after close (WHATWG streams §4.7.4).
      controller.byobRequest?.respond(0);
    },
    abort(h3Code, reason) {
      if (settled) return;
      settled = true;
      controller.error(errorFor(h3Code, reason));
    },
    queuedBytes() {
      return settled ? 0 : Math.max(0, highWaterMark - (controller.desiredSize ?? highWaterMark));
    },
  };
  return readable as ReadableStream<Uint8Array>;
}

/** A W3C WebTransportSendStream: a writable with `sendOrder`. */
export type SendStream = WritableStream<Uint8Array> & { sendOrder: number };

/** The send side of `stream` as a writable (a W3C WebTransportSendStream). */
export function createSendStream(stream: WtStream, sendOrder: number): SendStream {
  let controller!: WritableStreamDefaultController;
  let settled = false;
  const fail = (error: unknown): WebTransportError => {
    if (error instanceof WebTransportError) return error;
    const stopped = WtStream.stoppedCodeOf(error);
    return stopped === undefined ? new WebTransportError(error instanceof Error ? error.message : String(error), { source: 'session' }) : errorFor(stopped, `stream ${stream.id} stopped by the peer`);
  };
  const writable = new WritableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      async write(chunk) {
        const bytes = bytesOf(chunk);
        if (bytes.byteLength === 0) return;
        try {
          await stream.write(bytes);
        } catch (error) {
          throw fail(error);
        }
      },
      async close() {
        settled = true;
        try {
          await stream.finish();
        } catch (error) {
          throw fail(error);
        }
      },
      abort(reason) {
        settled = true;
        stream.reset(webTransportCodeToHttp3(applicationCodeOf(reason)), 'aborted by the application');
      },
    },
    { highWaterMark: 1 },
  ) as SendStream;
  stream.sender = {
    stopped(h3Code, reason) {
      if (settled) return;
      settled = true;
      controller.error(errorFor(h3Code, reason));
    },
  };
  let order = sendOrder;
  Object.defineProperty(writable, 'sendOrder', {
    get: () => order,
    set: (value: number) => {
      order = Number(value) || 0;
      stream.setSendOrder(order);
    },
  });
  if (order !== 0) stream.setSendOrder(order);
  return writable;
}
