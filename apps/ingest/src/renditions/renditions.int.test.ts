/**
 * Renditions end to end in the ingest: a transcoder's set announced over the admin API, a real
 * ffmpeg sending two H.264 renditions and Opus to the one port the ingest bound (as the
 * transcoder does), and a werift WHEP viewer that pins them one after the other through the
 * session's layer resource. What the viewer received is rebuilt into H.264 and decoded by
 * ffmpeg: one continuous RTP stream, every rendition entered at a keyframe, no decoding error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WhepLayers } from '@onair/shared/api';
import { annexBFromRtp, decodeH264 } from '../../../../test/support/h264-annexb';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../../../../test/support/peers/werift-h264-publisher';
import { startWeriftWhepViewer, type WeriftWhepViewer } from '../../../../test/support/peers/werift-whep-viewer';
import { pollUntil } from '../../../../test/support/poll';
import { createIngest, type Ingest } from '../app';
import { loadIngestConfig } from '../config';
import { serialDiff } from '../router/rtp-rewriter';

const ADMIN = 'test-admin-token-0123456789';
const LEASE_GRACE_MS = 400;
let ingest: Ingest;
let base: string;
let dataDir: string;
let stream: { id: string; name: string; streamKey: string };
let publisher: WeriftH264Publisher | undefined;
let transcoder: ChildProcess | undefined;
let lease: { close(): void } | undefined;
let viewer: WeriftWhepViewer | undefined;

interface SetAnswer {
  id: string;
  host: string;
  port: number;
  video: { payloadType: number };
  renditions: Array<{ name: string; ssrc: number }>;
  audio: { payloadType: number; ssrc: number } | null;
  sdp: string;
}

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { Authorization: `Bearer ${ADMIN}`, ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...init.headers } });

async function followEvents(owner: string, instance: string): Promise<{ close(): void }> {
  const controller = new AbortController();
  const res = await admin(`/api/events?owner=${owner}&instance=${instance}`, { signal: controller.signal });
  expect(res.status).toBe(200);
  // Read on: an unread response that nothing references is collected, and undici then closes the
  // connection — the lease ended ~3 s in, whenever the collector ran (the set died with it).
  void res.body?.pipeTo(new WritableStream()).catch(() => undefined);
  return { close: () => controller.abort() };
}

const RUNGS = [
  { name: '180p', width: 320, height: 180, videoKbps: 300, frameRate: 30 },
  { name: '90p', width: 160, height: 90, videoKbps: 150, frameRate: 30 },
];
const announce = (instance = 'main', extra: Record<string, unknown> = {}) => admin(`/api/streams/${stream.id}/renditions`, { method: 'POST', body: JSON.stringify({ instance, renditions: RUNGS, audio: true, ...extra }) });

/**
 * What the transcoder's ffmpeg does for a set: each rung encoded once to H.264 Constrained
 * Baseline with a keyframe every second, sent with the SSRC the ingest gave it, RTCP on the same
 * port; one Opus track. Bounded: it stops by itself after `seconds`.
 */
function startRenditionSender(answer: SetAnswer, seconds: number): ChildProcess {
  const url = `rtp://127.0.0.1:${answer.port}?rtcpport=${answer.port}&pkt_size=1200`;
  const args = ['-hide_banner', '-nostats', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `testsrc=size=320x180:rate=30:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=sample_rate=48000:duration=${seconds}`];
  for (const rung of answer.renditions) {
    const spec = RUNGS.find((r) => r.name === rung.name)!;
    args.push('-map', '0:v', '-vf', `scale=${spec.width}:${spec.height}`, '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '30', '-b:v', `${spec.videoKbps}k`, '-f', 'rtp', '-payload_type', String(answer.video.payloadType), '-ssrc', String(rung.ssrc), url);
  }
  args.push('-map', '1:a', '-c:a', 'libopus', '-b:a', '48k', '-f', 'rtp', '-payload_type', String(answer.audio!.payloadType), '-ssrc', String(answer.audio!.ssrc), url);
  const child = spawn('/usr/bin/ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.resume();
  return child;
}

const layer = async (method: 'GET' | 'POST', body?: unknown) => {
  const url = new URL(/<([^>]+)>; rel="urn:ietf:params:whep:ext:core:layer"/.exec(viewer!.response.headers.get('link') ?? '')![1]!, base);
  return fetch(url, { method, ...(body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }) });
};
const activeLayer = async () => ((await (await layer('GET')).json()) as WhepLayers).active;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'onair-renditions-'));
  const config = loadIngestConfig({ ONAIR_DATA_DIR: dataDir, ONAIR_INGEST_PORT: '0', ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_ADMIN_TOKEN: ADMIN, ONAIR_WEBTRANSPORT_PORT: 'off' });
  config.limits.forwardLeaseGraceMs = LEASE_GRACE_MS;
  ingest = await createIngest(config, pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' }));
  base = `http://127.0.0.1:${(await ingest.listen()).port}`;
  stream = await ingest.store.create('ladder');
  publisher = await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey: stream.streamKey, width: 640, height: 360 });
  await pollUntil('stream live', () => ingest.media.isLive(stream.id), { timeoutMs: 15_000 });
  lease = await followEvents('transcoder@test', 'main');
});

afterAll(async () => {
  transcoder?.kill('SIGKILL');
  await viewer?.close();
  lease?.close();
  await publisher?.stop();
  await ingest?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('transcoded renditions served over WHEP', () => {
  it('refuses an announcement without a lease, for an address that is not the ingest\'s, or with a reserved name', async () => {
    const noLease = await announce('nobody');
    expect(noLease.status).toBe(409);
    expect((await noLease.json()).code).toBe('forward_lease_unknown');
    const elsewhere = await announce('main', { host: '192.0.2.7' });
    expect(elsewhere.status).toBe(400);
    expect((await elsewhere.json()).code).toBe('bad_request');
    for (const renditions of [[{ ...RUNGS[0], name: 'source' }], [RUNGS[0], RUNGS[0]], [], Array.from({ length: 9 }, (_, i) => ({ ...RUNGS[0], name: `r${i}` }))]) {
      const res = await admin(`/api/streams/${stream.id}/renditions`, { method: 'POST', body: JSON.stringify({ instance: 'main', renditions }) });
      expect(res.status, JSON.stringify(renditions).slice(0, 80)).toBe(400);
      expect((await res.json()).code).toBe('invalid_body');
    }
    const offline = await ingest.store.create('quiet');
    const notLive = await admin(`/api/streams/${offline.id}/renditions`, { method: 'POST', body: JSON.stringify({ instance: 'main', renditions: RUNGS }) });
    expect(notLive.status).toBe(404);
    expect((await notLive.json()).code).toBe('stream_offline');
  });

  it('a WHEP viewer pins each rendition in turn and receives one continuous stream that decodes without an error', async () => {
    const created = await announce();
    expect(created.status).toBe(201);
    const answer = (await created.json()) as SetAnswer;
    expect(answer.host).toBe('127.0.0.1');
    expect(answer.renditions.map((r) => r.name)).toEqual(['180p', '90p']);
    expect(answer.sdp).toContain(`m=video ${answer.port} RTP/AVP 96`);
    expect(answer.sdp).toContain(`a=ssrc:${answer.renditions[1]!.ssrc} `);
    // A second set from another transcoder is refused while this one lives.
    const other = await followEvents('transcoder@elsewhere', 'other');
    const taken = await announce('other');
    expect(taken.status).toBe(409);
    expect((await taken.json()).code).toBe('renditions_in_use');
    other.close();

    transcoder = startRenditionSender(answer, 40);
    // A datagram with an SSRC the set did not hand out is dropped, not forwarded.
    const stray = createSocket('udp4');
    await new Promise<void>((resolve) => stray.send(Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 42, 0x65, 0x88]), answer.port, '127.0.0.1', () => resolve()));
    stray.close();
    const set = await pollUntil('packets of both renditions and the audio', async () => {
      const { sets } = (await (await admin(`/api/streams/${stream.id}/renditions`)).json()) as { sets: Array<{ owner: string; renditions: Array<{ name: string; packets: number; bitrateKbps: number }>; audio: { packets: number }; rejectedDatagrams: number }> };
      return sets[0]?.renditions.every((r) => r.packets > 30) && sets[0].audio.packets > 20 && sets[0].rejectedDatagrams > 0 ? sets[0] : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200 });
    expect(set.owner).toBe('transcoder@test');

    viewer = await startWeriftWhepViewer({ whepUrl: `${base}/whep/${stream.name}`, video: ['H264'] });
    await viewer.connected;
    await pollUntil('the first keyframe', () => viewer!.firstKeyframeAt() !== undefined, { timeoutMs: 10_000, intervalMs: 50 });
    const listed = (await (await layer('GET')).json()) as WhepLayers;
    expect(listed).toMatchObject({ pinned: null, active: 'source', pending: null });
    expect(listed.layers.map((l) => [l.encodingId, l.kind, l.width, l.height, l.targetKbps])).toEqual([
      ['source', 'source', 640, 360, null],
      ['180p', 'transcoded', 320, 180, 300],
      ['90p', 'transcoded', 160, 90, 150],
    ]);

    const unknown = await layer('POST', { encodingId: '1080p' });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).code).toBe('rendition_not_found');
    expect((await layer('POST', { spatialLayerId: 1 })).status).toBe(400);

    for (const target of ['180p', '90p', 'source']) {
      const before = viewer.video.length;
      const pinned = await layer('POST', target === 'source' ? {} : { mediaId: '0', encodingId: target });
      expect(pinned.status).toBe(200);
      expect(((await pinned.json()) as WhepLayers).pinned).toBe(target === 'source' ? null : target);
      await pollUntil(`the viewer on ${target}`, async () => (await activeLayer()) === target, { timeoutMs: 5_000, intervalMs: 50 });
      // A second of the new rendition before the next switch.
      await pollUntil(`${target} flowing`, () => viewer!.video.length > before + 40, { timeoutMs: 10_000, intervalMs: 50 });
      if (target === '90p') {
        const streams = (await (await admin('/api/streams')).json()) as Array<{ name: string; state: { renditions: Array<{ name: string; viewers: number }> } }>;
        expect(streams.find((s) => s.name === 'ladder')!.state.renditions.map((r) => [r.name, r.viewers])).toEqual([['source', 0], ['180p', 0], ['90p', 1]]);
        const live = (await (await fetch(`${base}/api/streams/live`)).json()) as Array<{ name: string; renditions: Array<{ name: string; viewers: number }> }>;
        expect(live.find((s) => s.name === 'ladder')!.renditions.find((r) => r.name === '90p')?.viewers).toBe(1);
        const metrics = await (await fetch(`${base}/metrics`)).text();
        expect(metrics).toMatch(/onair_ingest_rendition_viewers\{stream="ladder",rendition="90p"[^}]*\} 1\n/);
      }
    }

    const packets = [...viewer.video].sort((a, b) => serialDiff(b.sequenceNumber, a.sequenceNumber, 0x10000));
    expect(new Set(packets.map((p) => p.ssrc)).size).toBe(1);
    // Sequence numbers without a hole and timestamps that never go back: one stream to the player.
    for (let i = 1; i < packets.length; i++) {
      expect(serialDiff(packets[i - 1]!.sequenceNumber, packets[i]!.sequenceNumber, 0x10000), `sequence at ${i}`).toBe(1);
      expect(serialDiff(packets[i - 1]!.timestamp, packets[i]!.timestamp, 0x1_0000_0000), `timestamp at ${i}`).toBeGreaterThanOrEqual(0);
    }
    const { frames, errors } = await decodeH264(annexBFromRtp(packets.map((p) => p.payload)), join(dataDir, 'viewer.h264'));
    expect(errors).toEqual([]);
    // The picture size goes source → 180p → 90p → source, and each change starts at a keyframe.
    const sizes = frames.map((f) => `${f.width}x${f.height}`).filter((size, i, all) => size !== all[i - 1]);
    expect(sizes).toEqual(['640x360', '320x180', '160x90', '640x360']);
    frames.forEach((frame, i) => {
      if (i === 0 || frame.width !== frames[i - 1]!.width) expect(frame.keyFrame, `frame ${i} (${frame.width}x${frame.height})`).toBe(true);
    });

    // `?layer=` on the POST: the session starts pinned, its first frame the rendition's keyframe.
    const audience = ingest.media.audience(stream.id);
    await expect(startWeriftWhepViewer({ whepUrl: `${base}/whep/${stream.name}?layer=1080p`, video: ['H264'] })).rejects.toThrow(/404.*rendition_not_found/);
    expect(ingest.media.audience(stream.id)).toBe(audience);
    const pinnedAtStart = await startWeriftWhepViewer({ whepUrl: `${base}/whep/${stream.name}?layer=90p`, video: ['H264'] });
    try {
      await pinnedAtStart.connected;
      await pollUntil('a second of 90p', () => pinnedAtStart.video.length > 40, { timeoutMs: 10_000, intervalMs: 50 });
      const decoded = await decodeH264(annexBFromRtp(pinnedAtStart.video.map((p) => p.payload)), join(dataDir, 'pinned.h264'));
      expect(decoded.errors).toEqual([]);
      expect(decoded.frames[0]!.keyFrame).toBe(true);
      expect(new Set(decoded.frames.map((f) => `${f.width}x${f.height}`))).toEqual(new Set(['160x90']));
    } finally {
      await pinnedAtStart.close();
    }
  });

  it('a deleted set sends its viewers back to the source; a lease that ends takes its set along', async () => {
    const current = ((await (await admin(`/api/streams/${stream.id}/renditions`)).json()) as { sets: Array<{ id: string }> }).sets[0]!;
    expect((await layer('POST', { encodingId: '180p' })).status).toBe(200);
    await pollUntil('the viewer on 180p', async () => (await activeLayer()) === '180p', { timeoutMs: 5_000, intervalMs: 50 });
    expect((await admin(`/api/streams/${stream.id}/renditions/${current.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await admin(`/api/streams/${stream.id}/renditions/${current.id}`, { method: 'DELETE' })).status).toBe(404);
    expect(await layer('GET').then((res) => res.json())).toMatchObject({ pinned: '180p', active: 'source', layers: [{ encodingId: 'source' }] });

    const dying = await followEvents('transcoder@dying', 'dying');
    expect((await announce('dying')).status).toBe(201);
    const closedAt = Date.now();
    dying.close();
    await pollUntil('the set to end with its lease', async () => ((await (await admin(`/api/streams/${stream.id}/renditions`)).json()) as { sets: unknown[] }).sets.length === 0, { timeoutMs: 5_000, intervalMs: 25 });
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(LEASE_GRACE_MS - 50);
  });
});
