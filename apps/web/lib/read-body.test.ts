import { describe, expect, it } from 'vitest';
import { OnairError } from '@onair/shared/errors';
import { readBodyWithin } from './read-body';

function chunked(chunks: number, size: number): { request: Request; pulled(): number } {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= chunks * size) return controller.close();
      pulled += size;
      controller.enqueue(new Uint8Array(size).fill(0x7b));
    },
  });
  return { request: new Request('http://web.test/x', { method: 'POST', body: stream, duplex: 'half' } as RequestInit), pulled: () => pulled };
}

describe('readBodyWithin', () => {
  it('returns a body up to the limit, in one piece', async () => {
    const { request } = chunked(4, 1000);
    expect((await readBodyWithin(request, 4000)).byteLength).toBe(4000);
    expect((await readBodyWithin(new Request('http://web.test/x', { method: 'POST', body: 'hello' }), 5)).byteLength).toBe(5);
    expect((await readBodyWithin(new Request('http://web.test/x', { method: 'POST' }), 5)).byteLength).toBe(0);
  });

  it('stops one chunk past the limit of a chunked upload (1 GiB offered)', async () => {
    const { request, pulled } = chunked(16 * 1024, 64 * 1024);
    const error = await readBodyWithin(request, 64 * 1024).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OnairError);
    expect((error as OnairError).code).toBe('body_too_large');
    expect(pulled()).toBeLessThanOrEqual(3 * 64 * 1024);
  });

  it('refuses a declared Content-Length over the limit without reading', async () => {
    const request = new Request('http://web.test/x', { method: 'POST', body: 'x'.repeat(10), headers: { 'content-length': '10' } });
    await expect(readBodyWithin(request, 9)).rejects.toMatchObject({ code: 'body_too_large' });
    expect(request.bodyUsed).toBe(false);
  });
});
