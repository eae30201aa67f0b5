/**
 * The abort signal of a request the site makes upstream (ingest, transcoder): it ends with the
 * browser's request, or at a deadline — and lets go of both once the answer is through.
 *
 * `AbortSignal.any([request.signal, AbortSignal.timeout(ms)])` did the same but kept every
 * request (and its response) reachable until its timer fired, 20 s after a 1 ms answer: the
 * soak measured the web's heap growing with the request rate (~1 000 requests held).
 */
export interface UpstreamDeadline {
  signal: AbortSignal;
  /** The answer is through (or failed): drop the timer and the link to the browser's request. */
  release(): void;
}

export function upstreamDeadline(clientSignal: AbortSignal | undefined, timeoutMs: number, what: string): UpstreamDeadline {
  const controller = new AbortController();
  const onClientGone = () => controller.abort(clientSignal?.reason);
  clientSignal?.addEventListener('abort', onClientGone, { once: true });
  const timer = setTimeout(() => controller.abort(new DOMException(`${what} did not answer within ${timeoutMs / 1000} s`, 'TimeoutError')), timeoutMs);
  return {
    signal: controller.signal,
    release() {
      clearTimeout(timer);
      clientSignal?.removeEventListener('abort', onClientGone);
    },
  };
}

/** `body`, releasing `deadline` when it has been read to the end, failed or was cancelled. */
export function releasingBody(body: ReadableStream<Uint8Array>, deadline: UpstreamDeadline): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) {
          deadline.release();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        deadline.release();
        controller.error(error);
      }
    },
    cancel(reason) {
      deadline.release();
      return reader.cancel(reason);
    },
  });
}
