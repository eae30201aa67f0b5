import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KeyframeRequester } from './keyframe-requester';

describe('KeyframeRequester', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it.each([
    { name: 'first request goes out at once', at: [0], sentAt: [0] },
    { name: 'requests inside the window coalesce into one trailing request', at: [0, 100, 200, 300], sentAt: [0, 500] },
    { name: 'requests spaced by the interval all go out', at: [0, 500, 1000], sentAt: [0, 500, 1000] },
    { name: 'a request after a quiet period goes out at once', at: [0, 100, 2000], sentAt: [0, 500, 2000] },
  ])('$name', ({ at, sentAt }) => {
    const sent: number[] = [];
    const requester = new KeyframeRequester({ intervalMs: 500, send: () => sent.push(Date.now()) });
    for (const t of at) {
      vi.advanceTimersByTime(t - Date.now());
      requester.request('test');
    }
    vi.advanceTimersByTime(5000);
    requester.close();
    expect(sent).toEqual(sentAt);
  });

  it('joins the reasons of coalesced requests', () => {
    const reasons: string[] = [];
    const requester = new KeyframeRequester({ intervalMs: 500, send: (r) => reasons.push(r) });
    requester.request('viewer-joined');
    requester.request('pli');
    requester.request('fir');
    requester.request('pli');
    vi.advanceTimersByTime(500);
    expect(reasons).toEqual(['viewer-joined', 'pli,fir']);
    expect(requester.getStats()).toEqual({ sent: 2, coalesced: 3 });
  });

  it('resetWindow lets the next request out at once', () => {
    const send = vi.fn();
    const requester = new KeyframeRequester({ intervalMs: 500, send });
    requester.request('a');
    requester.resetWindow();
    requester.request('new-publisher');
    expect(send).toHaveBeenCalledTimes(2);
  });

  it('close cancels a pending request', () => {
    const send = vi.fn();
    const requester = new KeyframeRequester({ intervalMs: 500, send });
    requester.request('a');
    requester.request('b');
    requester.close();
    requester.close();
    vi.advanceTimersByTime(1000);
    expect(send).toHaveBeenCalledTimes(1);
  });
});
