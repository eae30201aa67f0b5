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

  it.each([
    { name: 'a keyframe answers the requests waiting for the window: they are not sent', at: [0, 100, 120], keyframeAt: 150, sentAt: [0] },
    { name: 'a request after the answering keyframe waits only 300 ms from the last one sent', at: [0, 200], keyframeAt: 80, sentAt: [0, 300] },
    { name: 'a request 300 ms after an answered one goes out at once', at: [0, 320], keyframeAt: 60, sentAt: [0, 320] },
    { name: 'requests after the keyframe coalesce into one at 300 ms', at: [0, 100, 150, 250], keyframeAt: 90, sentAt: [0, 300] },
    { name: 'unanswered (no keyframe), the window stays 500 ms', at: [0, 350], keyframeAt: undefined, sentAt: [0, 500] },
  ])('$name', ({ at, keyframeAt, sentAt }) => {
    const sent: number[] = [];
    const requester = new KeyframeRequester({ intervalMs: 500, send: () => sent.push(Date.now()) });
    const events = [...at.map((t) => ({ t, kind: 'request' })), ...(keyframeAt === undefined ? [] : [{ t: keyframeAt, kind: 'keyframe' }])].sort((a, b) => a.t - b.t);
    for (const { t, kind } of events) {
      vi.advanceTimersByTime(t - Date.now());
      if (kind === 'request') requester.request('viewer-joined');
      else requester.keyframeArrived();
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
    expect(requester.getStats()).toEqual({ sent: 2, coalesced: 3, answered: 0 });
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
