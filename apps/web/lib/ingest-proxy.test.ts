import { describe, expect, it } from 'vitest';
import { isSiteProxy, SITE_PROXY_HEADER } from '@onair/service/site-proxy';
import { markForwardedHeadersVerified } from './forwarded';
import { type IngestDirectory, ingestBaseUrl, linksWithNode, MAX_PROXY_BODY_BYTES, proxyToIngest, rewriteLocation, withNode } from './ingest-proxy';

describe('rewriteLocation', () => {
  it.each([
    ['/whip/sessions/abc', '/whip/sessions/abc'],
    ['http://127.0.0.1:8080/whip/sessions/abc', '/whip/sessions/abc'],
    ['https://ingest.example.org/whep/sessions/x?y=1', '/whep/sessions/x?y=1'],
    ['sessions/abc', 'sessions/abc'],
  ])('%s → %s', (location, expected) => {
    expect(rewriteLocation(location)).toBe(expected);
  });
});

describe('ingestBaseUrl', () => {
  it('defaults to the loopback ingest and rejects non-http URLs', () => {
    expect(ingestBaseUrl({}).toString()).toBe('http://127.0.0.1:8080/');
    expect(ingestBaseUrl({ ONAIR_INGEST_URL: 'http://10.0.0.2:9000' }).host).toBe('10.0.0.2:9000');
    expect(() => ingestBaseUrl({ ONAIR_INGEST_URL: 'ftp://x' })).toThrow(/ONAIR_INGEST_URL/);
  });
});

describe('proxyToIngest', () => {
  const env = { ONAIR_INGEST_URL: 'http://ingest.test:8080' };

  it('forwards method, body and API headers, and returns status, body and rewritten Location', async () => {
    let seen: { url: string; method: string; headers: Headers; body: string } | undefined;
    const fetchImpl = (async (url: URL, init: RequestInit) => {
      seen = { url: url.toString(), method: init.method!, headers: init.headers as Headers, body: new TextDecoder().decode(init.body as ArrayBuffer) };
      return new Response('v=0 answer', {
        status: 201,
        headers: { 'content-type': 'application/sdp', location: 'http://ingest.test:8080/whip/sessions/s1', etag: '"e1"', link: '<stun:stun.example>; rel="ice-server"', 'x-internal': 'secret' },
      });
    }) as typeof fetch;
    const request = new Request('http://web.test/whip', { method: 'POST', body: 'v=0 offer', headers: { authorization: 'Bearer key', 'content-type': 'application/sdp', cookie: 'session=1' } });
    const response = await proxyToIngest(request, '/whip', { env, fetch: fetchImpl });
    expect(seen).toMatchObject({ url: 'http://ingest.test:8080/whip', method: 'POST', body: 'v=0 offer' });
    expect(seen!.headers.get('authorization')).toBe('Bearer key');
    expect(seen!.headers.get('content-type')).toBe('application/sdp');
    expect(seen!.headers.get('cookie')).toBeNull();
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('v=0 answer');
    expect(response.headers.get('location')).toBe('/whip/sessions/s1');
    expect(response.headers.get('etag')).toBe('"e1"');
    expect(response.headers.get('link')).toContain('ice-server');
    expect(response.headers.get('x-internal')).toBeNull();
  });

  it('vouches for the browser\'s address with the site proxy\'s proof, so the ingest caps each visitor, not the site', async () => {
    let seen: Headers | undefined;
    const fetchImpl = (async (_url: URL, init: RequestInit) => {
      seen = init.headers as Headers;
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    // The web server rewrites X-Forwarded-For to the socket's (or a trusted proxy's) client on every request.
    markForwardedHeadersVerified();
    const request = new Request('http://web.test/whep/demo', { method: 'POST', body: 'v=0', headers: { 'content-type': 'application/sdp', 'x-forwarded-for': '192.0.2.50' } });
    await proxyToIngest(request, '/whep/demo', { env: { ...env, ONAIR_ADMIN_TOKEN: 'admin-token-0123456789abcdef' }, fetch: fetchImpl });
    expect(seen!.get('x-forwarded-for')).toBe('192.0.2.50');
    expect(isSiteProxy(seen!.get(SITE_PROXY_HEADER) ?? undefined, 'admin-token-0123456789abcdef')).toBe(true);
  });

  it('passes problem+json errors through unchanged', async () => {
    const problem = { code: 'invalid_stream_key', status: 403, detail: 'Invalid stream key' };
    const fetchImpl = (async () => new Response(JSON.stringify(problem), { status: 403, headers: { 'content-type': 'application/problem+json' } })) as unknown as typeof fetch;
    const response = await proxyToIngest(new Request('http://web.test/whip', { method: 'POST', body: 'x' }), '/whip', { env, fetch: fetchImpl });
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toEqual(problem);
  });

  it('answers 502 upstream_unreachable when the ingest cannot be reached', async () => {
    const fetchImpl = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    const response = await proxyToIngest(new Request('http://web.test/api/streams/live'), '/api/streams/live', { env, fetch: fetchImpl });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ code: 'upstream_unreachable', status: 502 });
  });

  it('returns an empty body for 204 and refuses oversized bodies', async () => {
    const fetchImpl = (async () => new Response(null, { status: 204 })) as unknown as typeof fetch;
    const ok = await proxyToIngest(new Request('http://web.test/whip/sessions/s1', { method: 'DELETE' }), '/whip/sessions/s1', { env, fetch: fetchImpl });
    expect(ok.status).toBe(204);
    const big = await proxyToIngest(new Request('http://web.test/whip', { method: 'POST', body: 'x'.repeat(300 * 1024) }), '/whip', { env, fetch: fetchImpl });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: 'body_too_large' });
  });
});

describe('proxyToIngest in a cluster', () => {
  const nodes = [
    { id: 'a', url: 'http://a.test:8080' },
    { id: 'b', url: 'http://b.test:8080' },
    { id: 'c:1', url: 'http://c.test:8080' },
  ];
  function directory(list = nodes): IngestDirectory & { forgotten: string[] } {
    let alive = [...list];
    const forgotten: string[] = [];
    return {
      forgotten,
      ingestNodes: async () => alive,
      ingestNode: async (id) => alive.find((node) => node.id === id),
      forgetIngestNode: (id) => {
        forgotten.push(id);
        alive = alive.filter((node) => node.id !== id);
      },
    };
  }

  it('sends each new session to a live node and names that node in the session resource and its links', async () => {
    const hosts = new Set<string>();
    const fetchImpl = (async (url: URL) => {
      hosts.add(url.host);
      return new Response('v=0 answer', { status: 201, headers: { location: '/whep/sessions/s1', link: '<stun:stun.example>; rel="ice-server", </whep/sessions/s1/layer>; rel="urn:ietf:params:whep:ext:core:layer"' } });
    }) as typeof fetch;
    const cluster = directory();
    for (let i = 0; i < 40; i++) {
      const response = await proxyToIngest(new Request('http://web.test/whep/demo', { method: 'POST', body: 'v=0' }), '/whep/demo', { cluster, fetch: fetchImpl });
      const node = new URL(response.headers.get('location')!, 'http://web.test').searchParams.get('node')!;
      expect(nodes.map((n) => n.id)).toContain(node);
      expect(response.headers.get('location')).toBe(`/whep/sessions/s1?node=${encodeURIComponent(node)}`);
      expect(response.headers.get('link')).toBe(`<stun:stun.example>; rel="ice-server", </whep/sessions/s1/layer?node=${encodeURIComponent(node)}>; rel="urn:ietf:params:whep:ext:core:layer"`);
    }
    // Spread over every node (40 picks of 3: all three seen unless the shuffle is broken).
    expect([...hosts].sort()).toEqual(['a.test:8080', 'b.test:8080', 'c.test:8080']);
  });

  it("a session's PATCH and DELETE go to the node its URL names, without the node parameter", async () => {
    const seen: string[] = [];
    const fetchImpl = (async (url: URL) => {
      seen.push(url.toString());
      return new Response(null, { status: 204 });
    }) as typeof fetch;
    const cluster = directory();
    await proxyToIngest(new Request('http://web.test/whep/sessions/s9?node=c%3A1', { method: 'DELETE' }), '/whep/sessions/s9', { cluster, fetch: fetchImpl });
    await proxyToIngest(new Request('http://web.test/whep/sessions/s9/layer?node=b', { method: 'GET' }), '/whep/sessions/s9/layer', { cluster, fetch: fetchImpl });
    expect(seen).toEqual(['http://c.test:8080/whep/sessions/s9', 'http://b.test:8080/whep/sessions/s9/layer']);
  });

  it('a session whose node is gone (or unnamed) is not found; no upstream is asked', async () => {
    let called = 0;
    const fetchImpl = (async () => {
      called++;
      return new Response(null, { status: 204 });
    }) as unknown as typeof fetch;
    for (const url of ['http://web.test/whip/sessions/s1?node=gone', 'http://web.test/whip/sessions/s1']) {
      const response = await proxyToIngest(new Request(url, { method: 'DELETE' }), '/whip/sessions/s1', { cluster: directory(), fetch: fetchImpl });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ code: 'session_not_found' });
    }
    expect(called).toBe(0);
  });

  it('a node that cannot be reached is skipped for the next one; none alive is 503', async () => {
    const fetchImpl = (async (url: URL) => {
      if (url.host !== 'b.test:8080') throw new TypeError('fetch failed');
      return new Response('v=0 answer', { status: 201, headers: { location: '/whip/sessions/p1' } });
    }) as typeof fetch;
    const cluster = directory();
    for (let i = 0; i < 5; i++) {
      const response = await proxyToIngest(new Request('http://web.test/whip', { method: 'POST', body: 'v=0' }), '/whip', { cluster, fetch: fetchImpl });
      expect(response.status).toBe(201);
      expect(response.headers.get('location')).toBe('/whip/sessions/p1?node=b');
    }
    expect(cluster.forgotten.every((id) => id !== 'b')).toBe(true);
    const none = await proxyToIngest(new Request('http://web.test/whip', { method: 'POST', body: 'v=0' }), '/whip', { cluster: directory([]), fetch: fetchImpl });
    expect(none.status).toBe(503);
    expect(await none.json()).toMatchObject({ code: 'unavailable' });
  });

  it.each([
    ['/whep/sessions/x', 'n1', '/whep/sessions/x?node=n1'],
    ['/whep/sessions/x?node=old&a=1', 'n2', '/whep/sessions/x?node=n2&a=1'],
    ['/whip/sessions/x', 'a:b[1]', '/whip/sessions/x?node=a%3Ab%5B1%5D'],
  ])('withNode(%s, %s) → %s', (path, node, expected) => {
    expect(withNode(path, node)).toBe(expected);
  });

  it('linksWithNode leaves links that are not session resources alone', () => {
    expect(linksWithNode('<turn:t.example?transport=udp>; rel="ice-server"; username="u", </other>; rel="x"', 'n')).toBe('<turn:t.example?transport=udp>; rel="ice-server"; username="u", </other>; rel="x"');
  });
});

/** A chunked upload of `total` bytes, produced only as it is read; `pulled()` says how much was read. */
function endlessBody(total: number, chunk = 64 * 1024): { stream: ReadableStream<Uint8Array>; pulled(): number } {
  let pulled = 0;
  const block = new Uint8Array(chunk).fill(0x61);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= total) return controller.close();
      pulled += block.length;
      controller.enqueue(block);
    },
  });
  return { stream, pulled: () => pulled };
}

describe('proxyToIngest, bodies without Content-Length', () => {
  const env = { ONAIR_INGEST_URL: 'http://ingest.test:8080' };

  it('stops reading a chunked upload at the cap and answers 413 (64 MiB offered, ≤ cap + one chunk read)', async () => {
    let called = false;
    const fetchImpl = (async () => {
      called = true;
      return new Response(null, { status: 201 });
    }) as unknown as typeof fetch;
    const body = endlessBody(64 * 1024 * 1024);
    const request = new Request('http://web.test/whip', { method: 'POST', body: body.stream, duplex: 'half', headers: { 'content-type': 'application/sdp' } } as RequestInit);
    const response = await proxyToIngest(request, '/whip', { env, fetch: fetchImpl });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ code: 'body_too_large', status: 413 });
    expect(called).toBe(false);
    expect(body.pulled()).toBeLessThanOrEqual(MAX_PROXY_BODY_BYTES + 64 * 1024 * 2);
  });

  it('forwards a chunked body under the cap whole', async () => {
    let forwarded = 0;
    const fetchImpl = (async (_url: URL, init: RequestInit) => {
      forwarded = (init.body as Uint8Array).byteLength;
      return new Response('ok', { status: 201 });
    }) as unknown as typeof fetch;
    const body = endlessBody(3 * 64 * 1024);
    const request = new Request('http://web.test/whep/x', { method: 'POST', body: body.stream, duplex: 'half' } as RequestInit);
    const response = await proxyToIngest(request, '/whep/x', { env, fetch: fetchImpl });
    expect(response.status).toBe(201);
    expect(forwarded).toBe(3 * 64 * 1024);
  });
});
