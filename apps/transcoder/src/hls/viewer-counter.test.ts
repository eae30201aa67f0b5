import { describe, expect, it } from 'vitest';
import { clientAddress, isTrustedProxy, ViewerCounter } from './viewer-counter';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

const UA = 'Mozilla/5.0 Chrome/140';

describe('ViewerCounter', () => {
  it('counts distinct clients per stream within the window, and forgets them after it', () => {
    const time = clock();
    const counter = new ViewerCounter({ windowMs: 6000, now: time.now });
    const a = counter.clientId({ remoteAddress: '203.0.113.1', forwardedFor: undefined, userAgent: UA });
    const b = counter.clientId({ remoteAddress: '203.0.113.2', forwardedFor: undefined, userAgent: UA });
    counter.hit('cam', a);
    counter.hit('cam', a);
    counter.hit('cam', b);
    counter.hit('other', a);
    expect(counter.count('cam')).toBe(2);
    expect(counter.counts()).toEqual({ cam: 2, other: 1 });
    expect(counter.count('nothing')).toBe(0);

    // a keeps reloading; b went away.
    time.t += 4000;
    counter.hit('cam', a);
    time.t += 1999;
    expect(counter.count('cam')).toBe(2);
    time.t += 1;
    expect(counter.count('cam')).toBe(1);
    expect(counter.count('other')).toBe(0);
    expect(counter.counts()).toEqual({ cam: 1 });
    time.t += 6000;
    expect(counter.count('cam')).toBe(0);
    expect(counter.size).toBe(0);
  });

  it('tells clients apart by address and User-Agent, and keeps no raw address', () => {
    const counter = new ViewerCounter();
    const one = counter.clientId({ remoteAddress: '198.51.100.7', forwardedFor: undefined, userAgent: UA });
    expect(counter.clientId({ remoteAddress: '198.51.100.7', forwardedFor: undefined, userAgent: UA })).toBe(one);
    expect(counter.clientId({ remoteAddress: '198.51.100.7', forwardedFor: undefined, userAgent: 'Safari' })).not.toBe(one);
    expect(counter.clientId({ remoteAddress: '198.51.100.8', forwardedFor: undefined, userAgent: UA })).not.toBe(one);
    expect(one).not.toContain('198.51');
    // Another process (another salt) hashes the same client differently.
    expect(new ViewerCounter().clientId({ remoteAddress: '198.51.100.7', forwardedFor: undefined, userAgent: UA })).not.toBe(one);
  });

  it('believes X-Forwarded-For only from loopback (the web origin proxy)', () => {
    const counter = new ViewerCounter({ salt: Buffer.from('s') });
    const id = (remoteAddress: string, forwardedFor?: string) => counter.clientId({ remoteAddress, forwardedFor, userAgent: UA });
    // Two browsers behind the proxy are two clients; the proxy itself is not one.
    expect(id('127.0.0.1', '203.0.113.1')).not.toBe(id('127.0.0.1', '203.0.113.2'));
    expect(id('::ffff:127.0.0.1', '203.0.113.1, 10.0.0.1')).toBe(id('203.0.113.1'));
    expect(id('::1', ' 2001:db8::1 ')).toBe(id('2001:db8::1'));
    // From anywhere else the header is ignored: it cannot inflate the count.
    expect(id('203.0.113.9', '203.0.113.1')).toBe(id('203.0.113.9', '198.51.100.1'));
    expect(id('203.0.113.9', '203.0.113.1')).toBe(id('203.0.113.9'));

    expect(isTrustedProxy('127.0.0.1')).toBe(true);
    expect(isTrustedProxy('::ffff:127.0.0.2')).toBe(true);
    expect(isTrustedProxy('::1')).toBe(true);
    expect(isTrustedProxy('10.0.0.1')).toBe(false);
    expect(isTrustedProxy('::ffff:10.0.0.1')).toBe(false);
    expect(isTrustedProxy(undefined)).toBe(false);
    expect(clientAddress('127.0.0.1', ['203.0.113.1', '10.0.0.1'])).toBe('203.0.113.1');
    expect(clientAddress('127.0.0.1', '')).toBe('127.0.0.1');
    expect(clientAddress(undefined, '203.0.113.1')).toBe('');
  });

  it('is bounded: past maxEntries the least recently seen client goes', () => {
    const time = clock();
    const counter = new ViewerCounter({ windowMs: 6000, maxEntries: 3, now: time.now });
    counter.hit('cam', 'a');
    time.t += 1;
    counter.hit('cam', 'b');
    time.t += 1;
    counter.hit('cam', 'c');
    time.t += 1;
    counter.hit('cam', 'a'); // a is now the most recent
    counter.hit('other', 'd'); // evicts b
    expect(counter.size).toBe(3);
    expect(counter.counts()).toEqual({ cam: 2, other: 1 });
    counter.hit('cam', 'b'); // evicts c
    expect(counter.counts()).toEqual({ cam: 2, other: 1 });
    for (let i = 0; i < 1000; i++) counter.hit('flood', `x${i}`);
    expect(counter.size).toBe(3);
    expect(counter.counts()).toEqual({ flood: 3 });
  });

  it('sweeps expired entries on access, so an idle map empties itself', () => {
    const time = clock();
    const counter = new ViewerCounter({ windowMs: 6000, now: time.now });
    for (let i = 0; i < 500; i++) counter.hit(`s${i % 7}`, `c${i}`);
    expect(counter.size).toBe(500);
    time.t += 6000;
    counter.hit('cam', 'late');
    expect(counter.size).toBe(1);
    expect(counter.counts()).toEqual({ cam: 1 });
  });
});
