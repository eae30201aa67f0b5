import { describe, expect, it } from 'vitest';
import type { WhepLayers } from './api';
import { getWhepLayers, layerUrlFromLinkHeader, selectWhepLayer } from './whep-layers-client';

const RESOURCE = 'https://site.example/whep/sessions/abc';
const LAYERS: WhepLayers = {
  pinned: null,
  active: '360p',
  pending: null,
  layers: [{ encodingId: 'source', kind: 'source', codec: 'H264', width: 1280, height: 720, frameRate: 30, bitrateKbps: 2500, targetKbps: null }],
};

describe('layerUrlFromLinkHeader', () => {
  it.each([
    ['the ingest\'s answer, beside ICE servers', '<stun:stun.example:3478>; rel="ice-server", </whep/sessions/abc/layer>; rel="urn:ietf:params:whep:ext:core:layer"', 'https://site.example/whep/sessions/abc/layer'],
    ['relative to the session resource', '<abc/layer>; rel="urn:ietf:params:whep:ext:core:layer"', 'https://site.example/whep/sessions/abc/layer'],
    ['one of several rels', '<https://other.example/l>; rel="alternate urn:ietf:params:whep:ext:core:layer"', 'https://other.example/l'],
    ['no layer extension', '<stun:stun.example:3478>; rel="ice-server"', null],
    ['no header', null, null],
    ['a malformed header', '<<>>;;,rel=', null],
  ])('%s', (_name, header, expected) => {
    expect(layerUrlFromLinkHeader(header, RESOURCE)).toBe(expected);
  });
});

describe('getWhepLayers / selectWhepLayer', () => {
  const calls: Array<{ url: string; method: string; body: string | undefined }> = [];
  const fetchImpl = (answer: () => Response) =>
    (async (url: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(url), method: init?.method ?? 'GET', body: init?.body as string | undefined });
      return answer();
    }) as typeof fetch;

  it('reads the list, POSTs a pin and "auto" for the server\'s choice', async () => {
    calls.length = 0;
    const ok = fetchImpl(() => Response.json(LAYERS));
    expect(await getWhepLayers('https://x/l', { fetch: ok })).toEqual(LAYERS);
    await selectWhepLayer('https://x/l', '360p', { fetch: ok });
    await selectWhepLayer('https://x/l', null, { fetch: ok });
    expect(calls.map((c) => `${c.method} ${c.body ?? ''}`)).toEqual(['GET ', 'POST {"encodingId":"360p"}', 'POST {"encodingId":"auto"}']);
  });

  it('a problem answer is an OnairError with its code; a body that is no layer list is an error', async () => {
    const problem = fetchImpl(() => new Response(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, code: 'rendition_not_found', detail: 'no 90p' }), { status: 404, headers: { 'content-type': 'application/problem+json' } }));
    await expect(selectWhepLayer('https://x/l', '90p', { fetch: problem })).rejects.toMatchObject({ code: 'rendition_not_found' });
    await expect(getWhepLayers('https://x/l', { fetch: fetchImpl(() => Response.json({ layers: 'no' })) })).rejects.toThrow(/not a layer list/);
  });
});
