import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { TrustedProxies } from '@onair/shared/trusted-proxies';
import { normalizeForwardedHeaders } from './forwarded-headers';

const spoofed = (): IncomingHttpHeaders => ({
  host: 'site.test',
  'x-forwarded-for': '203.0.113.5, 198.51.100.7',
  'x-forwarded-host': 'evil.test',
  'x-forwarded-proto': 'https',
  'x-forwarded-port': '443',
  forwarded: 'for=192.0.2.1',
  'x-real-ip': '192.0.2.2',
});

describe('normalizeForwardedHeaders', () => {
  it('from a peer that is not a trusted proxy: the socket is the client, the rest is dropped', () => {
    const headers = spoofed();
    expect(normalizeForwardedHeaders(headers, '::ffff:192.0.2.50', TrustedProxies.none)).toBe('192.0.2.50');
    expect(headers).toEqual({ host: 'site.test', 'x-forwarded-for': '192.0.2.50' });
  });

  it('from a trusted proxy: its client, host and scheme are kept, as one address', () => {
    const headers = spoofed();
    expect(normalizeForwardedHeaders(headers, '10.0.0.2', TrustedProxies.parse('10.0.0.0/8'))).toBe('198.51.100.7');
    expect(headers).toEqual({ host: 'site.test', 'x-forwarded-for': '198.51.100.7', 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https', 'x-forwarded-port': '443' });
  });

  it('a trusted proxy that sent no X-Forwarded-For is itself the client', () => {
    const headers: IncomingHttpHeaders = { host: 'site.test' };
    expect(normalizeForwardedHeaders(headers, '10.0.0.2', TrustedProxies.parse('10.0.0.0/8'))).toBe('10.0.0.2');
    expect(headers['x-forwarded-for']).toBe('10.0.0.2');
  });

  it('without a peer address there is no X-Forwarded-For at all', () => {
    const headers = spoofed();
    expect(normalizeForwardedHeaders(headers, undefined, TrustedProxies.none)).toBe('');
    expect(headers['x-forwarded-for']).toBeUndefined();
  });
});
