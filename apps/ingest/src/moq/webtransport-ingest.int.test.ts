/**
 * The WebTransport ingest end to end over real QUIC: the ingest's discovery → a Node WebTransport
 * client (quiche, the same binding as the server) with a @moq/lite publisher in hang's layout →
 * the ingest's MoQ publisher → a werift WHEP viewer, which must receive the publisher's H.264 NAL
 * units byte for byte and its Opus. Also: the key in the CONNECT is the stream's identity, a
 * wrong one is refused with an HTTP/3 status before any media, and the publisher leaving ends
 * the stream.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webTransportDiscoverySchema } from '@onair/shared/api';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeriftWhepViewer } from '../../../../test/support/peers/werift-whep-viewer';
import { depacketizeAccessUnits, readAccessUnits } from '../../../../test/support/moq/h264-stream';
import { HangPublisher, paceAudioVideo } from '../../../../test/support/moq/hang-publisher';
import { readOggOpusPackets } from '../../../../test/support/moq/ogg-opus';
import { holdsFor, pollUntil } from '../../../../test/support/poll';
import { createIngest, type Ingest } from '../app';
import { loadIngestConfig } from '../config';
import { connectWebTransport, WebTransportConnectError, type ClientWebTransport } from '../webtransport/quiche-client';
import { encodeQuicVarint } from './quic-varint';

const ADMIN = 'test-admin-token-0123456789';
const video = readAccessUnits(new URL('./fixtures/x264-baseline-aud-320x180.h264', import.meta.url));
const audio = readOggOpusPackets(new URL('./fixtures/libopus-sine-440hz-stereo-1s.opus', import.meta.url));
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const concatBytes = (head: number[], tail: Uint8Array) => new Uint8Array(Buffer.concat([Uint8Array.from(head), tail]));

let dataDir: string;
let ingest: Ingest;
let base: string;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'onair-wt-ingest-'));
  const config = loadIngestConfig({ ONAIR_DATA_DIR: dataDir, ONAIR_INGEST_PORT: '0', ONAIR_WEBTRANSPORT_PORT: '0', ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_ADMIN_TOKEN: ADMIN });
  ingest = await createIngest(config, pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' }));
  base = `http://127.0.0.1:${(await ingest.listen()).port}`;
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await ingest?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function discover(key?: string) {
  const res = await fetch(`${base}/api/webtransport`, key ? { headers: { Authorization: `Bearer ${key}` } } : {});
  return { status: res.status, body: (await res.json()) as unknown };
}

async function connect(key: string): Promise<ClientWebTransport> {
  const { body } = await discover();
  const discovery = webTransportDiscoverySchema.parse(body);
  const url = new URL(discovery.url);
  url.searchParams.set('key', key);
  return connectWebTransport(url, { serverCertificateHashes: discovery.serverCertificateHashes.map((h) => h.value), protocols: ['moq-lite-04', 'moq-lite-03'] });
}

async function publish(key: string): Promise<{ transport: ClientWebTransport; publisher: HangPublisher; stop: () => void }> {
  const transport = await connect(key);
  const publisher = await HangPublisher.connect(transport);
  publisher.setCatalog({
    video: { renditions: { 'video/hd': { codec: 'avc1.42c00d', container: { kind: 'legacy' }, codedWidth: 320, codedHeight: 180 } } },
    audio: { renditions: { 'audio/data': { codec: 'opus', container: { kind: 'legacy' }, sampleRate: 48000, numberOfChannels: 2 } } },
  });
  const stop = paceAudioVideo(publisher, { video, audio, videoTrack: 'video/hd', audioTrack: 'audio/data' });
  const handle = { transport, publisher, stop };
  cleanups.push(() => {
    stop();
    publisher.close();
    transport.close();
  });
  return handle;
}

describe('WebTransport (Media over QUIC) publisher → ingest → WHEP viewer', () => {
  it('discovery gives the URL and the self-made certificate\'s hash; with a key, it checks the key', async () => {
    const record = await ingest.store.create('discovery');
    const open = await discover();
    expect(open.status).toBe(200);
    const body = webTransportDiscoverySchema.parse(open.body);
    expect(body.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/moq$/);
    expect(body.serverCertificateHashes).toHaveLength(1);
    expect((await discover(record.streamKey)).status).toBe(200);
    expect(await discover('sk_not-a-key')).toMatchObject({ status: 403, body: { code: 'invalid_stream_key' } });
  });

  it('a wrong or missing key is refused with an HTTP/3 status before any media', async () => {
    const refused = await connect('sk_wrong').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(WebTransportConnectError);
    expect((refused as WebTransportConnectError).status).toBe(403);
    const { body } = await discover();
    const url = webTransportDiscoverySchema.parse(body).url;
    const anonymous = await connectWebTransport(url, { serverCertificateHashes: webTransportDiscoverySchema.parse(body).serverCertificateHashes.map((h) => h.value) }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((anonymous as WebTransportConnectError).status).toBe(401);
    expect(ingest.webTransport?.getStats().server.refused).toMatchObject({ 401: 1, 403: 1 });
  });

  it('hostile sessions with a valid key (garbage streams, unknown stream types, a 4 MiB message) are dropped, closed with the reason, and the ingest keeps serving', async () => {
    const record = await ingest.store.create('hostile');
    // A publisher live on another stream all along.
    const bystander = await ingest.store.create('bystander');
    const { stop: stopBystander } = await publish(bystander.streamKey);
    await pollUntil('the bystander live', () => ingest.media.isLive(bystander.id) || undefined, { timeoutMs: 15_000 });
    const bystanderFrames = () => {
      const live = ingest.webTransport!.getStats().publishers.filter((p) => p.state === 'connected');
      expect(live).toHaveLength(1);
      return live[0]!.tracks.video?.frames ?? 0;
    };
    const hostile = async (attack: (transport: ClientWebTransport) => Promise<void>) => {
      const transport = await connect(record.streamKey);
      const closed = transport.closed.then(
        (info) => info.reason,
        (error: unknown) => String(error),
      );
      await attack(transport).catch(() => undefined);
      return Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve('still open after 15 s'), 15_000))]);
    };
    const garbage = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 131 + 7) & 0xff);
    const write = async (writable: WritableStream<Uint8Array>, bytes: Uint8Array) => {
      const writer = writable.getWriter();
      await writer.write(bytes);
      await writer.close();
    };
    // At once: streams the library refuses by itself are dropped stream by stream, and their
    // session ends at the MoQ setup deadline (10 s: nothing was announced) with the reason; a
    // control message declared over 64 KiB ends its session at its size prefix.
    const started = performance.now();
    const closedAt: number[] = [];
    const reasons = await Promise.all([
      // Random bytes where moq-lite expects its control messages (stream type 7: none of moq-lite's).
      hostile(async (t) => write((await t.createBidirectionalStream()).writable, garbage(2000))),
      // A stream type no version of moq-lite has, on a uni stream.
      hostile(async (t) => write(await t.createUnidirectionalStream(), Uint8Array.from([0x3f, 0xff, 1, 2, 3]))),
      // An announce interest announcing a 4 MiB body (moq-lite reads messages of up to 64 MiB).
      hostile(async (t) => {
        const { writable } = await t.createBidirectionalStream();
        const writer = writable.getWriter();
        await writer.write(Uint8Array.from([0x01, 0x80, 0x40, 0x00, 0x00]));
        for (let i = 0; i < 64; i++) await writer.write(garbage(64 * 1024));
      }).finally(() => closedAt.push(performance.now() - started)),
      // The same, 1 MiB declared and only 100 bytes sent: within every rate budget.
      hostile(async (t) => write((await t.createBidirectionalStream()).writable, concatBytes([0x01, 0x80, 0x10, 0x00, 0x00], garbage(100)))).finally(() => closedAt.push(performance.now() - started)),
    ]);
    expect(reasons.slice(0, 2)).toEqual([expect.stringMatching(/^moq_setup_timeout: .*no broadcast was announced/), expect.stringMatching(/^moq_setup_timeout: .*no broadcast was announced/)]);
    expect(reasons[2]).toBe("moq_control_message_too_large: a 4194304-byte control message on the publisher's announce stream, more than 65536");
    expect(reasons[3]).toBe("moq_control_message_too_large: a 1048576-byte control message on the publisher's announce stream, more than 65536");
    expect(Math.max(...closedAt)).toBeLessThan(5_000); // not the 10 s setup deadline
    expect(Object.keys(ingest.webTransport!.getStats().failed).every((code) => code.startsWith('moq_'))).toBe(true);
    expect(ingest.media.isLive(record.id)).toBe(false);

    // The bystander's frames kept coming.
    const framesAfter = bystanderFrames();
    await pollUntil('the bystander still forwarding frames', () => bystanderFrames() > framesAfter + 30 || undefined, { timeoutMs: 10_000 });
    expect(ingest.media.isLive(bystander.id)).toBe(true);
    stopBystander();

    // And a real publisher with the same key goes live afterwards.
    const { stop } = await publish(record.streamKey);
    await pollUntil('a real publisher live after the hostile ones', () => ingest.media.isLive(record.id) || undefined, { timeoutMs: 15_000 });
    stop();
  });

  it('60 group streams each sending a near-4 MiB frame that never ends: the ingest holds ≤ 8 MiB + one frame of them, QUIC pushes the rest back', { timeout: 60_000 }, async () => {
    const record = await ingest.store.create('hoarder');
    const { transport } = await publish(record.streamKey);
    await pollUntil('the hoarder live', () => ingest.media.isLive(record.id) || undefined, { timeoutMs: 15_000 });
    const FRAME = (4 << 20) - 100;
    const chunk = new Uint8Array(64 * 1024).fill(0x41);
    let accepted = 0;
    for (let i = 0; i < 60; i += 1) {
      void (async () => {
        const writer = (await transport.createUnidirectionalStream()).getWriter();
        // A group of the video subscription (the catalog's is 0, video's 1), far ahead of the real ones.
        await writer.write(concatBytes([0x00, 0x05, 0x01, 0x80, 0x10, 0x00, i], encodeQuicVarint(FRAME)));
        for (let sent = 0; sent + chunk.length < FRAME - 1024; sent += chunk.length) {
          await writer.write(chunk);
          accepted += chunk.length;
        }
      })().catch(() => {});
    }
    const groupBuffer = () => ingest.webTransport!.getStats().publishers.find((p) => p.broadcast && p.groupBuffer?.waits)?.groupBuffer;
    // Until all but one stream wait for room (or, without a bound, until all of it went in).
    await pollUntil('the attack at its most', () => accepted >= 60 * (FRAME - 1024 - chunk.length) || (groupBuffer()?.waiting ?? 0) >= 58 || undefined, { timeoutMs: 45_000 });
    console.log(`60 streams of never-ending 4 MiB frames: ${(accepted / 2 ** 20).toFixed(1)} MiB accepted by the client, ingest holding ${((groupBuffer()?.heldBytes ?? 0) / 2 ** 20).toFixed(1)} MiB`);
    // The bound, the first holder's frame, and what QUIC and the streams' queues take (4 MiB session window, 64 KiB each).
    await holdsFor(() => expect(accepted).toBeLessThan(8 * 2 ** 20 + FRAME + 4 * 2 ** 20 + 60 * 3 * 64 * 1024), { forMs: 1_000 });
    expect(groupBuffer()!.heldBytes).toBeLessThanOrEqual(8 * 2 ** 20 + FRAME + 60 * 64 * 1024);
    transport.close({ closeCode: 0, reason: 'done' });
    await pollUntil('the hoarder gone', () => !ingest.media.isLive(record.id) || undefined, { timeoutMs: 10_000 });
  });

  it('a WHEP viewer receives the publisher\'s H.264 NAL units byte for byte, and its Opus; the stream ends with the session', async () => {
    const record = await ingest.store.create('moq');
    const { transport, stop } = await publish(record.streamKey);
    await pollUntil('the WebTransport publisher live', () => ingest.media.isLive(record.id), { timeoutMs: 15_000 });
    expect(ingest.media.liveState(record.id)).toMatchObject({ live: true, publisher: { protocol: 'webtransport' }, video: { codec: 'H264' }, audio: { codec: 'opus' } });
    await pollUntil('the picture size from the SPS', () => ingest.media.liveState(record.id).video?.width ?? undefined, { timeoutMs: 5_000 });
    expect(ingest.media.liveState(record.id).video).toMatchObject({ width: 320, height: 180 });

    const viewer = await startWeriftWhepViewer({ whepUrl: `${base}/whep/moq`, video: ['H264'] });
    cleanups.push(() => viewer.close());
    await viewer.connected;
    await pollUntil('90 access units at the viewer', () => depacketizeAccessUnits(viewer.video).length >= 90 || undefined, { timeoutMs: 15_000 });
    await pollUntil('Opus at the viewer', () => viewer.audioPackets() >= 25 || undefined, { timeoutMs: 5_000 });

    // The viewer starts at a keyframe, and from there gets the fixture's access units in order,
    // NAL unit for NAL unit (access unit delimiters are left out of RTP, RFC 6184 §5.4 allows it).
    const received = depacketizeAccessUnits(viewer.video);
    expect(viewer.video[0]!.keyframe).toBe(true);
    const sent = video.map((unit) => unit.nals.filter((nal) => (nal[0]! & 0x1f) !== 9).map(hex));
    const start = sent.findIndex((nals) => nals.join() === received[0]!.join());
    expect(start).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 60; i++) expect(received[i]).toEqual(sent[(start + i) % sent.length]);
    // Continuous numbering and 90 kHz timestamps 1/30 s apart.
    for (let i = 1; i < viewer.video.length; i++) expect((viewer.video[i]!.sequenceNumber - viewer.video[i - 1]!.sequenceNumber) & 0xffff).toBe(1);
    const frameTimes = [...new Set(viewer.video.map((packet) => packet.timestamp))].slice(0, 60);
    for (let i = 1; i < frameTimes.length; i++) expect((frameTimes[i]! - frameTimes[i - 1]!) >>> 0).toBe(3000);

    stop();
    transport.close({ closeCode: 0, reason: 'the tab closed' });
    await pollUntil('the stream offline once the session ends', () => !ingest.media.isLive(record.id) || undefined, { timeoutMs: 10_000 });
  });
});
