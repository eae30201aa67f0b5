import { describe, expect, it } from 'vitest';
import { OnairError } from '@onair/shared/errors';
import { SessionLimits } from './session-limits';

const limits = (now: { t: number }, overrides: Partial<ConstructorParameters<typeof SessionLimits>[0]> = {}) =>
  new SessionLimits({ pendingPerClient: 3, pendingTotal: 5, postsPerClient: 4, postWindowMs: 10_000, maxViewers: undefined, now: () => now.t, ...overrides });

function refusal(fn: () => unknown): { code: string; retryAfterS?: number } | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (!(error instanceof OnairError)) throw error;
    return { code: error.code, ...(error.extensions.retryAfterS !== undefined ? { retryAfterS: error.extensions.retryAfterS as number } : {}) };
  }
}

describe('SessionLimits', () => {
  it('POST rate per client: 429 too_many_requests with the seconds until the window ends', () => {
    const now = { t: 0 };
    const l = limits(now);
    for (let i = 0; i < 4; i += 1) expect(refusal(() => l.admitPost('10.0.0.1'))).toBeUndefined();
    now.t = 2_500;
    expect(refusal(() => l.admitPost('10.0.0.1'))).toEqual({ code: 'too_many_requests', retryAfterS: 8 });
    // Another client is not affected.
    expect(refusal(() => l.admitPost('10.0.0.2'))).toBeUndefined();
    now.t = 10_001;
    expect(refusal(() => l.admitPost('10.0.0.1'))).toBeUndefined();
  });

  it('pending sessions per client and in all; a session that connects or closes frees its slot', () => {
    const now = { t: 0 };
    const l = limits(now);
    const a = [l.reservePending('10.0.0.1'), l.reservePending('10.0.0.1'), l.reservePending('10.0.0.1')];
    expect(refusal(() => l.reservePending('10.0.0.1'))).toMatchObject({ code: 'too_many_requests' });
    const b = [l.reservePending('10.0.0.2'), l.reservePending('10.0.0.3')];
    // 5 pending in all: the next client is refused with 503 (the server is busy, not this client).
    expect(refusal(() => l.reservePending('10.0.0.4'))).toMatchObject({ code: 'unavailable' });
    expect(l.pending).toBe(5);
    a[0]!.release();
    a[0]!.release(); // twice is once
    expect(l.pending).toBe(4);
    expect(refusal(() => l.reservePending('10.0.0.1'))).toBeUndefined();
    for (const lease of [...a, ...b]) lease.release();
    expect(l.pending).toBe(1);
  });

  it('ONAIR_MAX_VIEWERS: 503 too_many_viewers when connected plus pending viewers reach it', () => {
    const l = limits({ t: 0 }, { maxViewers: 2 });
    expect(refusal(() => l.admitViewer(1))).toBeUndefined();
    expect(refusal(() => l.admitViewer(2))).toMatchObject({ code: 'too_many_viewers' });
    expect(refusal(() => limits({ t: 0 }).admitViewer(10_000))).toBeUndefined();
  });

  it('keeps a bounded number of clients in its rate table (a spray of addresses cannot grow it)', () => {
    const now = { t: 0 };
    const l = limits(now, { postsPerClient: 1 });
    for (let i = 0; i < 50_000; i += 1) {
      now.t = i;
      l.admitPost(`2001:db8::${i.toString(16)}`);
    }
    expect(l.trackedClients).toBeLessThanOrEqual(SessionLimits.MAX_TRACKED_CLIENTS);
  });
});
