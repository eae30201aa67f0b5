/**
 * WHIP/WHEP resource semantics and bad input against a real ingest: status codes and stable
 * problem codes, headers (Location, ETag, Link, Accept-Patch, CORS), PATCH trickle / ICE restart
 * / If-Match, DELETE, and cleanup of sessions that never connect. The server must keep serving.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../test/support/poll';
import { loopbackIce, startWeriftH264Publisher, waitGathered } from '../../../test/support/peers/werift-h264-publisher';
import { startWeriftWhepViewer } from '../../../test/support/peers/werift-whep-viewer';
import { chromeSimulcastOffer, obsSimulcastOffer } from '@onair/shared/fixtures/sdp-offers';
import { parseSdp } from '@onair/shared/sdp';
import { createIngest, type Ingest } from './app';
import { loadIngestConfig } from './config';

let ingest: Ingest;
let base: string;
let dataDir: string;
let streamKey: string;
let offer: string;
const pcs: RTCPeerConnection[] = [];

/** A real offer (werift, H.264 + opus, sendonly) that is never completed. */
async function makeOffer(): Promise<string> {
  const pc = new RTCPeerConnection({
    codecs: {
      video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }], parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' })],
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
    },
    ...loopbackIce,
  });
  pcs.push(pc);
  pc.addTransceiver('video', { direction: 'sendonly' });
  pc.addTransceiver('audio', { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await waitGathered(pc);
  return pc.localDescription!.sdp;
}

async function startIngest(connectTimeoutMs = 15_000) {
  const config = loadIngestConfig({
    ONAIR_DATA_DIR: dataDir,
    ONAIR_INGEST_PORT: '0',
    ONAIR_WEBTRANSPORT_PORT: 'off',
    ONAIR_ICE_HOSTS: '127.0.0.1',
    ONAIR_ICE_PORT_RANGE: '47100-47199',
    ONAIR_ADMIN_TOKEN: 'test-admin-token-0123456789',
    ONAIR_ICE_SERVERS: JSON.stringify([{ urls: 'stun:stun.example.org:3478' }, { urls: ['turn:turn.example.org:3478?transport=udp'], username: 'u"ser', credential: 'secret' }]),
  });
  config.limits.connectTimeoutMs = connectTimeoutMs;
  const app = await createIngest(config, pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' }));
  const address = await app.listen();
  return { app, base: `http://127.0.0.1:${address.port}` };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'onair-ingest-http-'));
  ({ app: ingest, base } = await startIngest(1_500));
  streamKey = (await ingest.store.create('demo')).streamKey;
  await ingest.store.create('idle');
  offer = await makeOffer();
});

afterAll(async () => {
  await Promise.all(pcs.map((pc) => pc.close()));
  await ingest?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function post(path: string, body: string, headers: Record<string, string>) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, problem: res.headers.get('content-type')?.includes('problem+json') ? (JSON.parse(text) as { code: string; detail: string; accepted?: string[] }) : undefined };
}

const whip = (body: string, headers: Record<string, string> = {}) => post('/whip', body, { 'Content-Type': 'application/sdp', Authorization: `Bearer ${streamKey}`, ...headers });

describe('WHIP bad input', () => {
  const noCodec = () => offer.replace(/H264\/90000/g, 'AV1/90000').replace(/opus\/48000\/2/g, 'G722/8000');
  const cases: Array<{ name: string; send: () => ReturnType<typeof whip>; status: number; code: string; detail?: RegExp }> = [
    { name: 'no Authorization', send: () => post('/whip', offer, { 'Content-Type': 'application/sdp' }), status: 401, code: 'missing_credentials' },
    { name: 'malformed Authorization', send: () => whip(offer, { Authorization: 'Basic abc' }), status: 401, code: 'missing_credentials' },
    { name: 'wrong stream key', send: () => whip(offer, { Authorization: 'Bearer sk_wrong' }), status: 403, code: 'invalid_stream_key' },
    { name: 'wrong content type', send: () => whip(offer, { 'Content-Type': 'application/json' }), status: 415, code: 'unsupported_media_type' },
    { name: 'SDP over the size limit', send: () => whip(offer + `a=x-pad:${'x'.repeat(40_000)}\r\n`), status: 413, code: 'sdp_too_large' },
    { name: 'not SDP', send: () => whip('hello'), status: 400, code: 'invalid_sdp', detail: /v=0/ },
    { name: 'no m-lines', send: () => whip(`v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 ${Array(32).fill('AB').join(':')}\r\n`), status: 400, code: 'invalid_sdp', detail: /no audio or video m-line/ },
    { name: 'a fingerprint too short for sha-256', send: () => whip(offer.replace(/a=fingerprint:sha-256 \S+/g, 'a=fingerprint:sha-256 AB:CD')), status: 400, code: 'invalid_sdp', detail: /malformed fingerprint/ },
    { name: 'bad fmtp', send: () => whip(offer.replace(/a=fmtp:(\d+) /, 'a=fmtp:x$1 ')), status: 400, code: 'invalid_sdp', detail: /malformed fmtp/ },
    { name: 'no supported codec', send: () => whip(noCodec()), status: 406, code: 'no_supported_codec', detail: /H264.*VP8.*opus/ },
  ];
  it.each(cases)('$name → $status $code', async ({ send, status, code, detail }) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.problem?.code).toBe(code);
    if (detail) expect(res.problem?.detail).toMatch(detail);
  });

  it('lists the accepted codecs in the 406 problem', async () => {
    const res = await whip(noCodec());
    expect(res.problem?.accepted).toEqual(expect.arrayContaining(['VP8', 'opus/48000/2']));
  });

  it('answers OPTIONS with the allowed methods and CORS headers', async () => {
    const res = await fetch(`${base}/whip`, { method: 'OPTIONS', headers: { Origin: 'https://example.org', 'Access-Control-Request-Method': 'POST' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('allow')).toContain('POST');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')).toMatch(/If-Match/);
  });

  it('answers GET /whip with 405', async () => {
    const res = await fetch(`${base}/whip`);
    expect(res.status).toBe(405);
  });
});

describe('WHEP bad input', () => {
  it.each([
    { name: 'unknown stream', path: '/whep/nope', status: 404, code: 'stream_not_found' },
    { name: 'stream not live', path: '/whep/idle', status: 404, code: 'stream_offline' },
  ])('$name → $status $code', async ({ path, status, code }) => {
    const res = await post(path, offer.replaceAll('a=sendonly', 'a=recvonly'), { 'Content-Type': 'application/sdp' });
    expect(res.status).toBe(status);
    expect(res.problem?.code).toBe(code);
  });
  it('wrong content type → 415', async () => {
    const res = await post('/whep/demo', 'x', { 'Content-Type': 'text/plain' });
    expect(res.problem?.code).toBe('unsupported_media_type');
  });
});

describe('crafted requests', () => {
  // Each answered with a clear 4xx problem, never a 500 or a stack trace (the 18-digit candidate
  // priority is in remote-candidates.int.test.ts).
  const raw = (method: string, path: string) =>
    new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: Number(new URL(base).port), method, path }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
      });
      req.on('error', reject);
      req.end();
    });
  it.each([
    ['TRACE /whip', 'TRACE', '/whip', 405, 'method_not_allowed'],
    ['POST /whep/%E0%A4%A (broken percent-encoding)', 'POST', '/whep/%E0%A4%A', 400, 'bad_request'],
    ['DELETE /whep/sessions/%zz', 'DELETE', '/whep/sessions/%zz', 400, 'bad_request'],
  ])('%s → %i %s', async (_name, method, path, status, code) => {
    const res = await raw(method, path);
    expect(res.status).toBe(status);
    expect(res.type).toBe('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ code });
  });
});

// OBS 32.1 stops when the answer's a=simulcast takes fewer layers than it offered: every one must be there.
describe('simulcast offers', () => {
  it.each([
    ['Chrome sendEncodings', chromeSimulcastOffer, ['f', 'h', 'q']],
    ['OBS 32.1', obsSimulcastOffer, ['0', '1', '2']],
  ])('%s: 201, and the answer receives every layer by rid with the rtp-stream-id extension', async (_name, simulcastOffer, rids) => {
    const res = await whip(simulcastOffer);
    expect(res.status, res.text).toBe(201);
    const video = parseSdp(res.text).media.find((m) => m.kind === 'video')!;
    expect(video.simulcast).toEqual({ send: [], recv: rids.map((id) => ({ rids: [{ id, paused: false }] })) });
    expect(video.rids.map((rid) => `${rid.id} ${rid.direction}`)).toEqual(rids.map((id) => `${id} recv`));
    expect(video.extensions.map((e) => e.uri)).toContain('urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id');
    expect((await fetch(`${base}${res.headers.get('location')}`, { method: 'DELETE' })).status).toBe(200);
  });

  it('OBS with five layers → 400 invalid_sdp that says the limit, not an answer with fewer', async () => {
    const five = obsSimulcastOffer.replace('a=rid:2 send\r\n', 'a=rid:2 send\r\na=rid:3 send\r\na=rid:4 send\r\n').replace('a=simulcast:send 0;1;2', 'a=simulcast:send 0;1;2;3;4');
    const res = await whip(five);
    expect(res.status).toBe(400);
    const problem = JSON.parse(res.text) as { code: string; detail: string };
    expect(problem.code).toBe('invalid_sdp');
    expect(problem.detail).toMatch(/5 simulcast layers; onair receives at most 4/);
  });
});

describe('session resource', () => {
  let location: string;
  let etag: string;

  it('201 with answer, Location, ETag, Accept-Patch, ICE server Links and exposed headers', async () => {
    const res = await whip(offer);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/sdp');
    expect(res.text).toMatch(/^v=0/);
    expect(res.text).toContain('a=candidate:');
    // Only the configured ICE host is advertised (werift would add every interface otherwise).
    const candidates = res.text.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
    expect(candidates.length).toBeGreaterThan(0);
    expect(candidates.every((l) => l.split(' ')[4] === '127.0.0.1')).toBe(true);
    // …on a port from the configured range.
    expect(candidates.every((l) => Number(l.split(' ')[5]) >= 47100 && Number(l.split(' ')[5]) <= 47199)).toBe(true);
    location = res.headers.get('location')!;
    etag = res.headers.get('etag')!;
    expect(location).toMatch(/^\/whip\/sessions\/[0-9a-f-]{36}$/);
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    expect(res.headers.get('accept-patch')).toBe('application/trickle-ice-sdpfrag');
    expect(res.headers.get('link')).toBe('<stun:stun.example.org:3478>; rel="ice-server", <turn:turn.example.org:3478?transport=udp>; rel="ice-server"; username="u\\"ser"; credential="secret"; credential-type="password"');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/Location.*ETag.*Link/);
  });

  const patch = (body: string, headers: Record<string, string> = {}) => fetch(`${base}${location}`, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', ...headers }, body });
  const ufrag = () => /a=ice-ufrag:(\S+)/.exec(offer)![1];
  const fragment = (u: string) => `a=ice-ufrag:${u}\r\na=ice-pwd:0123456789abcdef01234567\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n`;

  it('PATCH with a trickle candidate → 204', async () => {
    const res = await patch(fragment(ufrag()!), { 'If-Match': etag });
    expect(res.status).toBe(204);
  });
  it.each<{ name: string; body: () => string; headers: Record<string, string>; status: number; code: string }>([
    { name: 'If-Match mismatch', body: () => fragment(ufrag()!), headers: { 'If-Match': '"nope"' }, status: 412, code: 'etag_mismatch' },
    { name: 'ICE restart (new ufrag)', body: () => fragment('newufrag'), headers: { 'If-Match': '*' }, status: 422, code: 'ice_restart_unsupported' },
    { name: 'malformed fragment', body: () => 'v=0\r\n', headers: {}, status: 400, code: 'invalid_ice_fragment' },
    { name: 'wrong content type', body: () => fragment(ufrag()!), headers: { 'Content-Type': 'application/sdp' }, status: 415, code: 'unsupported_media_type' },
  ])('PATCH $name → $status $code', async ({ body, headers, status, code }) => {
    const res = await patch(body(), headers);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { code: string }).code).toBe(code);
  });
  it('PATCH / DELETE of an unknown session → 404 session_not_found', async () => {
    for (const method of ['PATCH', 'DELETE']) {
      const res = await fetch(`${base}/whip/sessions/00000000-0000-0000-0000-000000000000`, { method, headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' }, body: method === 'PATCH' ? 'a=end-of-candidates\r\n' : undefined });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe('session_not_found');
    }
  });
  it('a WHIP session id is not a WHEP resource', async () => {
    const res = await fetch(`${base}${location.replace('/whip/', '/whep/')}`, { method: 'DELETE' });
    expect(res.status).toBe(404);
  });
  it('DELETE → 200, then 404', async () => {
    expect((await fetch(`${base}${location}`, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`${base}${location}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('a session whose ICE never completes is cleaned up after connectTimeoutMs', async () => {
    const res = await whip(await makeOffer());
    expect(res.status).toBe(201);
    const resource = res.headers.get('location')!;
    const started = Date.now();
    // Probe with a harmless PATCH (end of candidates): 204 while the session exists, 404 after.
    const probe = () => fetch(`${base}${resource}`, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' }, body: 'a=end-of-candidates\r\n' });
    expect((await probe()).status).toBe(204);
    await pollUntil('the unconnected session to be gone', async () => (await probe()).status === 404, { timeoutMs: 5_000, intervalMs: 200 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    await pollUntil('no stream router left', () => ingest.media.getStats().streams === 0, { timeoutMs: 2_000 });
  });
});

describe('after all that bad input', () => {
  it('the server still publishes and plays', async () => {
    const publisher = await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey });
    try {
      await publisher.connected;
      const viewer = await startWeriftWhepViewer({ whepUrl: `${base}/whep/demo` });
      try {
        await pollUntil('a keyframe at the viewer', () => viewer.firstKeyframeAt(), { timeoutMs: 8_000 });
      } finally {
        await viewer.close();
      }
    } finally {
      await publisher.stop({ delete: true });
    }
  });
});
