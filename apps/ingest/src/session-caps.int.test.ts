/**
 * What one stranger can make the ingest hold, with its default limits: 2 500 anonymous WHEP
 * offers that never did ICE all got 201 (1 759 UDP sockets at once, memory 155 → 476 MiB).
 * Pending sessions and session POSTs are capped per client address (429 too_many_requests with
 * Retry-After), ONAIR_MAX_VIEWERS caps viewers (503), forwarded headers count only from
 * ONAIR_TRUSTED_PROXIES or the site's own proxy (its proof), and the log names the client.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SITE_PROXY_HEADER, siteProxyToken } from '@onair/service/site-proxy';
import { pollUntil } from '../../../test/support/poll';
import { loopbackIce, startWeriftH264Publisher, waitGathered } from '../../../test/support/peers/werift-h264-publisher';
import { startWeriftWhepViewer } from '../../../test/support/peers/werift-whep-viewer';
import { createIngest, type Ingest } from './app';
import { loadIngestConfig } from './config';

const ADMIN_TOKEN = 'test-admin-token-0123456789';
/** ONAIR_MAX_PENDING_PER_CLIENT's default. */
const PENDING_PER_CLIENT = 20;
const cleanups: Array<() => Promise<unknown>> = [];
const logLines: Array<Record<string, unknown>> = [];
let offer: string;

async function start(env: Record<string, string> = {}): Promise<{ ingest: Ingest; base: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'onair-ingest-caps-'));
  const config = loadIngestConfig({ ONAIR_DATA_DIR: dataDir, ONAIR_INGEST_PORT: '0', ONAIR_WEBTRANSPORT_PORT: 'off', ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_ADMIN_TOKEN: ADMIN_TOKEN, ...env });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const ingest = await createIngest(config, pino({ level: 'info' }, sink));
  const base = `http://127.0.0.1:${(await ingest.listen()).port}`;
  cleanups.push(async () => {
    await ingest.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const record = await ingest.store.create('live');
  const publisher = await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey: record.streamKey });
  cleanups.push(() => publisher.stop());
  // Generous: ffmpeg + a werift publisher per ingest on a loaded 2-core machine.
  await pollUntil('stream live', () => ingest.media.isLive(record.id), { timeoutMs: 20_000 });
  return { ingest, base };
}

beforeAll(async () => {
  const pc = new RTCPeerConnection({ codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, parameters: 'packetization-mode=1;profile-level-id=42e01f' })], audio: [] }, ...loopbackIce });
  pc.addTransceiver('video', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await waitGathered(pc);
  // Never answered: these sessions stay pending until their connect timeout.
  offer = pc.localDescription!.sdp.replace(/^a=(candidate:.*|end-of-candidates)\r?\n/gm, '');
  await pc.close();
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

const whep = (base: string, headers: Record<string, string> = {}) => fetch(`${base}/whep/live`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...headers }, body: offer });

/**
 * A WHEP POST whose offer is held back: resolves once the ingest has its headers (its 100 Continue
 * comes after the handler's synchronous start, in this same process); `send()` sends the offer.
 */
function heldWhep(base: string): Promise<{ send(): Promise<{ status: number; body: string; location?: string; retryAfter?: string }> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/whep/live`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', 'Content-Length': Buffer.byteLength(offer), Expect: '100-continue' } });
    const answer = new Promise<{ status: number; body: string; location?: string; retryAfter?: string }>((done, fail) => {
      req.once('response', (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).once('end', () => done({ status: res.statusCode!, body, location: res.headers.location, retryAfter: res.headers['retry-after'] })).once('error', fail);
      });
    });
    req.once('error', reject);
    req.once('continue', () => resolve({ send: () => (req.end(offer), answer) }));
    req.flushHeaders();
  });
}

/** UDP sockets this process holds (the ingest runs in it). */
function udpSockets(): number {
  return execFileSync('ss', ['-uanpH'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(`pid=${process.pid},`)).length;
}

describe('default limits', () => {
  it('40 anonymous WHEP offers from one address: 20 held, then 429 too_many_requests with Retry-After', async () => {
    const { base } = await start();
    const before = udpSockets();
    const statuses: number[] = [];
    let refusal: Response | undefined;
    for (let i = 0; i < 40; i += 1) {
      const res = await whep(base);
      statuses.push(res.status);
      if (res.status === 429) refusal ??= res;
      else await res.arrayBuffer();
    }
    const held = udpSockets() - before;
    console.log(`[caps] 40 never-connecting WHEP offers from one address: ${statuses.filter((s) => s === 201).length} × 201, ${statuses.filter((s) => s === 429).length} × 429; UDP sockets held: +${held}`);
    expect(statuses.filter((s) => s === 201)).toHaveLength(PENDING_PER_CLIENT);
    expect(statuses.slice(PENDING_PER_CLIENT).every((s) => s === 429)).toBe(true);
    expect(Number(refusal!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refusal!.headers.get('content-type')).toBe('application/problem+json');
    expect(((await refusal!.json()) as { code: string }).code).toBe('too_many_requests');
    expect(held).toBeLessThanOrEqual(PENDING_PER_CLIENT + 2);
    // The client address is in the log of every session and refusal.
    expect(logLines.filter((l) => l.msg === 'WHEP session created').every((l) => l.client === '127.0.0.1')).toBe(true);
    expect(logLines.some((l) => l.msg === 'session request refused' && l.client === '127.0.0.1' && l.code === 'too_many_requests')).toBe(true);
  });

  it('a rotating X-Forwarded-For from an untrusted peer changes nothing', async () => {
    const { base } = await start();
    const statuses: number[] = [];
    for (let i = 0; i < 25; i += 1) statuses.push((await whep(base, { 'X-Forwarded-For': `198.51.100.${i}` })).status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(PENDING_PER_CLIENT);
  });

  it('the site\'s own proxy (its proof) and ONAIR_TRUSTED_PROXIES are believed: each forwarded client has its own share', async () => {
    const viaSite = await start();
    const statuses: number[] = [];
    for (let i = 0; i < 25; i += 1) statuses.push((await whep(viaSite.base, { 'X-Forwarded-For': `198.51.100.${i}`, [SITE_PROXY_HEADER]: siteProxyToken(ADMIN_TOKEN) })).status);
    expect(statuses.every((s) => s === 201)).toBe(true);
    expect(logLines.some((l) => l.msg === 'WHEP session created' && l.client === '198.51.100.24')).toBe(true);
    // A wrong proof is no proof.
    const forged: number[] = [];
    for (let i = 0; i < 25; i += 1) forged.push((await whep(viaSite.base, { 'X-Forwarded-For': `203.0.113.${i}`, [SITE_PROXY_HEADER]: 'forged' })).status);
    expect(forged).toContain(429);

    const trusted = await start({ ONAIR_TRUSTED_PROXIES: 'loopback' });
    const viaProxy: number[] = [];
    for (let i = 0; i < 25; i += 1) viaProxy.push((await whep(trusted.base, { 'X-Forwarded-For': `192.0.2.${i}` })).status);
    expect(viaProxy.every((s) => s === 201)).toBe(true);
  });
});

describe('ONAIR_MAX_VIEWERS', () => {
  it('answers 503 too_many_viewers when that many are watching', async () => {
    const { base } = await start({ ONAIR_MAX_VIEWERS: '1' });
    const viewer = await startWeriftWhepViewer({ whepUrl: `${base}/whep/live`, video: ['H264'] });
    cleanups.push(() => viewer.close());
    await viewer.connected;
    const res = await whep(base);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe('too_many_viewers');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('holds under concurrent POSTs: each takes its slot before it awaits the engine, and a failed one gives it back', async () => {
    const { ingest, base } = await start({ ONAIR_MAX_VIEWERS: '3' });
    // Every POST is past its first check before any offer is read: the window in which a count
    // of sessions taken at the start let all twelve through (12 × 201 against a cap of 3).
    const held = await Promise.all(Array.from({ length: 12 }, () => heldWhep(base)));
    const answers = await Promise.all(held.map((post) => post.send()));
    const statuses = answers.map((answer) => answer.status);
    console.log(`[caps] 12 concurrent WHEP POSTs against ONAIR_MAX_VIEWERS=3: ${statuses.join(' ')}`);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    const refused = answers.filter((answer) => answer.status !== 201);
    expect(refused.map((answer) => [answer.status, (JSON.parse(answer.body) as { code: string }).code, answer.retryAfter])).toEqual(refused.map(() => [503, 'too_many_viewers', '10']));
    const record = await ingest.store.findByName('live');
    expect(ingest.media.audience(record!.id)).toBe(3);
    // Three DELETEs free three slots, and a session that fails once made (an unknown rendition) gives its slot back.
    for (const answer of answers.filter((a) => a.status === 201)) expect((await fetch(new URL(answer.location!, base), { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`${base}/whep/live?layer=nope`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer })).status).toBe(404);
    const again = await Promise.all(Array.from({ length: 4 }, () => heldWhep(base)));
    expect((await Promise.all(again.map((post) => post.send()))).map((answer) => answer.status).sort()).toEqual([201, 201, 201, 503]);
  });
});
