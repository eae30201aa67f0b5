import { describe, expect, it } from 'vitest';
import { SITE_PROXY_HEADER, siteProxyToken } from '@onair/service/site-proxy';
import { markForwardedHeadersVerified } from './forwarded';
import { proxyHls, transcoderBaseUrl } from './hls-proxy';

const env = { ONAIR_TRANSCODER_URL: 'http://transcoder.test:8090' };

describe('transcoderBaseUrl', () => {
  it('defaults to the loopback transcoder and refuses non-http URLs', () => {
    expect(transcoderBaseUrl({})?.toString()).toBe('http://127.0.0.1:8090/');
    expect(transcoderBaseUrl({ ONAIR_TRANSCODER_URL: 'ftp://x' })).toBeNull();
  });
});

describe('proxyHls', () => {
  it('passes the blocking-reload query, status and caching headers, and streams the body', async () => {
    let seen: { url: string; signal: AbortSignal | undefined } | undefined;
    let release!: () => void;
    const fetchImpl = (async (url: URL, init: RequestInit) => {
      seen = { url: url.toString(), signal: init.signal ?? undefined };
      // A body that is still being written when the proxy answers: the proxy must not wait for it.
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('#EXTM3U\n'));
          release = () => {
            controller.enqueue(new TextEncoder().encode('#EXT-X-PART:DURATION=0.2\n'));
            controller.close();
          };
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'public, max-age=6', 'x-internal': '1', 'access-control-allow-origin': '*' } });
    }) as typeof fetch;
    const request = new Request('http://web.test/hls/demo/720p/index.m3u8?_HLS_msn=12&_HLS_part=3');
    const response = await proxyHls(request, ['demo', '720p', 'index.m3u8'], { env, fetch: fetchImpl });
    expect(seen?.url).toBe('http://transcoder.test:8090/hls/demo/720p/index.m3u8?_HLS_msn=12&_HLS_part=3');
    expect(seen?.signal).toBeDefined();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(response.headers.get('cache-control')).toBe('public, max-age=6');
    expect(response.headers.get('x-internal')).toBeNull();
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('#EXTM3U\n');
    release();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('EXT-X-PART');
    expect((await reader.read()).done).toBe(true);
  });

  it('passes the client address the web server vouched for, with the site proxy proof, and User-Agent upstream (the transcoder counts viewers by them), not cookies', async () => {
    let sent: Headers | undefined;
    const fetchImpl = (async (_url: URL, init: RequestInit) => {
      sent = new Headers(init.headers);
      return new Response('#EXTM3U\n', { status: 200 });
    }) as typeof fetch;
    const request = () =>
      new Request('http://web.test/hls/demo/720p/index.m3u8', {
        headers: { 'x-forwarded-for': '203.0.113.5', 'user-agent': 'Mozilla/5.0 Safari', cookie: 'onair_session=secret', authorization: 'Bearer x' },
      });
    const withToken = { ...env, ONAIR_ADMIN_TOKEN: 'at_admin-token-for-tests-0123' };
    // Run without the web server (plain `next start`): X-Forwarded-For is whatever the browser
    // wrote, so neither it nor the proof goes upstream — the transcoder counts the proxy itself.
    await proxyHls(request(), ['demo', '720p', 'index.m3u8'], { env: withToken, fetch: fetchImpl });
    expect(sent?.get('x-forwarded-for')).toBeNull();
    expect(sent?.get(SITE_PROXY_HEADER)).toBeNull();
    expect(sent?.get('user-agent')).toBe('Mozilla/5.0 Safari');
    // Behind the web server, X-Forwarded-For is the one address it found by the trusted-proxy rule.
    markForwardedHeadersVerified();
    await proxyHls(request(), ['demo', '720p', 'index.m3u8'], { env: withToken, fetch: fetchImpl });
    expect(sent?.get('x-forwarded-for')).toBe('203.0.113.5');
    expect(sent?.get(SITE_PROXY_HEADER)).toBe(siteProxyToken(withToken.ONAIR_ADMIN_TOKEN));
    expect(sent?.get('cookie')).toBeNull();
    expect(sent?.get('authorization')).toBeNull();
    // Without an admin token there is no proof to give.
    await proxyHls(request(), ['demo', '720p', 'index.m3u8'], { env, fetch: fetchImpl });
    expect(sent?.get(SITE_PROXY_HEADER)).toBeNull();
  });


  it('sends the CORS headers the origin sends, so a player on another page can read it; its own errors too', async () => {
    const originCors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'Authorization, Content-Type', 'access-control-expose-headers': '', 'access-control-max-age': '600' };
    let method: string | undefined;
    const fetchImpl = (async (_url: URL, init: RequestInit) => {
      method = init.method;
      if (init.method === 'OPTIONS') return new Response(null, { status: 204, headers: { ...originCors, allow: 'GET, OPTIONS', 'access-control-allow-methods': 'GET, OPTIONS' } });
      return new Response('#EXTM3U\n', { status: 200, headers: { 'content-type': 'application/vnd.apple.mpegurl', ...originCors } });
    }) as typeof fetch;
    const playlist = await proxyHls(new Request('http://web.test/hls/demo/index.m3u8', { headers: { origin: 'https://player.example' } }), ['demo', 'index.m3u8'], { env, fetch: fetchImpl });
    expect(playlist.status).toBe(200);
    expect(playlist.headers.get('access-control-allow-origin')).toBe('*');
    expect(playlist.headers.get('access-control-max-age')).toBe('600');
    // A preflight (a player sending a header that is not CORS-safelisted) reaches the origin.
    const preflight = await proxyHls(new Request('http://web.test/hls/demo/index.m3u8', { method: 'OPTIONS', headers: { origin: 'https://player.example', 'access-control-request-method': 'GET' } }), ['demo', 'index.m3u8'], { env, fetch: fetchImpl });
    expect(method).toBe('OPTIONS');
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET, OPTIONS');
    // The proxy's own answers: a refused path, the origin down.
    const refused = await proxyHls(new Request('http://web.test/hls/x'), ['x'], { env, fetch: fetchImpl });
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    const down = await proxyHls(new Request('http://web.test/hls/demo/index.m3u8'), ['demo', 'index.m3u8'], {
      env,
      fetch: (async () => {
        throw new TypeError('fetch failed');
      }) as unknown as typeof fetch,
    });
    expect(down.status).toBe(502);
    expect(down.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('aborts the upstream request when the browser goes away', async () => {
    let upstreamSignal: AbortSignal | undefined;
    const fetchImpl = ((_url: URL, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        upstreamSignal = init.signal ?? undefined;
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      })) as typeof fetch;
    const browser = new AbortController();
    const pending = proxyHls(new Request('http://web.test/hls/demo/720p/index.m3u8?_HLS_msn=99', { signal: browser.signal }), ['demo', '720p', 'index.m3u8'], { env, fetch: fetchImpl });
    await Promise.resolve();
    browser.abort();
    const response = await pending;
    expect(upstreamSignal?.aborted).toBe(true);
    expect(response.status).toBe(499);
  });

  it('passes problems through and answers 502 upstream_unreachable when the transcoder is down', async () => {
    const notFound = (async () => new Response(JSON.stringify({ code: 'stream_not_found', status: 404 }), { status: 404, headers: { 'content-type': 'application/problem+json' } })) as unknown as typeof fetch;
    const missing = await proxyHls(new Request('http://web.test/hls/gone/index.m3u8'), ['gone', 'index.m3u8'], { env, fetch: notFound });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect(await missing.json()).toMatchObject({ code: 'stream_not_found' });

    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    const response = await proxyHls(new Request('http://web.test/hls/demo/index.m3u8'), ['demo', 'index.m3u8'], { env, fetch: down });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ code: 'upstream_unreachable', status: 502 });
  });

  it.each([[['demo']], [['demo', '..', 'index.m3u8']], [['demo', 'a', 'b', 'c']], [['demo', '720p', '.hidden']], [['de mo', 'index.m3u8']]])('refuses the path %j without asking upstream', async (segments) => {
    const fetchImpl = (async () => {
      throw new Error('must not be called');
    }) as unknown as typeof fetch;
    const response = await proxyHls(new Request('http://web.test/hls/x'), segments, { env, fetch: fetchImpl });
    expect(response.status).toBe(404);
  });
});

describe('proxyHls in a cluster', () => {
  function jobs(table: Record<string, import('./cluster-view').HlsOriginLookup>) {
    const forgotten: string[] = [];
    return { forgotten, hlsOrigin: async (stream: string) => table[stream] ?? { state: 'unknown' as const }, forgetHlsOrigin: (stream: string) => void forgotten.push(stream) };
  }
  const ok = (async (url: URL) => new Response(url.toString(), { status: 200 })) as unknown as typeof fetch;

  it("goes to the transcoder running each stream's job, whatever ONAIR_TRANSCODER_URL says", async () => {
    const cluster = jobs({ one: { state: 'served', url: 'http://tc-1.test:8090' }, two: { state: 'served', url: 'http://tc-2.test:8090/' } });
    const first = await proxyHls(new Request('http://web.test/hls/one/720p/index.m3u8?_HLS_msn=4'), ['one', '720p', 'index.m3u8'], { env, cluster, fetch: ok });
    expect(await first.text()).toBe('http://tc-1.test:8090/hls/one/720p/index.m3u8?_HLS_msn=4');
    const second = await proxyHls(new Request('http://web.test/hls/two/index.m3u8'), ['two', 'index.m3u8'], { env, cluster, fetch: ok });
    expect(await second.text()).toBe('http://tc-2.test:8090/hls/two/index.m3u8');
  });

  it('a live stream without a transcoder right now is 503 with Retry-After; unknown and offline streams are 404; nothing is asked upstream', async () => {
    const never = (async () => {
      throw new Error('must not be called');
    }) as unknown as typeof fetch;
    const cluster = jobs({ failing: { state: 'pending' }, ended: { state: 'offline' } });
    const pending = await proxyHls(new Request('http://web.test/hls/failing/index.m3u8'), ['failing', 'index.m3u8'], { env, cluster, fetch: never });
    expect(pending.status).toBe(503);
    expect(pending.headers.get('retry-after')).toBe('1');
    expect(pending.headers.get('access-control-allow-origin')).toBe('*');
    expect(await pending.json()).toMatchObject({ code: 'unavailable' });
    for (const name of ['ended', 'nobody']) {
      const response = await proxyHls(new Request(`http://web.test/hls/${name}/index.m3u8`), [name, 'index.m3u8'], { env, cluster, fetch: never });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ code: 'stream_not_found' });
    }
  });

  it('an origin that cannot be reached is forgotten, so the next request looks the job up again; Redis away is 503', async () => {
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    const cluster = jobs({ one: { state: 'served', url: 'http://tc-1.test:8090' } });
    const response = await proxyHls(new Request('http://web.test/hls/one/index.m3u8'), ['one', 'index.m3u8'], { env, cluster, fetch: down });
    expect(response.status).toBe(502);
    expect(cluster.forgotten).toEqual(['one']);
    const redisDown = { hlsOrigin: async () => Promise.reject(new Error('Connection is closed.')), forgetHlsOrigin: () => undefined };
    const away = await proxyHls(new Request('http://web.test/hls/one/index.m3u8'), ['one', 'index.m3u8'], { env, cluster: redisDown, fetch: ok });
    expect(away.status).toBe(503);
  });
});
