/**
 * Reads a request body up to a limit, counting bytes as they stream in, whether or not the client
 * declared a Content-Length (a chunked upload declares nothing). Past the limit it stops reading
 * and throws `body_too_large` (413): memory held is the limit plus one chunk, whatever is sent.
 *
 * The rest of an oversized body is left unread, not cancelled: cancelling the stream destroys the
 * request, and with it the socket, before the 413 reaches the client. The web server (server.ts)
 * reads and discards what follows the answer, for a bounded time, then closes the connection.
 */
import { OnairError } from '@onair/shared/errors';

export async function readBodyWithin(request: Request, limitBytes: number): Promise<Uint8Array> {
  const tooLarge = (what: string) => new OnairError('body_too_large', `${what}; the limit is ${limitBytes} bytes.`);
  const declared = Number(request.headers.get('content-length') ?? 'NaN');
  if (Number.isFinite(declared) && declared > limitBytes) throw tooLarge(`The body is ${declared} bytes`);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limitBytes) throw tooLarge('The body is larger than that');
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
