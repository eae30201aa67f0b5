/**
 * What the ingest does with the ICE candidates a client hands it, in the offer or trickled by
 * PATCH (RFC 8840), on both WebRTC stacks: publishers (werift) and WHEP viewers (libdatachannel,
 * ONAIR_VIEWER_ENGINE=datachannel); the default viewer engine, ICE-lite werift, sends none.
 * The proof is on the wire: candidates point at loopback sockets that count the STUN Binding
 * requests (ICE checks) the ingest sends them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdsFor, pollUntil } from '../../../test/support/poll';
import { loopbackIce, startWeriftH264Publisher, waitGathered, type WeriftH264Publisher } from '../../../test/support/peers/werift-h264-publisher';
import { startStunSink, type StunSink } from '../../../test/support/stun-sink';
import { createIngest, type Ingest } from './app';
import { loadIngestConfig } from './config';

let ingest: Ingest;
let base: string;
let dataDir: string;
let streamKey: string;
let publisher: WeriftH264Publisher;
const pcs: RTCPeerConnection[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'onair-ingest-candidates-'));
  const config = loadIngestConfig({ ONAIR_DATA_DIR: dataDir, ONAIR_INGEST_PORT: '0', ONAIR_WEBTRANSPORT_PORT: 'off', ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_ADMIN_TOKEN: 'test-admin-token-0123456789', ONAIR_VIEWER_ENGINE: 'datachannel' });
  ingest = await createIngest(config, pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' }));
  base = `http://127.0.0.1:${(await ingest.listen()).port}`;
  await ingest.store.create('live');
  streamKey = (await ingest.store.create('other')).streamKey;
  publisher = await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey: (await ingest.store.findByName('live'))!.streamKey });
  await publisher.connected;
});

afterAll(async () => {
  await Promise.all(pcs.map((pc) => pc.close()));
  await publisher?.stop({ delete: true });
  await ingest?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** A real werift offer (H.264 + opus) that is never completed; its own candidates are taken out. */
async function makeOffer(direction: 'sendonly' | 'recvonly'): Promise<string> {
  const pc = new RTCPeerConnection({
    codecs: {
      video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }], parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' })],
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
    },
    ...loopbackIce,
  });
  pcs.push(pc);
  pc.addTransceiver('video', { direction });
  pc.addTransceiver('audio', { direction });
  await pc.setLocalDescription(await pc.createOffer());
  await waitGathered(pc);
  // A client that trickles sends neither its candidates nor a=end-of-candidates in the offer.
  return pc.localDescription!.sdp.replace(/^a=(candidate:.*|end-of-candidates)\r?\n/gm, '');
}

/** POSTs an offer to WHIP (werift) or WHEP (libdatachannel); returns the session resource. */
async function openSession(kind: 'whip' | 'whep'): Promise<{ location: string; ufrag: string }> {
  const offer = await makeOffer(kind === 'whip' ? 'sendonly' : 'recvonly');
  const res = await fetch(`${base}${kind === 'whip' ? '/whip' : '/whep/live'}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', ...(kind === 'whip' ? { Authorization: `Bearer ${streamKey}` } : {}) },
    body: offer,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return { location: res.headers.get('location')!, ufrag: /a=ice-ufrag:(\S+)/.exec(offer)![1]! };
}

function patch(location: string, lines: string[]): Promise<Response> {
  return fetch(`${base}${location}`, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' }, body: `${lines.join('\r\n')}\r\n` });
}

const engines = [
  { kind: 'whip' as const, engine: 'werift (publisher)' },
  { kind: 'whep' as const, engine: 'libdatachannel (viewer)' },
];

describe('trickled candidates (RFC 8840 PATCH)', () => {
  let sink: StunSink;
  beforeAll(async () => {
    sink = await startStunSink(4);
  });
  afterAll(() => sink.close());

  // RFC 8866 §5.13: what the ingest does not understand is ignored, the rest applied. A bare
  // `a=` (a WHEP client's rendering of Firefox's end of candidates) cost the valid candidates
  // beside it a 400.
  it.each(engines.map((e, i) => ({ ...e, index: i })))('$engine: an empty and an unknown attribute do not cost the candidates beside them', async ({ kind, index }) => {
    const { location, ufrag } = await openSession(kind);
    const [first, second] = [sink.ports[index * 2]!, sink.ports[index * 2 + 1]!];
    const res = await patch(location, [
      `a=ice-ufrag:${ufrag}`,
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'a=mid:0',
      `a=candidate:1 1 udp 2130706431 127.0.0.1 ${first} typ host`,
      'a=',
      'a=x-unknown-attribute:1',
      `a=candidate:2 1 udp 2130706430 127.0.0.1 ${second} typ host`,
      'a=end-of-candidates',
    ]);
    expect(res.status, await res.text()).toBe(204);
    await pollUntil('ICE checks at both trickled candidates', () => sink.requests(first) > 0 && sink.requests(second) > 0, { timeoutMs: 5_000 });
  });
});

describe('malformed trickled candidates', () => {
  // libdatachannel threw on an 18-digit priority and the PATCH answered 500 with a stack trace
  // in the log: the candidate grammar (RFC 8839 §5.1, priority ≤ 2^31 − 1 by RFC 8445 §5.1.2.1)
  // is checked before any stack sees it.
  it.each(engines)('$engine: an 18-digit priority → 400 invalid_ice_fragment', async ({ kind }) => {
    const { location } = await openSession(kind);
    const res = await patch(location, ['m=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:0', 'a=candidate:1 1 udp 123456789012345678 127.0.0.1 9 typ host']);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { code: string; detail: string })).toMatchObject({ code: 'invalid_ice_fragment', detail: expect.stringMatching(/priority/) });
  });
});

describe('where the ingest sends ICE checks', () => {
  // The attack from the review: one anonymous offer listing 30 candidates of the client's choosing
  // made the ingest send STUN to all 30 (150 packets: a reflector and port prober). Here the 30
  // targets are loopback sockets, which this loopback ingest may reach; the cap must hold anyway.
  it.each(engines)('$engine: a 4 KB offer with 30 candidates reaches at most 10 targets', async ({ kind }) => {
    const sink = await startStunSink(30);
    try {
      const offer = (await makeOffer(kind === 'whip' ? 'sendonly' : 'recvonly')).replace(
        /^(a=mid:0\r?\n)/m,
        (mid) => mid + sink.ports.map((port, i) => `a=candidate:${i + 1} 1 udp ${2130706431 - i} 127.0.0.1 ${port} typ host generation 0 ufrag abcd network-id ${i + 1} network-cost 10\r\n`).join(''),
      );
      expect(Buffer.byteLength(offer)).toBeGreaterThan(4_000);
      const res = await fetch(`${base}${kind === 'whip' ? '/whip' : '/whep/live'}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', ...(kind === 'whip' ? { Authorization: `Bearer ${streamKey}` } : {}) },
        body: offer,
      });
      expect(res.status).toBe(201);
      await pollUntil('the first checks', () => sink.targetsHit() >= 10, { timeoutMs: 5_000 });
      // A measurement window: checks retransmit for seconds; every target hit in it counts.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      console.log(`[ice checks] ${kind}: ${Buffer.byteLength(offer)} B offer, 30 candidates → ${sink.targetsHit()} targets, ${sink.totalRequests()} STUN requests`);
      expect(sink.targetsHit()).toBe(10);
      await fetch(`${base}${res.headers.get('location')}`, { method: 'DELETE' });
    } finally {
      await sink.close();
    }
  });
});

describe('the default viewer engine (ICE-lite werift)', () => {
  it('sends no ICE check to the candidates of a WHEP offer: the player checks, the ingest answers', async () => {
    const liteDir = await mkdtemp(join(tmpdir(), 'onair-ingest-lite-'));
    const lite = await createIngest(loadIngestConfig({ ONAIR_DATA_DIR: liteDir, ONAIR_INGEST_PORT: '0', ONAIR_WEBTRANSPORT_PORT: 'off', ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_ADMIN_TOKEN: 'test-admin-token-0123456789', ONAIR_VIEWER_ENGINE: 'werift' }), pino({ level: 'silent' }));
    const sink = await startStunSink(10);
    const cleanups: Array<() => Promise<unknown>> = [];
    try {
      const liteBase = `http://127.0.0.1:${(await lite.listen()).port}`;
      const litePublisher = await startWeriftH264Publisher({ whipUrl: `${liteBase}/whip`, streamKey: (await lite.store.create('live')).streamKey });
      cleanups.push(() => litePublisher.stop({ delete: true }));
      await litePublisher.connected;
      const offer = (await makeOffer('recvonly')).replace(/^(a=mid:0\r?\n)/m, (mid) => mid + sink.ports.map((port, i) => `a=candidate:${i + 1} 1 udp ${2130706431 - i} 127.0.0.1 ${port} typ host\r\n`).join(''));
      const res = await fetch(`${liteBase}/whep/live`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
      expect(res.status).toBe(201);
      expect(await res.text()).toMatch(/^a=ice-lite\r?$/m);
      // A full agent checks at once (the libdatachannel cases above see theirs within 5 s).
      await holdsFor(() => expect(sink.totalRequests()).toBe(0), { forMs: 2_000 });
    } finally {
      for (const cleanup of cleanups) await cleanup().catch(() => undefined);
      await sink.close();
      await lite.close();
      await rm(liteDir, { recursive: true, force: true });
    }
  });
});
