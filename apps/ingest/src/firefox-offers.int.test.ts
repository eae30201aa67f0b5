/**
 * Firefox's own offers (packages/shared/src/fixtures/sdp-offers.ts) against a real ingest, on
 * both viewer engines. Under max-bundle Firefox offers every m-line but the first as `port 0` +
 * `a=bundle-only`: bundled, not rejected (RFC 8843 §6). The answer must take that m-line with the
 * BUNDLE port and without `a=bundle-only` (RFC 9143 §7.3), or a Firefox broadcaster's
 * microphone (WHIP: audio first, video bundle-only) or camera, and a Firefox viewer's audio
 * (WHEP: video first, audio bundle-only), are dropped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firefoxWhepOffer, firefoxWhipOffer } from '@onair/shared/fixtures/sdp-offers';
import { parseSdp } from '@onair/shared/sdp';
import { pollUntil } from '../../../test/support/poll';
import { startWrtcVp8Publisher } from '../../../test/support/peers/wrtc-vp8-publisher';
import { createIngest, type Ingest } from './app';
import { loadIngestConfig } from './config';

/** The fixtures' mDNS candidates point nowhere here: the answer is what is under test. */
const withoutCandidates = (sdp: string) => sdp.replace(/^a=candidate:.*\r\n/gm, '');

function answeredMedia(answer: string) {
  const sdp = parseSdp(answer);
  return { bundle: sdp.media.length > 0 ? sdp.bundle : [], media: sdp.media.map((m) => ({ kind: m.kind, mid: m.mid, port: m.port, direction: m.direction, bundleOnly: m.bundleOnly, codecs: m.codecs.map((c) => c.name.toLowerCase()) })) };
}

describe.each(['datachannel', 'werift'] as const)('Firefox max-bundle offers, viewers on %s', (engine) => {
  let ingest: Ingest;
  let base: string;
  let dataDir: string;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), `onair-firefox-${engine}-`));
    const config = loadIngestConfig({ ONAIR_DATA_DIR: dataDir, ONAIR_INGEST_PORT: '0', ONAIR_WEBTRANSPORT_PORT: 'off', ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_ADMIN_TOKEN: 'test-admin-token-0123456789', ONAIR_VIEWER_ENGINE: engine });
    ingest = await createIngest(config, pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' }));
    base = `http://127.0.0.1:${(await ingest.listen()).port}`;
  });

  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await ingest?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('WHIP: the microphone (first m-line) and the camera (bundle-only) are both received', async () => {
    const record = await ingest.store.create(`ff-pub-${engine}`);
    const res = await fetch(`${base}/whip`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${record.streamKey}` }, body: withoutCandidates(firefoxWhipOffer) });
    const answer = await res.text();
    expect(res.status, answer).toBe(201);
    const { bundle, media } = answeredMedia(answer);
    expect(media).toEqual([
      expect.objectContaining({ kind: 'audio', mid: '0', direction: 'recvonly', bundleOnly: false, codecs: ['opus'] }),
      expect.objectContaining({ kind: 'video', mid: '1', direction: 'recvonly', bundleOnly: false, codecs: ['vp8'] }),
    ]);
    expect(media.every((m) => m.port !== 0)).toBe(true);
    expect(bundle).toEqual(['0', '1']);
    const session = ingest.media.session('whip', res.headers.get('location')!.split('/').pop()!);
    expect(Object.keys(session.peer.codecs).sort()).toEqual(['audio', 'video']);
    session.close('test_done');
  });

  it('WHEP: a Firefox viewer gets audio on its bundle-only m-line', async () => {
    const record = await ingest.store.create(`ff-view-${engine}`);
    const publisher = await startWrtcVp8Publisher({ whipUrl: `${base}/whip`, streamKey: record.streamKey });
    cleanups.push(() => publisher.stop());
    await pollUntil('stream live', () => ingest.media.isLive(record.id), { timeoutMs: 10_000 });
    const res = await fetch(`${base}/whep/${record.name}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: withoutCandidates(firefoxWhepOffer) });
    const answer = await res.text();
    expect(res.status, answer).toBe(201);
    const { bundle, media } = answeredMedia(answer);
    expect(media).toEqual([
      expect.objectContaining({ kind: 'video', mid: '0', direction: 'sendonly', bundleOnly: false, codecs: ['vp8'] }),
      expect.objectContaining({ kind: 'audio', mid: '1', direction: 'sendonly', bundleOnly: false, codecs: ['opus'] }),
    ]);
    expect(media.every((m) => m.port !== 0)).toBe(true);
    expect(bundle).toEqual(['0', '1']);
    const session = ingest.media.session('whep', res.headers.get('location')!.split('/').pop()!);
    expect(Object.keys(session.peer.codecs).sort()).toEqual(['audio', 'video']);
    session.close('test_done');
  });
});
