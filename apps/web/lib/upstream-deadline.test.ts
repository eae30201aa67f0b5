import { afterEach, describe, expect, it, vi } from 'vitest';
import { releasingBody, upstreamDeadline } from './upstream-deadline';

afterEach(() => {
  vi.useRealTimers();
});

describe('upstreamDeadline', () => {
  it('aborts at the deadline, with a TimeoutError', () => {
    vi.useFakeTimers();
    const deadline = upstreamDeadline(undefined, 20_000, 'The HLS origin');
    vi.advanceTimersByTime(19_999);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('aborts when the browser gives up', () => {
    const client = new AbortController();
    const deadline = upstreamDeadline(client.signal, 20_000, 'The ingest');
    client.abort(new Error('tab closed'));
    expect(deadline.signal.aborted).toBe(true);
    deadline.release();
  });

  it('once the body is read, holds no timer and no link to the browser\'s request', async () => {
    vi.useFakeTimers();
    const client = new AbortController();
    const deadline = upstreamDeadline(client.signal, 20_000, 'The HLS origin');
    expect(vi.getTimerCount()).toBe(1);
    const body = releasingBody(new Response('part bytes').body!, deadline);
    expect(await new Response(body).text()).toBe('part bytes');
    expect(vi.getTimerCount()).toBe(0);
    client.abort();
    expect(deadline.signal.aborted).toBe(false);
  });

  it('releases when the browser cancels the body midway', async () => {
    vi.useFakeTimers();
    const deadline = upstreamDeadline(undefined, 20_000, 'The HLS origin');
    const source = new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(new Uint8Array(16)) });
    const reader = releasingBody(source, deadline).getReader();
    await reader.read();
    await reader.cancel();
    expect(vi.getTimerCount()).toBe(0);
  });
});
