import { describe, expect, it } from 'vitest';
import { Router } from './http';

describe('Router.match', () => {
  const ok = () => {};
  const router = new Router().on('POST', '/whip', ok).on('PATCH', '/whip/:session', ok).on('DELETE', '/whip/:session', ok).on('GET', '/hls/:stream/:file', ok);

  it.each([
    ['POST', '/whip', {}],
    ['PATCH', '/whip/abc', { session: 'abc' }],
    ['GET', '/hls/demo/index.m3u8', { stream: 'demo', file: 'index.m3u8' }],
    ['HEAD', '/hls/demo/index.m3u8', { stream: 'demo', file: 'index.m3u8' }],
    ['POST', '/whip/', {}],
  ])('%s %s matches with params %j', (method, path, params) => {
    const found = router.match(method, path);
    expect('handler' in found && found.params).toEqual(params);
  });

  it('reports the allowed methods for a known path with the wrong method', () => {
    expect(router.match('GET', '/whip/abc')).toEqual({ allowed: ['PATCH', 'DELETE'] });
  });

  it('reports nothing allowed for an unknown path', () => {
    expect(router.match('GET', '/nope')).toEqual({ allowed: [] });
    expect(router.match('PATCH', '/whip/a/b')).toEqual({ allowed: [] });
  });

  it('decodes percent-escapes in parameters and refuses malformed ones with bad_request', () => {
    expect(router.match('PATCH', '/whip/a%20b')).toMatchObject({ params: { session: 'a b' } });
    expect(() => router.match('PATCH', '/whip/%E0%A4%A')).toThrow(expect.objectContaining({ code: 'bad_request', status: 400 }));
  });

  it('treats regex characters in paths literally', () => {
    const r = new Router().on('GET', '/a.b', ok);
    expect('handler' in r.match('GET', '/a.b')).toBe(true);
    expect('handler' in r.match('GET', '/axb')).toBe(false);
  });
});
