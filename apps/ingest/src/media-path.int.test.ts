/**
 * The media path with real peers: werift H.264 publisher (ffmpeg RTP) and libwebrtc VP8
 * publisher (@roamhq/wrtc) over WHIP → ingest → werift WHEP viewers. Readiness by polling.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../test/support/poll';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../../../test/support/peers/werift-h264-publisher';
import { startWeriftWhepViewer, type WeriftWhepViewer } from '../../../test/support/peers/werift-whep-viewer';
import { startWrtcVp8Publisher } from '../../../test/support/peers/wrtc-vp8-publisher';
import { createIngest, type Ingest } from './app';
import { loadIngestConfig } from './config';

let ingest: Ingest;
let base: string;
let dataDir: string;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'onair-ingest-media-'));
  const config = loadIngestConfig({ ONAIR_DATA_DIR: dataDir, ONAIR_INGEST_PORT: '0', ONAIR_WEBTRANSPORT_PORT: 'off', ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_ADMIN_TOKEN: 'test-admin-token-0123456789' });
  ingest = await createIngest(config, pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' }));
  const address = await ingest.listen();
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await ingest?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function track<T extends { stop?: (o?: { delete?: boolean }) => Promise<void>; close?: (o?: { delete?: boolean }) => Promise<void> }>(peer: T): T {
  cleanups.push(() => (peer.stop ?? peer.close)!.call(peer));
  return peer;
}

/** SO_RCVBUF of the UDP socket bound to 127.0.0.1:`port`, as the kernel reports it (`ss -m`). */
async function udpReceiveBuffer(port: number): Promise<number> {
  const { stdout } = await promisify(execFile)('ss', ['-uanm', `sport = :${port}`]);
  const rb = /rb(\d+)/.exec(stdout)?.[1];
  if (!rb) throw new Error(`no UDP socket on port ${port} in: ${stdout}`);
  return Number(rb);
}

function sequenceGaps(packets: Array<{ sequenceNumber: number }>): number[] {
  const gaps: number[] = [];
  for (let i = 1; i < packets.length; i += 1) {
    const step = (packets[i]!.sequenceNumber - packets[i - 1]!.sequenceNumber + 0x10000) % 0x10000;
    if (step !== 1) gaps.push(step);
  }
  return gaps;
}

describe('WHIP H.264 (werift + ffmpeg) → WHEP (werift)', () => {
  let publisher: WeriftH264Publisher;
  let viewer: WeriftWhepViewer;
  let streamKey: string;

  it('publishes, goes live and reports live state', async () => {
    const record = await ingest.store.create('h264');
    streamKey = record.streamKey;
    publisher = track(await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey }));
    console.log(`WHIP answer: ${publisher.answerMs.toFixed(0)} ms`);
    await pollUntil('stream live', () => ingest.media.isLive(record.id), { timeoutMs: 10_000 });
    const state = await pollUntil('live state with picture size and fps', () => {
      const s = ingest.media.liveState(record.id);
      return s.video?.width && s.video.fps ? s : undefined;
    }, { timeoutMs: 10_000 });
    expect(state).toMatchObject({ live: true, publisher: { protocol: 'whip' }, video: { codec: 'H264', width: 640, height: 360 }, audio: null });
    expect(state.video!.fps).toBeGreaterThan(20);
    // The ingest bounds the publisher's rate with REMB (no TWCC, see werift-engine.ts).
    const sender = publisher.pc.getSenders()[0]!;
    await pollUntil('REMB at the publisher', () => (sender.receiverEstimatedMaxBitrate ?? 0n) > 0n, { timeoutMs: 5_000 });
    expect(sender.receiverEstimatedMaxBitrate).toBe(8_000_000n);
    expect(state.video!.bitrateKbps).toBeGreaterThan(0);
    // The ingest's media socket for this publisher asked for a larger receive buffer than
    // Linux's default (rb 212992): a keyframe burst while the ingest fans out must not overflow it.
    const port = Number(/^a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 (\d+) typ host/im.exec(publisher.pc.remoteDescription!.sdp)![1]);
    expect(await udpReceiveBuffer(port)).toBeGreaterThanOrEqual(2 * 212_992);
  });

  it('a viewer receives a keyframe first, then continuous packets', async () => {
    const started = performance.now();
    viewer = track(await startWeriftWhepViewer({ whepUrl: `${base}/whep/h264` }));
    expect(viewer.videoCodec).toBe('H264');
    expect(viewer.response.headers.get('location')).toMatch(/^\/whep\/sessions\/[0-9a-f-]{36}$/);
    await pollUntil('first keyframe at the viewer', () => viewer.firstKeyframeAt(), { timeoutMs: 5_000, intervalMs: 10 });
    console.log(`WHEP answer: ${viewer.answerMs.toFixed(0)} ms; POST → first keyframe packet: ${(viewer.firstKeyframeAt()! - started).toFixed(0)} ms`);
    expect(viewer.video[0]!.keyframe).toBe(true);
    await pollUntil('60 video packets', () => viewer.video.length >= 60, { timeoutMs: 5_000 });
    expect(sequenceGaps(viewer.video)).toEqual([]);
    expect(ingest.media.liveState((await ingest.store.findByName('h264'))!.id).viewers.whep).toBe(1);
    const stats = ingest.media.getStats();
    expect(stats).toMatchObject({ publishers: 1, viewers: 1 });
    expect(stats.packetsOut).toBeGreaterThan(0);
  });

  it('the publisher drops and a new one comes back: the same viewer session resumes with continuous sequence numbers', async () => {
    const record = (await ingest.store.findByName('h264'))!;
    await publisher.stop({ delete: true });
    await pollUntil('stream offline', () => !ingest.media.isLive(record.id), { timeoutMs: 5_000 });
    const before = viewer.video.length;
    const lastBefore = viewer.video.at(-1)!;
    publisher = track(await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey }));
    await pollUntil('video again at the same viewer', () => viewer.video.length >= before + 30, { timeoutMs: 10_000 });
    const after = viewer.video.slice(before);
    expect(after[0]!.keyframe).toBe(true);
    expect(after[0]!.sequenceNumber).toBe((lastBefore.sequenceNumber + 1) % 0x10000);
    expect(after[0]!.ssrc).toBe(lastBefore.ssrc);
    expect(sequenceGaps(viewer.video)).toEqual([]);
    expect((after[0]!.timestamp - lastBefore.timestamp + 2 ** 32) % 2 ** 32).toBeGreaterThan(0);
  });

  it('a second publisher with the same key takes over; the first WHIP session is closed', async () => {
    const first = publisher;
    const before = viewer.video.length;
    const second = track(await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey }));
    await second.connected;
    // The takeover happens when the ingest's side of the second session has connected too (a
    // newcomer that never connects replaces nothing: publisher-takeover.int.test.ts).
    const firstId = first.resourceUrl.split('/').at(-1)!;
    await pollUntil('the first WHIP session closed', () => {
      try {
        ingest.media.session('whip', firstId);
        return false;
      } catch {
        return true;
      }
    }, { timeoutMs: 5_000, intervalMs: 20 });
    const res = await fetch(first.resourceUrl, { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('session_not_found');
    await pollUntil('video from the second publisher', () => viewer.video.length >= before + 60, { timeoutMs: 10_000 });
    expect(sequenceGaps(viewer.video)).toEqual([]);
    const record = (await ingest.store.findByName('h264'))!;
    expect(ingest.media.liveState(record.id).publisher?.sessionId).toBe(second.resourceUrl.split('/').at(-1));
    publisher = second;
  });

  it('DELETE of the viewer session frees it', async () => {
    await viewer.close({ delete: true });
    const record = (await ingest.store.findByName('h264'))!;
    await pollUntil('no viewers', () => ingest.media.liveState(record.id).viewers.whep === 0, { timeoutMs: 5_000 });
  });
});

describe('WHIP VP8 (libwebrtc via @roamhq/wrtc) → WHEP (werift)', () => {
  it('the viewer receives VP8 key frames', async () => {
    const record = await ingest.store.create('vp8');
    const publisher = track(await startWrtcVp8Publisher({ whipUrl: `${base}/whip`, streamKey: record.streamKey }));
    await pollUntil('VP8 stream live', () => ingest.media.isLive(record.id), { timeoutMs: 10_000 });
    const started = performance.now();
    const viewer = track(await startWeriftWhepViewer({ whepUrl: `${base}/whep/vp8` }));
    expect(viewer.videoCodec).toBe('VP8');
    // libwebrtc sends a key frame only when asked (its natural interval is minutes): the PLI on join.
    await pollUntil('VP8 keyframe at the viewer', () => viewer.firstKeyframeAt(), { timeoutMs: 8_000, intervalMs: 10 });
    console.log(`VP8: WHEP POST → first keyframe packet: ${(viewer.firstKeyframeAt()! - started).toFixed(0)} ms`);
    expect(viewer.video[0]!.keyframe).toBe(true);
    const state = await pollUntil('VP8 picture size', () => {
      const s = ingest.media.liveState(record.id);
      return s.video?.width ? s : undefined;
    }, { timeoutMs: 5_000 });
    expect(state.video).toMatchObject({ codec: 'VP8', width: 320, height: 240 });

    // A viewer's PLI is relayed to the publisher, which answers with a key frame.
    const keyframes = () => new Set(viewer.video.filter((p) => p.keyframe).map((p) => p.timestamp)).size;
    const before = keyframes();
    await pollUntil('a key frame after the viewer\'s PLI', () => {
      viewer.requestKeyframe();
      return keyframes() > before;
    }, { timeoutMs: 5_000, intervalMs: 600 });
    await publisher.stop({ delete: true });
    await viewer.close({ delete: true });
  });
});

describe('codec change on takeover', () => {
  it('a viewer that cannot take the new publisher\'s codec is closed; new viewers get the new codec', async () => {
    const record = await ingest.store.create('switch');
    const h264 = track(await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey: record.streamKey }));
    await pollUntil('H.264 live', () => ingest.media.isLive(record.id), { timeoutMs: 10_000 });
    const h264Viewer = track(await startWeriftWhepViewer({ whepUrl: `${base}/whep/switch`, video: ['H264'] }));
    await pollUntil('H.264 keyframe', () => h264Viewer.firstKeyframeAt(), { timeoutMs: 5_000 });

    const vp8 = track(await startWrtcVp8Publisher({ whipUrl: `${base}/whip`, streamKey: record.streamKey }));
    await vp8.connected;
    await pollUntil('the H.264-only viewer session closed', async () => (await fetch(h264Viewer.resourceUrl, { method: 'DELETE' })).status === 404, { timeoutMs: 5_000 });
    expect(ingest.media.liveState(record.id).video?.codec).toBe('VP8');
    const vp8Viewer = track(await startWeriftWhepViewer({ whepUrl: `${base}/whep/switch` }));
    expect(vp8Viewer.videoCodec).toBe('VP8');
    await pollUntil('VP8 keyframe', () => vp8Viewer.firstKeyframeAt(), { timeoutMs: 5_000 });
    await h264.stop();
  });

  it('a viewer that offers only a codec the stream does not carry gets 406', async () => {
    const err = await startWeriftWhepViewer({ whepUrl: `${base}/whep/switch`, video: ['H264'] }).then(
      () => undefined,
      (error: Error & { status?: number }) => error,
    );
    expect(err?.status).toBe(406);
    expect(err?.message).toMatch(/no_supported_codec|VP8/);
  });
});
