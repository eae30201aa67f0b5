import { describe, expect, it } from 'vitest';
import { OnairError } from '@onair/shared/errors';
import { clientKey, SessionLimits } from './session-limits';

const limits = (now: { t: number }, overrides: Partial<ConstructorParameters<typeof SessionLimits>[0]> = {}) =>
  new SessionLimits({ pendingPerClient: 3, pendingTotal: 5, postsPerClient: 4, postWindowMs: 10_000, maxViewers: 2_000, now: () => now.t, ...overrides });

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
    const a = [l.reservePending('10.0.0.1', 'publisher'), l.reservePending('10.0.0.1', 'publisher'), l.reservePending('10.0.0.1', 'publisher')];
    expect(refusal(() => l.reservePending('10.0.0.1', 'publisher'))).toMatchObject({ code: 'too_many_requests' });
    const b = [l.reservePending('10.0.0.2', 'publisher'), l.reservePending('10.0.0.3', 'publisher')];
    // 5 pending in all: the next client is refused with 503 (the server is busy, not this client).
    expect(refusal(() => l.reservePending('10.0.0.4', 'publisher'))).toMatchObject({ code: 'unavailable' });
    expect(l.pending).toBe(5);
    a[0]!.release();
    a[0]!.release(); // twice is once
    expect(l.pending).toBe(4);
    expect(refusal(() => l.reservePending('10.0.0.1', 'publisher'))).toBeUndefined();
    for (const lease of [...a, ...b]) lease.release();
    expect(l.pending).toBe(1);
  });

  it('anonymous viewers cannot take the last tenth of the pending pool: a publisher with its key still gets a slot (viewer offers that never did ICE gave it 503)', () => {
    const l = limits({ t: 0 }, { pendingPerClient: 20, pendingTotal: 200 });
    const viewers = Array.from({ length: 180 }, (_, i) => l.reservePending(`10.0.${Math.floor(i / 20)}.1`, 'viewer'));
    expect(refusal(() => l.reservePending('10.1.0.1', 'viewer'))).toMatchObject({ code: 'unavailable' });
    const publishers = Array.from({ length: 20 }, (_, i) => l.reservePending(`10.2.${i}.1`, 'publisher'));
    expect(refusal(() => l.reservePending('10.3.0.1', 'publisher'))).toMatchObject({ code: 'unavailable' });
    for (const lease of [...viewers, ...publishers]) lease.release();
    expect(l.pending).toBe(0);
  });

  it('counts an IPv6 client by its /64: the addresses of one host do not each get a new allowance', () => {
    const l = limits({ t: 0 });
    for (const address of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:aaaa:bbbb:cccc:dddd']) l.reservePending(address, 'viewer');
    expect(refusal(() => l.reservePending('2001:0db8:0001:0002::ffff', 'viewer'))).toMatchObject({ code: 'too_many_requests' });
    expect(refusal(() => l.reservePending('2001:db8:1:3::1', 'viewer'))).toBeUndefined();
    for (let i = 0; i < 4; i += 1) l.admitPost(`2001:db8:9:9::${i + 1}`);
    expect(refusal(() => l.admitPost('2001:db8:9:9::99'))).toMatchObject({ code: 'too_many_requests' });
  });

  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:DB8:0001:0002:3:4:5:6', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1:2:3:4', 'fe80:0:0:0::/64'],
  ])('clientKey(%s) = %s', (address, key) => {
    expect(clientKey(address)).toBe(key);
  });

  it('ONAIR_MAX_VIEWERS: 503 too_many_viewers once that many slots are held; a released slot is free again', () => {
    const l = limits({ t: 0 }, { maxViewers: 2 });
    const first = l.reserveViewer();
    expect(refusal(() => l.checkViewers())).toBeUndefined();
    l.reserveViewer();
    expect(refusal(() => l.checkViewers())).toEqual({ code: 'too_many_viewers', retryAfterS: 10 });
    expect(refusal(() => l.reserveViewer())).toMatchObject({ code: 'too_many_viewers' });
    expect(l.viewers).toBe(2);
    first.release();
    first.release(); // twice is once
    expect(l.viewers).toBe(1);
    expect(refusal(() => l.reserveViewer())).toBeUndefined();
  });

  it('keeps a bounded number of clients in its rate table (a spray of addresses cannot grow it)', () => {
    const now = { t: 0 };
    const l = limits(now, { postsPerClient: 1 });
    for (let i = 0; i < 50_000; i += 1) {
      now.t = i;
      // One /64 each (a client is counted by its /64).
      l.admitPost(`2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`);
    }
    expect(l.trackedClients).toBeLessThanOrEqual(SessionLimits.MAX_TRACKED_CLIENTS);
  });
});
