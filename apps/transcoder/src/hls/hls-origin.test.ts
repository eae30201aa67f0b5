import { describe, expect, it } from 'vitest';
import { Router } from '@onair/service/http';
import { SITE_PROXY_HEADER, siteProxyToken } from '@onair/service/site-proxy';
import { OnairError } from '@onair/shared/errors';
import { HlsOrigin } from './hls-origin';
import { HlsPackager, type HlsPackagerOptions } from './hls-packager';
import { ViewerCounter } from './viewer-counter';
import { callRoute, fixture, settle, silentLog, splitFile, type FakeResponse } from './test-kit';

const ADMIN = 'at_admin-token-for-tests-0123';

function setup(options: Partial<HlsPackagerOptions> = {}, originOptions: ConstructorParameters<typeof HlsOrigin>[0] = {}) {
  const packager = new HlsPackager({ stream: 'live', dir: '/nonexistent', writeToDisk: false, log: silentLog, ...options });
  const writer = packager.addRendition({ id: '180p', bandwidth: 200_000, width: 160, height: 90, frameRate: 30 });
  const other = packager.addRendition({ id: '90p', bandwidth: 100_000 });
  const origin = new HlsOrigin(originOptions);
  origin.register(packager);
  const router = new Router();
  origin.routes(router);
  const { init, fragments } = splitFile(fixture('av-per-frame.mp4'));
  const rendition = packager.rendition('180p')!;
  return { packager, writer, other, router, init, fragments, rendition, origin };
}

function ok(result: FakeResponse | OnairError): FakeResponse {
  if (result instanceof OnairError) throw new Error(`expected a response, got ${result.code}: ${result.message}`);
  return result;
}

function failed(result: FakeResponse | OnairError): OnairError {
  if (!(result instanceof OnairError)) throw new Error(`expected an error, got HTTP ${result.status}`);
  return result;
}

/** Tracks a promise's settlement without awaiting it. */
function track<T>(promise: Promise<T>): { done: boolean; value: T | undefined } {
  const state: { done: boolean; value: T | undefined } = { done: false, value: undefined };
  void promise.then((value) => {
    state.done = true;
    state.value = value;
  });
  return state;
}

describe('blocking playlist reload (RFC 8216bis §6.2.5.2)', () => {
  it('a request for a future part resolves on exactly the push that completes that part', async () => {
    const { writer, router, init, fragments, rendition } = setup();
    writer.push(init);
    const pending = track(callRoute(router, '/hls/live/180p/index.m3u8?_HLS_msn=0&_HLS_part=2'));
    let resolvedAt = -1;
    for (const [i, fragment] of fragments.entries()) {
      writer.push(fragment);
      await settle();
      const last = rendition.lastPosition;
      const reached = last !== undefined && (last.msn > 0 || last.part >= 2);
      expect(pending.done).toBe(reached);
      if (pending.done) {
        resolvedAt = i;
        break;
      }
    }
    expect(resolvedAt).toBeGreaterThan(0);
    const response = ok(pending.value!);
    expect(response.status).toBe(200);
    const text = response.body!.toString();
    expect(text.match(/#EXT-X-PART:/g)).toHaveLength(3);
    expect(response.headers['cache-control']).toBe('public, max-age=6');
    expect(response.headers['content-type']).toBe('application/vnd.apple.mpegurl');
    expect(response.headers['access-control-allow-origin']).toBe('*');
  });

  it('_HLS_msn alone waits for the whole segment; a part index past the segment is met by the next segment', async () => {
    const { writer, router, init, fragments, rendition } = setup();
    writer.push(init);
    const whole = track(callRoute(router, '/hls/live/180p/index.m3u8?_HLS_msn=0'));
    const pastEnd = track(callRoute(router, '/hls/live/180p/index.m3u8?_HLS_msn=0&_HLS_part=9'));
    for (const fragment of fragments) {
      writer.push(fragment);
      await settle();
      expect(whole.done).toBe(rendition.lastCompleteMsn === 0);
      // Segment 0 ends with fewer than 10 parts; part 9 of it never exists, so the first part
      // of segment 1 answers.
      expect(pastEnd.done).toBe(rendition.lastPosition?.msn === 1);
      if (pastEnd.done) break;
    }
    expect(whole.done).toBe(true);
    expect(pastEnd.done).toBe(true);
  });

  it('answers at once when the part already exists', async () => {
    const { writer, router, init, fragments } = setup();
    writer.push(init);
    for (const fragment of fragments.slice(0, 60)) writer.push(fragment);
    const response = ok(await callRoute(router, '/hls/live/180p/index.m3u8?_HLS_msn=0&_HLS_part=0'));
    expect(response.status).toBe(200);
  });

  it('times out with 503 after the blocking timeout', async () => {
    const { writer, router, init, fragments, packager } = setup({ blockingTimeoutSec: 0.15 });
    writer.push(init);
    for (const fragment of fragments.slice(0, 10)) writer.push(fragment);
    const started = performance.now();
    const error = failed(await callRoute(router, '/hls/live/180p/index.m3u8?_HLS_msn=1&_HLS_part=0'));
    const waited = performance.now() - started;
    expect(error.code).toBe('unavailable');
    expect(error.status).toBe(503);
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(1000);
    expect(packager.getStats().waiters).toBe(0);
  });

  it('the default timeout is three target durations', () => {
    const { packager, rendition } = setup();
    expect(packager.blockingTimeoutMs(rendition)).toBe(3000);
  });

  it.each([
    ['msn more than two past the last segment', '_HLS_msn=3', 'bad_request'],
    ['part beyond the Advance Part Limit (3 / 0.2 s = 15 parts)', '_HLS_msn=0&_HLS_part=17', 'bad_request'],
    ['part of the next segment beyond the limit', '_HLS_msn=1&_HLS_part=15', 'bad_request'],
    ['_HLS_part without _HLS_msn', '_HLS_part=1', 'bad_request'],
    ['a negative msn', '_HLS_msn=-1', 'bad_request'],
    ['a non-number', '_HLS_msn=abc', 'bad_request'],
  ])('%s → 400 at once', async (_name, query, code) => {
    const { writer, router, init, fragments } = setup();
    writer.push(init);
    for (const fragment of fragments.slice(0, 20)) writer.push(fragment); // last position: msn 0, part 0
    const error = failed(await callRoute(router, `/hls/live/180p/index.m3u8?${query}`));
    expect(error.code).toBe(code);
    expect(error.status).toBe(400);
  });

  it('within the limits is not refused', async () => {
    const { writer, router, init, fragments, packager, rendition } = setup({ blockingTimeoutSec: 0.05 });
    writer.push(init);
    for (const fragment of fragments.slice(0, 20)) writer.push(fragment);
    expect(rendition.lastPosition).toEqual({ msn: 0, part: 0 });
    for (const query of ['_HLS_msn=2', '_HLS_msn=0&_HLS_part=14', '_HLS_msn=1&_HLS_part=14']) {
      expect(failed(await callRoute(router, `/hls/live/180p/index.m3u8?${query}`)).code).toBe('unavailable');
    }
    expect(packager.getStats().waiters).toBe(0);
  });

  it('end() wakes blocked requests with an ENDLIST playlist', async () => {
    const { writer, router, init, fragments, packager } = setup();
    writer.push(init);
    for (const fragment of fragments.slice(0, 10)) writer.push(fragment);
    const pending = track(callRoute(router, '/hls/live/180p/index.m3u8?_HLS_msn=1&_HLS_part=0'));
    await settle();
    expect(pending.done).toBe(false);
    packager.end();
    await settle();
    expect(pending.done).toBe(true);
    const text = ok(pending.value!).body!.toString();
    expect(text.trimEnd().split('\n').at(-1)).toBe('#EXT-X-ENDLIST');
  });

  it('a client that goes away releases its waiter', async () => {
    const { writer, router, init, packager } = setup();
    writer.push(init);
    const controller = new AbortController();
    const pending = track(callRoute(router, '/hls/live/180p/index.m3u8?_HLS_msn=0&_HLS_part=1', { abort: controller.signal }));
    await settle();
    expect(packager.getStats().waiters).toBe(1);
    controller.abort();
    await settle();
    expect(packager.getStats().waiters).toBe(0);
    expect(pending.done).toBe(true);
  });
});

describe('files and preload hints', () => {
  it('the hinted part blocks until it is written, then returns its bytes', async () => {
    const { writer, router, init, fragments, rendition, packager } = setup();
    writer.push(init);
    for (const fragment of fragments.slice(0, 20)) writer.push(fragment);
    const playlist = ok(await callRoute(router, '/hls/live/180p/index.m3u8')).body!.toString();
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(playlist)![1]!;
    expect(hint).toBe(`part-${packager.epoch}-${rendition.nextPartSequence}.m4s`);
    const pending = track(callRoute(router, `/hls/live/180p/${hint}`));
    const seq = rendition.nextPartSequence;
    for (const fragment of fragments.slice(20)) {
      writer.push(fragment);
      await settle();
      expect(pending.done).toBe(rendition.nextPartSequence > seq);
      if (pending.done) break;
    }
    const response = ok(pending.value!);
    expect(response.headers['content-type']).toBe('video/mp4');
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(response.body!.equals(rendition.findPart(seq)!.data)).toBe(true);
    expect(response.body!.toString('latin1', 4, 8)).toBe('moof');
  });

  it('a hinted part that the end of the stream makes impossible gets 404', async () => {
    const { writer, router, init, fragments, rendition, packager } = setup();
    writer.push(init);
    for (const fragment of fragments.slice(0, 3)) writer.push(fragment);
    packager.end(); // flushes the open part; the hint after it will never be written
    const error = failed(await callRoute(router, `/hls/live/180p/part-${packager.epoch}-${rendition.nextPartSequence}.m4s`));
    expect(error.code).toBe('not_found');
  });

  it('a segment in progress blocks until complete; init, segment and multivariant are served', async () => {
    const { writer, other, router, init, fragments, packager } = setup();
    writer.push(init);
    other.push(init);
    const multivariant = track(callRoute(router, '/hls/live/index.m3u8'));
    for (const fragment of fragments.slice(0, 5)) writer.push(fragment);
    await settle();
    expect(multivariant.done).toBe(true);
    const text = ok(multivariant.value!).body!.toString();
    expect(text).toContain('#EXT-X-STREAM-INF:BANDWIDTH=200000,CODECS="avc1.42c00c,mp4a.40.2",RESOLUTION=160x90,FRAME-RATE=30.000\n180p/index.m3u8\n');
    expect(text).toContain('\n90p/index.m3u8\n');

    const segment = track(callRoute(router, `/hls/live/180p/seg-${packager.epoch}-0.m4s`));
    await settle();
    expect(segment.done).toBe(false);
    for (const fragment of fragments.slice(5)) writer.push(fragment);
    await settle();
    const body = ok(segment.value!).body!;
    expect(body.toString('latin1', 4, 8)).toBe('moof');

    const initResponse = ok(await callRoute(router, `/hls/live/180p/init-${packager.epoch}-0.mp4`));
    expect(initResponse.body!.equals(init)).toBe(true);
    expect(initResponse.headers['cache-control']).toContain('immutable');
    const alias = ok(await callRoute(router, '/hls/live/180p/init.mp4'));
    expect(alias.body!.equals(init)).toBe(true);
    expect(alias.headers['cache-control']).toBe('no-cache');
  });

  it.each([
    ['/hls/nope/index.m3u8', 'stream_not_found'],
    ['/hls/nope/180p/index.m3u8', 'stream_not_found'],
    ['/hls/live/1080p/index.m3u8', 'not_found'],
    ['/hls/live/180p/seg-wrongepoch-0.m4s', 'not_found'],
    ['/hls/live/180p/seg-EPOCH-999.m4s', 'not_found'],
    ['/hls/live/180p/part-EPOCH-0.m4s', 'not_found'],
    ['/hls/live/180p/init-EPOCH-7.mp4', 'not_found'],
    ['/hls/live/180p/secret.txt', 'not_found'],
    ['/hls/live/180p/init-EPOCH-0.m4s', 'not_found'],
  ])('%s → %s', async (path, code) => {
    const { writer, router, init, fragments, packager } = setup({ windowSegments: 1, extraSegments: 0 });
    writer.push(init);
    for (const fragment of fragments) writer.push(fragment);
    packager.end(); // segment 0 (and part 0) leave the window
    const error = failed(await callRoute(router, path.replace('EPOCH', packager.epoch)));
    expect(error.code).toBe(code);
    expect(error.status).toBe(404);
  });

  it('a playlist request before any media waits for the first part', async () => {
    const { writer, router, init, fragments } = setup();
    const pending = track(callRoute(router, '/hls/live/180p/index.m3u8'));
    writer.push(init);
    await settle();
    expect(pending.done).toBe(false);
    for (const fragment of fragments.slice(0, 20)) writer.push(fragment);
    await settle();
    expect(ok(pending.value!).body!.toString()).toContain('#EXT-X-PART:');
  });

  it('unregister and close: the stream is gone', async () => {
    const origin = new HlsOrigin();
    const router = new Router();
    origin.routes(router);
    const packager = new HlsPackager({ stream: 'x', dir: '/nonexistent', writeToDisk: false, log: silentLog });
    packager.addRendition({ id: 'v', bandwidth: 1 });
    origin.register(packager);
    const pending = track(callRoute(router, '/hls/x/v/index.m3u8'));
    packager.close();
    packager.close(); // safe twice
    await settle();
    expect(failed(pending.value!).code).toBe('stream_not_found');
    origin.unregister('x');
    expect(failed(await callRoute(router, '/hls/x/index.m3u8')).code).toBe('stream_not_found');
  });
});

describe('HlsOrigin registry', () => {
  it('unregister with a stale packager does not remove its replacement', async () => {
    const origin = new HlsOrigin();
    const router = new Router();
    origin.routes(router);
    const make = () => new HlsPackager({ stream: 'x', dir: '/nonexistent', writeToDisk: false, log: silentLog });
    const old = make();
    const replacement = make();
    origin.register(old);
    origin.register(replacement);
    origin.unregister('x', old);
    expect(origin.get('x')).toBe(replacement);
    origin.unregister('x');
    expect(origin.get('x')).toBeUndefined();
  });
});

describe('HLS viewers', () => {
  it('media playlists, parts and segments count their client once per stream; the multivariant playlist and init do not', async () => {
    const { writer, other, router, init, fragments, packager, origin } = setup({}, { adminToken: ADMIN });
    for (const w of [writer, other]) {
      w.push(init);
      for (const fragment of fragments) w.push(fragment);
    }
    const chrome = { 'user-agent': 'Chrome' };
    const viaSite = (address: string) => ({ ...chrome, 'x-forwarded-for': address, [SITE_PROXY_HEADER]: siteProxyToken(ADMIN) });
    ok(await callRoute(router, '/hls/live/index.m3u8', { headers: chrome }));
    ok(await callRoute(router, `/hls/live/180p/init-${packager.epoch}-0.mp4`, { headers: chrome }));
    expect(origin.viewers.count('live')).toBe(0);
    // Two browsers behind the site's /hls proxy (loopback, X-Forwarded-For and its proof), one direct.
    ok(await callRoute(router, '/hls/live/180p/index.m3u8', { headers: viaSite('203.0.113.1') }));
    ok(await callRoute(router, `/hls/live/180p/part-${packager.epoch}-0.m4s`, { headers: viaSite('203.0.113.1') }));
    ok(await callRoute(router, `/hls/live/90p/index.m3u8`, { headers: viaSite('203.0.113.2') }));
    ok(await callRoute(router, `/hls/live/180p/seg-${packager.epoch}-0.m4s`, { headers: chrome, remoteAddress: '198.51.100.9' }));
    // A direct client cannot pose as someone else.
    ok(await callRoute(router, '/hls/live/180p/index.m3u8', { headers: { ...chrome, 'x-forwarded-for': '203.0.113.77' }, remoteAddress: '198.51.100.9' }));
    expect(origin.viewers.count('live')).toBe(3);
    expect(origin.viewers.counts()).toEqual({ live: 3 });
    // Unknown streams are not counted.
    failed(await callRoute(router, '/hls/nope/180p/index.m3u8', { headers: chrome }));
    expect(origin.viewers.counts()).toEqual({ live: 3 });
  });

  it('counts a loopback client that rotates X-Forwarded-For without the proof as one viewer (300 requests)', async () => {
    const { writer, router, init, fragments, origin } = setup({}, { adminToken: ADMIN });
    writer.push(init);
    for (const fragment of fragments) writer.push(fragment);
    for (let i = 0; i < 300; i++) ok(await callRoute(router, '/hls/live/180p/index.m3u8', { headers: { 'user-agent': 'curl', 'x-forwarded-for': `198.51.100.${i % 250}` } }));
    expect(origin.viewers.count('live')).toBe(1);
  });

  it('uses the counter it is given (window on its clock)', () => {
    let now = 0;
    const viewers = new ViewerCounter({ now: () => now });
    const origin = new HlsOrigin({ viewers });
    viewers.hit('x', 'a');
    expect(origin.viewers.count('x')).toBe(1);
    now += viewers.windowMs;
    expect(origin.viewers.count('x')).toBe(0);
  });
});

describe('a rendition removed while players wait on it (the audio of a publisher that stopped sending any)', () => {
  it('answers the blocked playlist reload, part and new requests with 404, never an EXT-X-ENDLIST playlist', async () => {
    const { packager, router } = setup();
    const audio = packager.addRendition({ id: 'audio', bandwidth: 128_000, role: 'audio', channels: 2 });
    const { init, fragments } = splitFile(fixture('audio-only.mp4'));
    audio.push(init);
    for (const fragment of fragments.slice(0, 3)) audio.push(fragment);
    const rendition = packager.rendition('audio')!;
    const last = rendition.lastPosition!;
    const reload = track(callRoute(router, `/hls/live/audio/index.m3u8?_HLS_msn=${last.msn}&_HLS_part=${last.part + 1}`));
    const part = track(callRoute(router, `/hls/live/audio/part-${packager.epoch}-${rendition.nextPartSequence + 1}.m4s`));
    await settle();
    expect(reload.done).toBe(false);
    expect(part.done).toBe(false);
    packager.removeRendition('audio');
    await settle();
    expect(reload.done && part.done).toBe(true);
    expect(failed(reload.value!).code).toBe('not_found');
    expect(failed(part.value!).code).toBe('not_found');
    expect(failed(await callRoute(router, '/hls/live/audio/index.m3u8')).code).toBe('not_found');
  });
});
