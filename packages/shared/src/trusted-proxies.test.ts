import { describe, expect, it } from 'vitest';
import { formatIp, normalizeIp, parseIp, TrustedProxies } from './trusted-proxies';

describe('parseIp / normalizeIp', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['::FFFF:0a00:0001', '10.0.0.1'],
    ['::1', '::1'],
    ['::', '::'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0000', '2001:db8:0:0:1::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::1.2.3.4', '::102:304'],
  ])('%s → %s', (text, canonical) => {
    expect(normalizeIp(text)).toBe(canonical);
    // Canonical text parses back to the same bytes.
    expect(formatIp(parseIp(canonical)!)).toBe(canonical);
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', '1.2.3.4 ', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '12345::', 'g::1', '::1.2.3', '1.2.3.4::', 'localhost', 'unknown', '[::1]', '1.2.3.4:80', 'x'.repeat(100)])(
    'rejects %j',
    (text) => {
      expect(parseIp(text)).toBeNull();
    },
  );
});

describe('TrustedProxies.parse', () => {
  it('reads IPs, CIDR blocks (IPv4, IPv6) and loopback; empty trusts nobody', () => {
    expect(TrustedProxies.parse(undefined).isEmpty).toBe(true);
    expect(TrustedProxies.parse(' , ').isEmpty).toBe(true);
    expect(TrustedProxies.parse('10.0.0.0/8, 2001:db8::/32 ,192.0.2.7,loopback').entries).toEqual(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7', 'loopback']);
  });

  it('names every entry it cannot read', () => {
    expect(() => TrustedProxies.parse('10.0.0.0/33, nginx, 10.0.0.1')).toThrow(/"10\.0\.0\.0\/33".*; "nginx"/);
    expect(() => TrustedProxies.parse('::/129')).toThrow(RangeError);
    expect(() => TrustedProxies.parse('10.0.0.0/')).toThrow(RangeError);
    expect(() => TrustedProxies.parse('fe80::1%eth0')).toThrow(RangeError);
  });
});

describe('TrustedProxies.trusts', () => {
  const trusted = TrustedProxies.parse('10.0.0.0/8, 192.0.2.7, 2001:db8::/32, 198.51.100.128/25, loopback');
  it.each([
    ['10.1.2.3', true],
    ['::ffff:10.1.2.3', true],
    ['11.0.0.1', false],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['198.51.100.128', true],
    ['198.51.100.255', true],
    ['198.51.100.127', false],
    ['2001:db8:ffff::1', true],
    ['2001:db9::1', false],
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::ffff:127.0.0.1', true],
    ['::1', true],
    ['::2', false],
    ['', false],
    [undefined, false],
    ['garbage', false],
  ])('%s → %s', (address, expected) => {
    expect(trusted.trusts(address)).toBe(expected);
  });

  it('trusts nobody by default, loopback included', () => {
    expect(TrustedProxies.none.trusts('127.0.0.1')).toBe(false);
    expect(TrustedProxies.parse('').trusts('::1')).toBe(false);
  });

  it('an IPv6 block covering ::ffff:0:0/96 matches IPv4 peers; an IPv4 /0 matches only IPv4', () => {
    expect(TrustedProxies.parse('::/0').trusts('203.0.113.9')).toBe(true);
    expect(TrustedProxies.parse('0.0.0.0/0').trusts('203.0.113.9')).toBe(true);
    expect(TrustedProxies.parse('0.0.0.0/0').trusts('2001:db8::1')).toBe(false);
  });
});

describe('TrustedProxies.clientAddress', () => {
  const trusted = TrustedProxies.parse('10.0.0.0/8, loopback');
  it.each<[string, string | undefined, string | string[] | undefined, string]>([
    ['no proxy: the socket is the client', '203.0.113.9', undefined, '203.0.113.9'],
    ['an untrusted peer cannot name another client', '203.0.113.9', '198.51.100.1', '203.0.113.9'],
    ['a dual-stack socket address is made canonical', '::ffff:203.0.113.9', '198.51.100.1', '203.0.113.9'],
    ['a trusted proxy names the client', '10.0.0.2', '198.51.100.1', '198.51.100.1'],
    ['entries the client wrote are left of what the proxy appended', '10.0.0.2', '1.1.1.1, 2.2.2.2, 198.51.100.1', '198.51.100.1'],
    ['a chain of trusted proxies is walked', '127.0.0.1', '198.51.100.1, 10.0.0.3, 10.0.0.2', '198.51.100.1'],
    ['several header lines read as one list', '10.0.0.2', ['1.1.1.1', '198.51.100.1, 10.0.0.5'], '198.51.100.1'],
    ['all hops trusted: the leftmost', '10.0.0.2', '10.0.0.9, 10.0.0.3', '10.0.0.9'],
    ['a port after the address is dropped', '10.0.0.2', '198.51.100.1:5678', '198.51.100.1'],
    ['a bracketed IPv6 with a port', '10.0.0.2', '[2001:db8::7]:443', '2001:db8::7'],
    ['a malformed entry stops at the hop that delivered it', '10.0.0.2', '198.51.100.1, unknown', '10.0.0.2'],
    ['…even further along the chain', '10.0.0.2', 'evil, 10.0.0.3', '10.0.0.3'],
    ['an empty header is no header', '10.0.0.2', '', '10.0.0.2'],
    ['no peer: empty', undefined, '198.51.100.1', ''],
  ])('%s', (_name, peer, header, client) => {
    expect(trusted.clientAddress(peer, header)).toBe(client);
  });

  it('a peer vouched for otherwise (peerTrusted) is walked past; later hops still follow the list', () => {
    expect(TrustedProxies.none.clientAddress('127.0.0.1', '198.51.100.1', true)).toBe('198.51.100.1');
    expect(TrustedProxies.none.clientAddress('127.0.0.1', '198.51.100.1, 10.0.0.3', true)).toBe('10.0.0.3');
    expect(trusted.clientAddress('127.0.0.1', '198.51.100.1, 10.0.0.3', true)).toBe('198.51.100.1');
    expect(trusted.clientAddress('10.0.0.2', '198.51.100.1', false)).toBe('10.0.0.2');
  });

  it('with nobody trusted, rotating X-Forwarded-For changes nothing', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) seen.add(TrustedProxies.none.clientAddress('127.0.0.1', `203.0.113.${i % 256}, 10.0.0.${i % 256}`));
    expect([...seen]).toEqual(['127.0.0.1']);
  });

  it('reads only the right end of a huge header', () => {
    const header = `${'1.2.3.4,'.repeat(200_000)}198.51.100.1`;
    const started = performance.now();
    expect(trusted.clientAddress('10.0.0.2', header)).toBe('198.51.100.1');
    expect(trusted.clientAddress('10.0.0.2', `${'10.0.0.1,'.repeat(200_000)}10.0.0.9`)).toMatch(/^10\.0\.0\.\d$/);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('fuzz', () => {
  /** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
  function random(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const alphabet = '0123456789abcdefABCDEF:.,/%[] x\u0000\u00ff-';
  const seeds = ['127.0.0.1', '::ffff:10.0.0.1', '2001:db8::1', '10.0.0.0/8', '[::1]:80', '1.2.3.4:5', 'fe80::1%lo', '::'];

  it('matches CIDR blocks exactly as 128-bit prefix arithmetic does (3 000 random blocks and addresses)', () => {
    const next = random(0xc1d7);
    const bigOf = (bytes: Uint8Array) => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
    for (let i = 0; i < 3000; i++) {
      const v4 = next() < 0.5;
      const bytes = Uint8Array.from({ length: 16 }, () => Math.floor(next() * 256));
      if (v4) bytes.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
      const prefix = Math.floor(next() * (v4 ? 33 : 129));
      const base = formatIp(bytes);
      const block = TrustedProxies.parse(`${base}/${prefix}`);
      // A neighbour: the same address with one random bit flipped.
      const other = Uint8Array.from(bytes);
      const bit = v4 ? 96 + Math.floor(next() * 32) : Math.floor(next() * 128);
      other[bit >> 3]! ^= 0x80 >> (bit & 7);
      const bits = v4 ? 96 + prefix : prefix;
      const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(128 - bits);
      const expected = (bigOf(other) & mask) === (bigOf(bytes) & mask);
      expect(block.trusts(formatIp(other)), `${base}/${prefix} vs ${formatIp(other)}`).toBe(expected);
      expect(block.trusts(base)).toBe(true);
    }
  });

  it('never throws past parseIp / clientAddress and round-trips what it accepts (5 000 corrupted inputs)', () => {
    const next = random(0x0a1a);
    const trusted = TrustedProxies.parse('10.0.0.0/8, loopback, 2001:db8::/32');
    for (let i = 0; i < 5000; i++) {
      let text = seeds[Math.floor(next() * seeds.length)]!;
      const edits = 1 + Math.floor(next() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(next() * (text.length + 1));
        const char = alphabet[Math.floor(next() * alphabet.length)]!;
        const op = next();
        text = op < 0.4 ? text.slice(0, at) + char + text.slice(at) : op < 0.7 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + char + text.slice(at + 1);
      }
      const parsed = parseIp(text);
      if (parsed) {
        expect(parsed.length).toBe(16);
        const canonical = formatIp(parsed);
        expect(normalizeIp(canonical), `${JSON.stringify(text)} → ${canonical}`).toBe(canonical);
      }
      const client = trusted.clientAddress(next() < 0.5 ? '10.0.0.2' : text, `${text}, ${text.split('').reverse().join('')}`);
      expect(typeof client).toBe('string');
      // The answer is the peer or an address the walk could verify, never raw header text.
      if (client !== '10.0.0.2' && client !== text.slice(0, 64)) expect(normalizeIp(client)).toBe(client);
      try {
        TrustedProxies.parse(text);
      } catch (error) {
        expect(error).toBeInstanceOf(RangeError);
      }
    }
  });
});
