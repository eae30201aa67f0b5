/**
 * A working publisher is never closed for a session that has not connected, and anonymous WHEP
 * offers cannot take the media ports a publisher needs (ONAIR_ICE_PORT_RANGE). Found by attack:
 * 49 anonymous offers used a 50-port range; the next WHIP POST with the real key got 201 with no
 * candidates and the working publisher was closed as replaced — the stream went down.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../test/support/poll';
import { loopbackIce, startWeriftH264Publisher, waitGathered, type WeriftH264Publisher } from '../../../test/support/peers/werift-h264-publisher';
import { startWeriftWhepViewer } from '../../../test/support/peers/werift-whep-viewer';
import { createIngest, type Ingest } from './app';
import { loadIngestConfig } from './config';

const RANGE: [number, number] = [47300, 47319];
let ingest: Ingest;
let base: string;
let dataDir: string;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'onair-ingest-takeover-'));
  const config = loadIngestConfig({ ONAIR_DATA_DIR: dataDir, ONAIR_INGEST_PORT: '0', ONAIR_WEBTRANSPORT_PORT: 'off', ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_ICE_PORT_RANGE: RANGE.join('-'), ONAIR_ADMIN_TOKEN: 'test-admin-token-0123456789' });
  config.limits.connectTimeoutMs = 8_000;
  ingest = await createIngest(config, pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' }));
  base = `http://127.0.0.1:${(await ingest.listen()).port}`;
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await ingest?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** An offer from a peer that will never answer ICE (the POST is all there is of it). */
async function deadOffer(direction: 'sendonly' | 'recvonly'): Promise<string> {
  const pc = new RTCPeerConnection({
    codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, parameters: 'packetization-mode=1;profile-level-id=42e01f' })], audio: [] },
    ...loopbackIce,
  });
  cleanups.push(() => pc.close());
  pc.addTransceiver('video', { direction });
  await pc.setLocalDescription(await pc.createOffer());
  await waitGathered(pc);
  const sdp = pc.localDescription!.sdp.replace(/^a=(candidate:.*|end-of-candidates)\r?\n/gm, '');
  await pc.close();
  return sdp;
}

/** Publishers hold the publishers' share of the range (2 of the 20 ports): each test stops its own. */
const stopAtEnd: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const stop of stopAtEnd.splice(0).reverse()) await stop().catch(() => undefined);
});

async function livePublisher(name: string): Promise<{ id: string; key: string; publisher: WeriftH264Publisher }> {
  const record = await ingest.store.create(name);
  const publisher = await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey: record.streamKey });
  stopAtEnd.push(() => publisher.stop({ delete: true }));
  // Generous: ffmpeg + werift on a loaded 2-core machine (10 s timed out once at load average 8).
  await pollUntil('stream live', () => ingest.media.isLive(record.id), { timeoutMs: 20_000 });
  return { id: record.id, key: record.streamKey, publisher };
}

describe('publisher takeover', () => {
  it('a WHIP session with the live key that never connects leaves the working publisher alone', async () => {
    const { id, key } = await livePublisher('steady');
    const before = ingest.media.liveState(id).publisher!.sessionId;
    const viewer = await startWeriftWhepViewer({ whepUrl: `${base}/whep/steady`, video: ['H264'] });
    stopAtEnd.push(() => viewer.close({ delete: true }));
    await pollUntil('the viewer plays', () => viewer.video.length > 30, { timeoutMs: 8_000 });

    const res = await fetch(`${base}/whip`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${key}` }, body: await deadOffer('sendonly') });
    expect(res.status).toBe(201);
    const pending = res.headers.get('location')!.split('/').pop()!;
    // Until the newcomer's connect timeout (8 s here) closes it, and after.
    const received = viewer.video.length;
    await pollUntil('the newcomer closed by its connect timeout', () => {
      try {
        ingest.media.session('whip', pending);
        return false;
      } catch {
        return true;
      }
    }, { timeoutMs: 12_000, intervalMs: 200 });
    expect(ingest.media.isLive(id)).toBe(true);
    expect(ingest.media.liveState(id).publisher!.sessionId).toBe(before);
    await pollUntil('the viewer still plays', () => viewer.video.length > received + 60, { timeoutMs: 5_000 });
  });

  it('a second publisher that connects takes over (an OBS reconnect)', async () => {
    const { id, key } = await livePublisher('reconnect');
    const first = ingest.media.liveState(id).publisher!.sessionId;
    const second = await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey: key });
    stopAtEnd.push(() => second.stop({ delete: true }));
    await pollUntil('the second publisher took over', () => ingest.media.liveState(id).publisher?.sessionId !== first && ingest.media.isLive(id), { timeoutMs: 10_000 });
    // The replaced session is closed on the ingest's side (its client notices by consent expiry).
    expect(() => ingest.media.session('whip', first)).toThrow();
  });
});

describe('media ports under anonymous offers (ONAIR_ICE_PORT_RANGE 20 ports)', () => {
  it('WHEP offers exhaust only the viewers\' share: 503 then, and a publisher still gets ports and takes over', async () => {
    const { id, key } = await livePublisher('crowded');
    const statuses: number[] = [];
    // More offers than the range has ports; none of them will ever connect.
    for (let i = 0; i < 24; i += 1) {
      const res = await fetch(`${base}/whep/crowded`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: await deadOffer('recvonly') });
      statuses.push(res.status);
      if (res.status === 201) {
        const answer = await res.text();
        expect(answer, 'a 201 answer has a candidate').toMatch(/^a=candidate:/m);
      } else expect(((await res.json()) as { code: string }).code).toBe('unavailable');
    }
    console.log(`[ports] 24 anonymous WHEP offers on a 20-port range: ${statuses.filter((s) => s === 201).length} × 201, ${statuses.filter((s) => s === 503).length} × 503`);
    expect(statuses).toContain(503);
    expect(ingest.media.isLive(id)).toBe(true);

    // The broadcaster reconnects (a new WHIP session with the real key): it gets ports and goes live.
    const before = ingest.media.liveState(id).publisher!.sessionId;
    const again = await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey: key });
    stopAtEnd.push(() => again.stop({ delete: true }));
    await pollUntil('the reconnected publisher live', () => ingest.media.isLive(id) && ingest.media.liveState(id).publisher?.sessionId !== before, { timeoutMs: 10_000 });
  });
});
