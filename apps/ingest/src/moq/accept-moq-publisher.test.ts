/**
 * The MoQ ingest end to end, in one process: a real @moq/lite publisher (as <moq-publish> lays
 * out a hang broadcast) on one side of an in-memory WebTransport pair, acceptMoqPublisher on the
 * other, real x264 access units and Opus-shaped packets in between.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeControlDatagram } from '@onair/shared/moq-control';
import { depacketizeAccessUnits, readAccessUnits } from '../../../../test/support/moq/h264-stream';
import { HangPublisher } from '../../../../test/support/moq/hang-publisher';
import { createWebTransportPair, type WebTransportPair } from '../../../../test/support/moq/in-memory-webtransport';
import { pollUntil } from '../../../../test/support/poll';
import type { InboundRtp } from '../webrtc/engine';
import { acceptMoqPublisher, selectMoqProtocol } from './accept-moq-publisher';
import { MoqIngestError } from './moq-ingest-error';
import { encodeQuicVarint } from './quic-varint';
import type { MoqPublisherOptions, MoqPublisherPeer } from './moq-publisher-peer';

const units = readAccessUnits(new URL('./fixtures/x264-high-320x180.h264', import.meta.url));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const FRAME_US = 33_333;
const START_US = 1_700_000_000_000_000; // <moq-publish> stamps frames with wall-clock µs
const video = { renditions: { 'video/hd': { codec: 'avc1.640028', container: { kind: 'legacy' }, codedWidth: 320, codedHeight: 180, framerate: 30 } } };
const audio = { renditions: { 'audio/data': { codec: 'opus', container: { kind: 'legacy' }, sampleRate: 48000, numberOfChannels: 2 } } };
/** A 20 ms CELT Opus packet whose second byte numbers it. */
const opusPacket = (n: number) => Uint8Array.of(0xfc, n & 0xff, 0x55, 0xaa);

function logCapture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

interface Setup {
  pair: WebTransportPair;
  publisher: HangPublisher;
  accepted: Promise<MoqPublisherPeer>;
  lines: Array<Record<string, unknown>>;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function start(options: Partial<MoqPublisherOptions> = {}, protocol = 'moq-lite-04'): Promise<Setup> {
  const pair = createWebTransportPair(protocol);
  const { log, lines } = logCapture();
  const accepted = acceptMoqPublisher(pair.server, new URL('https://127.0.0.1:8443/moq?key=sk_secret'), { log, setupTimeoutMs: 5000, trackSettleMs: 200, ...options });
  accepted.catch(() => {});
  const publisher = await HangPublisher.connect(pair.client);
  cleanups.push(() => {
    publisher.close();
    void accepted.then((peer) => peer.close(), () => {});
  });
  return { pair, publisher, accepted, lines };
}

/** Publishes like <moq-publish>: catalog snapshots {} → video → video + audio, then media. */
async function publishAv(publisher: HangPublisher, extra: Record<string, unknown> = {}): Promise<void> {
  publisher.setCatalog({});
  await publisher.subscribed('catalog.json');
  publisher.setCatalog({ video, ...extra });
  await publisher.subscribed('video/hd');
  publisher.setCatalog({ video, audio, ...extra });
  await publisher.subscribed('audio/data');
}

/** Frame `i` of the fixture (looping), and the audio packets up to its time. */
function writeFrame(publisher: HangPublisher, i: number, audioSent: { n: number }): void {
  const unit = units[i % units.length]!;
  const at = START_US + i * FRAME_US;
  publisher.writeVideo('video/hd', at, unit.annexB, unit.keyframe);
  for (; START_US + audioSent.n * 20_000 <= at; audioSent.n += 1) publisher.writeAudio('audio/data', START_US + audioSent.n * 20_000, opusPacket(audioSent.n));
}

// Media paced frame by frame, on a 2-core machine shared with other work: room beyond vitest's 5 s.
describe('acceptMoqPublisher', { timeout: 30_000 }, () => {
  it('turns a hang broadcast into RTP: identical NAL units, 90/48 kHz timestamps from the µs clock, codecs from the SPS', async () => {
    const { publisher, accepted, lines } = await start();
    await publishAv(publisher);
    const audioSent = { n: 0 };
    for (let i = 0; i < 6; i += 1) writeFrame(publisher, i, audioSent);
    const peer = await accepted;
    expect(peer.state).toBe('connected');
    expect(peer.codecs).toEqual({
      // The catalog said avc1.640028 (level 4.0); the SPS says level 3.1.
      video: { kind: 'video', name: 'H264', clockRate: 90_000, payloadType: 96, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f' },
      audio: { kind: 'audio', name: 'opus', clockRate: 48_000, channels: 2, payloadType: 111, fmtp: 'minptime=10;useinbandfec=1' },
    });
    const packets: InboundRtp[] = [];
    peer.onRtp((packet) => packets.push(packet));
    await pollUntil('the first GOP', () => peer.getStats().tracks.video!.frames === 6, { timeoutMs: 10_000, intervalMs: 1 });
    // Frame by frame, as a camera paces them: a burst of whole GOPs would race moq-lite's group
    // streams, and an older group's tail is dropped once a newer group has started (by design).
    for (let i = 6; i < 24; i += 1) {
      writeFrame(publisher, i, audioSent);
      await pollUntil(`frame ${i}`, () => peer.getStats().tracks.video!.frames === i + 1, { timeoutMs: 10_000, intervalMs: 1 });
    }
    const videoPackets = () => packets.filter((p) => p.kind === 'video');
    await pollUntil('24 access units', () => videoPackets().filter((p) => p.marker).length === 24, { timeoutMs: 10_000, intervalMs: 5 });

    // The first keyframe was kept for the first listener: the stream starts decodable.
    const received = depacketizeAccessUnits(videoPackets());
    expect(received).toEqual(Array.from({ length: 24 }, (_, i) => units[i % 12]!.nals.map(toHex)));
    expect(videoPackets()[0]!.payload[0]! & 0x1f).toBe(24);
    const vts = [...new Set(videoPackets().map((p) => p.timestamp))];
    vts.forEach((ts, i) => expect((ts - vts[0]! + 2 ** 32) % 2 ** 32).toBe(Math.round(i * FRAME_US * 0.09)));
    const seqs = packets.filter((p) => p.kind === 'video').map((p) => p.sequenceNumber);
    seqs.forEach((seq, i) => expect(seq).toBe((seqs[0]! + i) % 65_536));
    expect(new Set(videoPackets().map((p) => p.ssrc)).size).toBe(1);
    for (const packet of videoPackets()) expect(packet.payload.length).toBeLessThanOrEqual(1200);

    const audioPackets = packets.filter((p) => p.kind === 'audio');
    expect(audioPackets.length).toBeGreaterThan(30);
    audioPackets.forEach((p, i) => {
      expect((p.timestamp - audioPackets[0]!.timestamp + 2 ** 32) % 2 ** 32).toBe((p.payload[1]! - audioPackets[0]!.payload[1]! + 256) % 256 * 960);
      expect(p.sequenceNumber).toBe((audioPackets[0]!.sequenceNumber + i) % 65_536);
      expect(p).toMatchObject({ payloadType: 111, size: 12 + 4 });
    });
    const stats = peer.getStats();
    expect(stats).toMatchObject({ state: 'connected', moqVersion: 'moq-lite-04', wtProtocol: 'moq-lite-04', broadcast: 'onair/test.hang', controlVersion: 0 });
    // Snapshots sent in a burst collapse to the latest (the snapshot track's semantics): at least {video} and {video, audio}.
    expect(stats.catalogUpdates).toBeGreaterThanOrEqual(2);
    expect(stats.tracks.video).toMatchObject({ name: 'video/hd', codec: 'avc1.640028', frames: 24, groups: 4, keyframes: 4, dropped: {}, ended: null });
    expect(stats.tracks.audio).toMatchObject({ name: 'audio/data', codec: 'opus', frames: audioSent.n, ended: null });
    expect(stats.setupMs).toBeGreaterThanOrEqual(0);
    // Paced media never fills the session's group buffer.
    expect(stats.groupBuffer).toMatchObject({ heldBytes: 0, waits: 0 });
    // The library's console noise went to the session's logger, the key stayed out of its URL.
    expect(lines.some((line) => line.lib === '@moq/lite')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('sk_secret');
    expect(lines.find((line) => line.msg === 'MoQ publisher connected')).toMatchObject({ video: { profileLevelId: '64001f', width: 320, height: 180 } });
  });

  it.each(['moq-lite-03', ''])('speaks wt-protocol %j too', async (protocol) => {
    const { publisher, accepted } = await start({}, protocol);
    await publishAv(publisher);
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    expect(peer.getStats().moqVersion).toMatch(/^moq-lite-0[23]$/);
  });

  it('sends keyframe requests as datagrams to a publisher that advertises the back channel, rate-limited', async () => {
    let now = 1000;
    const { pair, publisher, accepted } = await start({ now: () => now, keyframeRequestIntervalMs: 500 });
    await publishAv(publisher, { onair: { control: 1 } });
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    const received: unknown[] = [];
    const reader = pair.client.datagrams.readable.getReader();
    void (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) received.push(decodeControlDatagram(r.value));
    })();
    peer.requestKeyframe();
    peer.requestKeyframe();
    now += 499;
    peer.requestKeyframe();
    now += 1;
    peer.requestKeyframe();
    await pollUntil('two datagrams', () => received.length === 2, { timeoutMs: 10_000, intervalMs: 5 });
    expect(received).toEqual([
      { type: 'keyframe-request', version: 1, request: 1 },
      { type: 'keyframe-request', version: 1, request: 2 },
    ]);
    expect(peer.getStats().keyframeRequests).toEqual({ sent: 2, rateLimited: 2, unsupported: 0 });
  });

  it('by default lets the router\'s own pace through: requests 300 ms apart (its minimum after an answered one) each send a datagram', async () => {
    let now = 1000;
    const { pair, publisher, accepted } = await start({ now: () => now });
    await publishAv(publisher, { onair: { control: 1 } });
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    const received: unknown[] = [];
    const reader = pair.client.datagrams.readable.getReader();
    void (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) received.push(decodeControlDatagram(r.value));
    })();
    peer.requestKeyframe(); // the transcoder's forward
    now += 300;
    peer.requestKeyframe(); // a viewer joining after that keyframe
    await pollUntil('two datagrams', () => received.length === 2, { timeoutMs: 10_000, intervalMs: 5 });
    expect(peer.getStats().keyframeRequests).toEqual({ sent: 2, rateLimited: 0, unsupported: 0 });
  });

  it('sends no datagram to a third-party publisher (no onair section in its catalog)', async () => {
    const { pair, publisher, accepted } = await start();
    await publishAv(publisher);
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    peer.requestKeyframe();
    peer.requestKeyframe();
    expect(pair.server.sentDatagrams).toEqual([]);
    expect(peer.getStats().keyframeRequests).toEqual({ sent: 0, rateLimited: 0, unsupported: 2 });
  });

  it.each([
    ['the publisher closes the session', (s: Setup) => s.pair.client.close({ closeCode: 0, reason: 'bye' }), 'publisher_closed'],
    ["the publisher's tab goes away (connection lost)", (s: Setup) => s.pair.abort('tab closed'), 'publisher_closed'],
    ['the publisher stops announcing the broadcast', (s: Setup) => s.publisher.unpublish(), 'broadcast_ended'],
  ])('ends the peer when %s', async (_name, end, reason) => {
    const setup = await start();
    await publishAv(setup.publisher);
    writeFrame(setup.publisher, 0, { n: 0 });
    const peer = await setup.accepted;
    const states: string[] = [];
    peer.on('state', (state) => states.push(state));
    end(setup);
    await pollUntil('the peer closed', () => peer.state === 'closed', { timeoutMs: 10_000, intervalMs: 5 });
    expect(states).toEqual(['closed']);
    expect(peer.getStats().closeReason).toBe(reason);
  });

  it('closes the session when closed by the server, and the publisher sees why', async () => {
    const { pair, publisher, accepted } = await start();
    await publishAv(publisher);
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    await peer.close();
    await peer.close();
    expect(peer.state).toBe('closed');
    await expect(pair.client.closed).resolves.toEqual({ closeCode: 0, reason: 'closed_by_server' });
  });

  it('passes the session\'s close reason on: a publisher taken over from hears "replaced"', async () => {
    const { pair, publisher, accepted } = await start();
    await publishAv(publisher);
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    await peer.close('replaced');
    await expect(pair.client.closed).resolves.toEqual({ closeCode: 0, reason: 'replaced' });
  });

  it('tells onair\'s page it was replaced and lets it close the session itself: no media forwarded meanwhile, the reason kept', async () => {
    const { pair, publisher, accepted } = await start();
    await publishAv(publisher, { onair: { control: 2 } });
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    const forwarded: InboundRtp[] = [];
    peer.onRtp((packet) => forwarded.push(packet));
    await peer.close('replaced');
    expect(pair.server.sentDatagrams.map((d) => decodeControlDatagram(d))).toContainEqual({ type: 'session-end', version: 1, reason: 'replaced' });
    expect(peer.state).toBe('connected');
    const before = forwarded.length;
    writeFrame(publisher, 1, { n: 1 });
    pair.client.close({ closeCode: 0, reason: 'closed by the broadcaster' });
    await pollUntil('the peer closed', () => peer.state === 'closed', { timeoutMs: 10_000, intervalMs: 5 });
    expect(forwarded.length).toBe(before);
    expect(peer.getStats().closeReason).toBe('replaced');
  });

  it('closes the session itself when a notified page does not within the grace period', async () => {
    const { pair, publisher, accepted } = await start();
    await publishAv(publisher, { onair: { control: 2 } });
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    const asked = Date.now();
    await peer.close('replaced');
    await expect(pair.client.closed).resolves.toEqual({ closeCode: 0, reason: 'replaced' });
    expect(Date.now() - asked).toBeGreaterThanOrEqual(900);
    expect(peer.getStats().closeReason).toBe('replaced');
  });

  it('ends the video track on a broken frame, and the session with it', async () => {
    const { publisher, accepted, lines } = await start();
    await publishAv(publisher);
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    publisher.writeRaw('video/hd', Uint8Array.of(0x05, 0x41, 0x9a), false); // a payload without a start code
    await pollUntil('the peer closed', () => peer.state === 'closed', { timeoutMs: 10_000, intervalMs: 5 });
    expect(peer.getStats()).toMatchObject({ closeReason: 'video_track_ended', tracks: { video: { ended: 'not_annex_b' } } });
    expect(lines.find((line) => line.msg === 'MoQ track ended')).toMatchObject({ level: 40, track: 'video/hd', reason: 'not_annex_b' });
  });

  it('ends only the audio track on a broken Opus packet; video goes on', async () => {
    const { publisher, accepted } = await start();
    await publishAv(publisher);
    const audioSent = { n: 0 };
    writeFrame(publisher, 0, audioSent);
    const peer = await accepted;
    const packets: InboundRtp[] = [];
    peer.onRtp((packet) => packets.push(packet));
    publisher.writeAudio('audio/data', START_US + 40_000, Uint8Array.of(0xff, 0x00)); // code 3, zero frames
    await pollUntil('the audio track ended', () => peer.getStats().tracks.audio?.ended === 'invalid_opus', { timeoutMs: 10_000, intervalMs: 5 });
    for (let i = 1; i < 4; i += 1) writeFrame(publisher, i, { n: 1000 });
    await pollUntil('video after the audio ended', () => packets.filter((p) => p.kind === 'video' && p.marker).length === 4, { timeoutMs: 10_000, intervalMs: 5 });
    expect(peer.state).toBe('connected');
  });

  it('a listener that throws ends the session (backlog) or the track (live), not the process', async () => {
    const { publisher, accepted, lines } = await start();
    await publishAv(publisher);
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    peer.onRtp(() => {
      throw new Error('a bug downstream');
    });
    await pollUntil('the peer closed', () => peer.state === 'closed', { timeoutMs: 10_000, intervalMs: 5 });
    expect(peer.getStats().closeReason).toBe('internal_error');
    expect(lines.find((line) => line.msg === 'MoQ publisher failed inside the ingest')).toMatchObject({ level: 50 });

    const live = await start();
    await publishAv(live.publisher);
    writeFrame(live.publisher, 0, { n: 0 });
    const second = await live.accepted;
    let calls = 0;
    second.onRtp(() => {
      calls += 1;
      if (calls > 20) throw new Error('a bug downstream');
    });
    for (let i = 1; i < 12 && second.state !== 'closed'; i += 1) {
      writeFrame(live.publisher, i, { n: 1000 });
      await pollUntil(`frame ${i} or the end`, () => second.state === 'closed' || second.getStats().tracks.video!.frames === i + 1, { timeoutMs: 10_000, intervalMs: 1 });
    }
    await pollUntil('the peer closed', () => second.state === 'closed', { timeoutMs: 10_000, intervalMs: 5 });
    expect(second.getStats().tracks.video?.ended).toBe('internal_error');
  });

  it('ends the video track on a frame over the size cap', async () => {
    const { publisher, accepted } = await start({ limits: { maxVideoFrameBytes: 8000 } });
    await publishAv(publisher);
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    publisher.writeVideo('video/hd', START_US + FRAME_US, new Uint8Array(8001).fill(1), false);
    await pollUntil('the peer closed', () => peer.state === 'closed', { timeoutMs: 10_000, intervalMs: 5 });
    expect(peer.getStats().tracks.video?.ended).toBe('frame_too_large');
  });

  it('survives a publisher that resets the streams the ingest opens (no unhandled rejection)', async () => {
    const { pair, publisher, accepted } = await start();
    publisher.setCatalog({ video });
    await publisher.subscribed('catalog.json');
    // The catalog subscription went through; the video subscription will be reset as it opens.
    pair.resetServerStreams();
    publisher.setCatalog({ video, audio });
    const error = await accepted.then(
      () => undefined,
      (e: unknown) => e as MoqIngestError,
    );
    expect(error).toMatchObject({ code: 'moq_track_failed', message: expect.stringMatching(/video track video\/hd: track_error/) });
  });

  it('refuses a group whose frame is over every cap before holding it; the next group plays', async () => {
    const { publisher, accepted, lines } = await start({ limits: { maxVideoFrameBytes: 8000, maxCatalogBytes: 16_000 } });
    await publishAv(publisher);
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    const packets: InboundRtp[] = [];
    peer.onRtp((packet) => packets.push(packet));
    publisher.writeVideo('video/hd', START_US + FRAME_US, new Uint8Array(100_000).fill(1), true);
    await pollUntil('the group refused', () => peer.getStats().refusedStreams === 1, { timeoutMs: 10_000, intervalMs: 5 });
    for (let i = 6; i < 8; i += 1) {
      writeFrame(publisher, i, { n: 1000 });
      await pollUntil(`frame ${i}`, () => packets.filter((p) => p.kind === 'video' && p.marker).length === i - 4, { timeoutMs: 10_000, intervalMs: 1 });
    }
    expect(peer.state).toBe('connected');
    expect(lines.find((line) => line.msg === 'MoQ stream refused')).toMatchObject({ level: 40, detail: expect.stringMatching(/100\d{3}-byte frame, more than 16008/) });
  });

  it('goes live with video alone when no audio appears within trackSettleMs', async () => {
    const { publisher, accepted } = await start({ trackSettleMs: 100 });
    publisher.setCatalog({ video });
    await publisher.subscribed('video/hd');
    writeFrame(publisher, 0, { n: 0 });
    const peer = await accepted;
    expect(Object.keys(peer.codecs)).toEqual(['video']);
  });

  describe('refuses, with a reason the publisher is told', () => {
    async function refused(setup: Setup): Promise<MoqIngestError> {
      const error = await setup.accepted.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MoqIngestError);
      const info = await setup.pair.client.closed;
      expect(info.reason).toContain((error as MoqIngestError).code);
      return error as MoqIngestError;
    }

    it('a catalog with nothing onair can forward (VP9, AAC)', async () => {
      const setup = await start({ setupTimeoutMs: 300 });
      setup.publisher.setCatalog({
        video: { renditions: { v: { codec: 'vp09.00.10.08', container: { kind: 'legacy' } } } },
        audio: { renditions: { a: { codec: 'mp4a.40.2', sampleRate: 48000, numberOfChannels: 2 } } },
      });
      const error = await refused(setup);
      expect(error.code).toBe('moq_setup_timeout');
      expect(error.message).toMatch(/names no H.264 or Opus track .*v: codec vp09.00.10.08 \(onair forwards H.264\); a: codec mp4a.40.2/);
    });

    it('video without a keyframe', async () => {
      const setup = await start({ setupTimeoutMs: 400 });
      setup.publisher.setCatalog({ video });
      await setup.publisher.subscribed('video/hd');
      for (let i = 1; i < 6; i += 1) setup.publisher.writeVideo('video/hd', START_US + i * FRAME_US, units[i]!.annexB, i === 1);
      const error = await refused(setup);
      expect(error.code).toBe('moq_setup_timeout');
      expect(error.message).toMatch(/no keyframe with a readable SPS on video\/hd \(5 frames read\)/);
    });

    it('an invalid catalog', async () => {
      const setup = await start();
      setup.publisher.setCatalog({ video: { renditions: { v: { codec: 7 } } } });
      const error = await refused(setup);
      expect(error.code).toBe('moq_catalog_invalid');
      expect(error.message).toMatch(/video\.renditions\.v\.codec/);
    });

    it('an SPS past the size bound', async () => {
      const setup = await start({ limits: { sps: { maxDimension: 256 } } });
      setup.publisher.setCatalog({ video });
      await setup.publisher.subscribed('video/hd');
      writeFrame(setup.publisher, 0, { n: 0 });
      const error = await refused(setup);
      expect(error.code).toBe('moq_track_failed');
      expect(error.message).toMatch(/invalid_sps/);
    });

    it('no broadcast announced in time', async () => {
      const pair = createWebTransportPair();
      const { log } = logCapture();
      const accepted = acceptMoqPublisher(pair.server, new URL('https://127.0.0.1/moq'), { log, setupTimeoutMs: 200 });
      const error = await refused({ pair, accepted } as Setup);
      expect(error.code).toBe('moq_setup_timeout');
      expect(error.message).toMatch(/handshake|no broadcast/);
    });

    /** No library on the publisher's side: every stream the ingest opens (probe, announcements) gets `answer(write)`. */
    function hostileAnswers(pair: WebTransportPair, answer: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>): void {
      void (async () => {
        const reader = pair.client.incomingBidirectionalStreams.getReader();
        for (let next = await reader.read(); !next.done; next = await reader.read()) {
          const writer = next.value.writable.getWriter();
          void answer((bytes) => writer.write(bytes)).catch(() => {});
        }
      })();
    }

    it('a control message too large to read (a hostile publisher), at once instead of a minute of blocked event loop', async () => {
      const pair = createWebTransportPair();
      const { log, lines } = logCapture();
      const accepted = acceptMoqPublisher(pair.server, new URL('https://127.0.0.1/moq?key=sk_secret'), { log });
      const started = performance.now();
      hostileAnswers(pair, (write) => write(Buffer.concat([encodeQuicVarint(4 << 20), new Uint8Array(4 << 20)])));
      const error = await refused({ pair, accepted } as Setup);
      expect(error.code).toBe('moq_control_message_too_large');
      expect(error.message).toMatch(/^a 4194304-byte control message on the (probe|announce) stream the ingest opened, more than 65536$/);
      expect(performance.now() - started).toBeLessThan(5000);
      const refusal = lines.find((line) => line.msg === 'MoQ publish session refused');
      expect(refusal).toMatchObject({ level: 40, code: 'moq_control_message_too_large' });
      expect(refusal).not.toHaveProperty('err'); // no stack: bad input is not a bug
      expect(JSON.stringify(lines)).not.toContain('sk_secret');
    });

    it('a control message over the cap sent slowly, within the byte budget: refused at its size prefix (before: the library read all 1.5 MiB sent and the session waited for its setup deadline)', async () => {
      const pair = createWebTransportPair();
      const { log } = logCapture();
      // Each packet (1200 bytes) a second after the last, as the ingest's clock sees it: far below
      // the budget's 64 KiB/s, so the rate alone never stops it.
      let clock = 0;
      const accepted = acceptMoqPublisher(pair.server, new URL('https://127.0.0.1/moq'), { log, now: () => (clock += 1000), setupTimeoutMs: 3000 });
      hostileAnswers(pair, async (write) => {
        await write(encodeQuicVarint(2 << 20));
        for (let i = 0; i < 32; i += 1) await write(new Uint8Array(48 * 1024).fill(0x40));
      });
      const error = await refused({ pair, accepted } as Setup);
      expect(error.code).toBe('moq_control_message_too_large');
      expect(error.message).toMatch(/2097152-byte control message/);
    });

    it('the publisher leaving during setup', async () => {
      const setup = await start();
      setup.publisher.setCatalog({ video });
      await setup.publisher.subscribed('video/hd');
      setup.pair.client.close({ closeCode: 0, reason: 'changed my mind' });
      const error = await setup.accepted.then(
        () => undefined,
        (e: unknown) => e as MoqIngestError,
      );
      expect(error).toMatchObject({ code: 'moq_session_closed', message: expect.stringMatching(/changed my mind/) });
    });
  });
});

describe('selectMoqProtocol', () => {
  it.each([
    [['moq-lite-04', 'moq-lite-03', 'moql', 'moqt-19', 'moqt-17'], 'moq-lite-04'], // Chromium with <moq-publish> (spike)
    [['moqt-17', 'moq-lite-03'], 'moq-lite-03'],
    [['moqt-17', 'moqt-16'], undefined],
    [[], undefined],
  ])('%j → %s', (offered, expected) => {
    expect(selectMoqProtocol(offered)).toBe(expected);
  });
});
