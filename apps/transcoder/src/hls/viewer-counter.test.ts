import { describe, expect, it } from 'vitest';
import { siteProxyToken } from '@onair/service/site-proxy';
import { TrustedProxies } from '@onair/shared/trusted-proxies';
import { ViewerCounter } from './viewer-counter';

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

  it("believes X-Forwarded-For only from a configured proxy or the site's own proxy, not from loopback as such", () => {
    const ADMIN = 'at_admin-token-for-tests-0123';
    const counter = new ViewerCounter({ salt: Buffer.from('s'), trustedProxies: TrustedProxies.parse('10.0.0.0/8'), adminToken: ADMIN });
    const id = (remoteAddress: string, forwardedFor?: string, proof?: string) => counter.clientId({ remoteAddress, forwardedFor, userAgent: UA, siteProxy: proof });
    const proof = siteProxyToken(ADMIN);
    // Any local process (or a proxy passing on what a browser wrote) sending X-Forwarded-For from
    // loopback is one client, however it rotates the header: 300 spoofed requests were 250 viewers.
    const spoofed = new Set(Array.from({ length: 300 }, (_, i) => id('127.0.0.1', `203.0.113.${i % 250}`)));
    expect(spoofed.size).toBe(1);
    expect(id('::1', '203.0.113.1')).toBe(id('::1'));
    // A wrong proof is no proof.
    expect(id('127.0.0.1', '203.0.113.1', 'x'.repeat(43))).toBe(id('127.0.0.1'));
    // The site's /hls proxy, with its proof: two browsers behind it are two clients, and the proxy itself is none.
    expect(id('127.0.0.1', '203.0.113.1', proof)).not.toBe(id('127.0.0.1', '203.0.113.2', proof));
    expect(id('::ffff:127.0.0.1', '203.0.113.1', proof)).toBe(id('203.0.113.1'));
    // A configured proxy (a CDN edge in 10/8): its client is believed, by the shared rule.
    expect(id('10.0.0.2', '198.51.100.1, 10.0.0.3')).toBe(id('198.51.100.1'));
    // From anywhere else the header is ignored: it cannot inflate the count.
    expect(id('203.0.113.9', '203.0.113.1')).toBe(id('203.0.113.9', '198.51.100.1'));
    expect(id('203.0.113.9', '203.0.113.1')).toBe(id('203.0.113.9'));
  });

  it('without an admin token nothing is a site proxy', () => {
    const counter = new ViewerCounter({ salt: Buffer.from('s') });
    const id = (forwardedFor: string) => counter.clientId({ remoteAddress: '127.0.0.1', forwardedFor, userAgent: UA, siteProxy: siteProxyToken('') });
    expect(id('203.0.113.1')).toBe(id('203.0.113.2'));
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
