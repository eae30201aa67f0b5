import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, type CspOptions } from './content-security-policy';

function directives(options: Partial<CspOptions> = {}): Map<string, string[]> {
  const value = contentSecurityPolicy({ nonce: 'bm9uY2U=', host: '127.0.0.1:3000', ...options });
  return new Map(value.split('; ').map((d) => d.split(' ')).map((d) => [d[0]!, d.slice(1)]));
}

describe('contentSecurityPolicy', () => {
  it('lets only nonce-carrying scripts (and what they load) run, and is never framed', () => {
    const csp = directives();
    expect(csp.get('script-src')).toEqual(["'self'", "'nonce-bm9uY2U='", "'strict-dynamic'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('base-uri')).toEqual(["'self'"]);
    expect(csp.get('default-src')).toEqual(["'self'"]);
    expect(directives({ dev: true }).get('script-src')).toContain("'unsafe-eval'");
  });

  it('allows what the pages need: hls.js workers and blob media, inline styles, the WebTransport ingest', () => {
    const csp = directives();
    expect(csp.get('worker-src')).toEqual(["'self'", 'blob:']);
    expect(csp.get('media-src')).toEqual(["'self'", 'blob:']);
    expect(csp.get('style-src')).toContain("'unsafe-inline'");
    expect(csp.get('connect-src')).toEqual(["'self'", 'https://127.0.0.1:8443', 'wss://127.0.0.1:8443']);
  });

  it.each<[Partial<CspOptions>, string[]]>([
    [{ host: 'live.example.org' }, ["'self'", 'https://live.example.org:8443', 'wss://live.example.org:8443']],
    [{ host: '[::1]:3000', webTransportPort: '9443' }, ["'self'", 'https://[::1]:9443', 'wss://[::1]:9443']],
    // Port 0 (the ingest picks one) before the discovery answered: any port of that host, not ':0'.
    [{ host: '127.0.0.1:3000', webTransportPort: '0' }, ["'self'", 'https://127.0.0.1:*', 'wss://127.0.0.1:*']],
    [{ webTransportUrl: 'https://wt.example.org:4433/moq' }, ["'self'", 'https://wt.example.org:4433', 'wss://wt.example.org:4433']],
    [{ hlsPublicUrl: 'https://cdn.example.net/live/' }, ["'self'", 'https://cdn.example.net', 'https://127.0.0.1:8443', 'wss://127.0.0.1:8443']],
    // Nothing from a hostile Host header reaches the policy.
    [{ host: "evil.test; script-src *" }, ["'self'"]],
    [{ host: null, hlsPublicUrl: 'javascript:alert(1)', webTransportPort: '1; x' }, ["'self'"]],
  ])('connect-src for %j', (options, expected) => {
    expect(directives(options).get('connect-src')).toEqual(expected);
  });

  it('lets native HLS load from the CDN', () => {
    expect(directives({ hlsPublicUrl: 'https://cdn.example.net/live' }).get('media-src')).toEqual(["'self'", 'blob:', 'https://cdn.example.net']);
  });
});
