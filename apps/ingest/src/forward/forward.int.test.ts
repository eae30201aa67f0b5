/**
 * The transcoder's input path: a live WHIP stream forwarded as plain RTP to local UDP ports,
 * described by the SDP the ingest returns — and a real ffmpeg decodes it from that SDP alone.
 * Forwards live under the lease of a transcoder instance's open event stream, and a stream has
 * a bounded number of them.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../test/support/poll';
import { freeRtpPort, udpPortBound } from '../../../../test/support/ports';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../../../../test/support/peers/werift-h264-publisher';
import { createIngest, type Ingest } from '../app';
import { loadIngestConfig } from '../config';

const ADMIN = 'test-admin-token-0123456789';
const LEASE_GRACE_MS = 400;
let ingest: Ingest;
let base: string;
let dataDir: string;
let publisher: WeriftH264Publisher | undefined;
let transcoder: { close(): void };

const admin = (path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { Authorization: `Bearer ${ADMIN}`, ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...init.headers } });

/** A transcoder instance as the ingest sees it: its event stream open, holding the lease. */
async function followEvents(owner: string, instance: string): Promise<{ close(): void }> {
  const controller = new AbortController();
  const res = await admin(`/api/events?owner=${owner}&instance=${instance}`, { signal: controller.signal });
  expect(res.status).toBe(200);
  // Read to the end: an unread response is collected with its connection, which ends the lease.
  void res.body?.pipeTo(new WritableStream()).catch(() => undefined);
  return { close: () => controller.abort() };
}

const listForwards = async (streamId: string) => ((await (await admin(`/api/streams/${streamId}/forwards`)).json()) as { forwards: Array<{ id: string; instance?: string; owner?: string; videoPort?: number }> }).forwards;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'onair-forward-'));
  const config = loadIngestConfig({ ONAIR_DATA_DIR: dataDir, ONAIR_INGEST_PORT: '0', ONAIR_WEBTRANSPORT_PORT: 'off', ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_ADMIN_TOKEN: ADMIN });
  config.limits.forwardLeaseGraceMs = LEASE_GRACE_MS;
  ingest = await createIngest(config, pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' }));
  base = `http://127.0.0.1:${(await ingest.listen()).port}`;
  transcoder = await followEvents('transcoder@test', 'main');
});

afterAll(async () => {
  transcoder?.close();
  await publisher?.stop();
  await ingest?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('forwards (ingest → transcoder input)', () => {
  it('refuses a forward of a stream that is not live, and bad bodies', async () => {
    const stream = await ingest.store.create('quiet');
    const offline = await admin(`/api/streams/${stream.id}/forwards`, { method: 'POST', body: JSON.stringify({ host: '127.0.0.1', videoPort: 30000, instance: 'main' }) });
    expect(offline.status).toBe(404);
    expect((await offline.json()).code).toBe('stream_offline');
    for (const body of [{ host: 'localhost', videoPort: 30000, instance: 'main' }, { host: '127.0.0.1', instance: 'main' }, { host: '127.0.0.1', videoPort: 80, instance: 'main' }, { host: '127.0.0.1', videoPort: 30000 }]) {
      const res = await admin(`/api/streams/${stream.id}/forwards`, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json()).code).toBe('invalid_body');
    }
    const unauthenticated = await fetch(`${base}/api/streams/${stream.id}/forwards`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(unauthenticated.status).toBe(401);
  });

  it('forwards live H.264 that ffmpeg decodes from the returned SDP, without counting as a viewer', async () => {
    const stream = await ingest.store.create('fwd');
    publisher = await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey: stream.streamKey });
    await pollUntil('stream live', () => ingest.media.isLive(stream.id), { timeoutMs: 10_000 });

    const notLoopback = await admin(`/api/streams/${stream.id}/forwards`, { method: 'POST', body: JSON.stringify({ host: '192.0.2.7', videoPort: 30000, instance: 'main' }) });
    expect(notLoopback.status).toBe(400);
    expect((await notLoopback.json()).detail).toContain('not allowed');

    const videoPort = await freeRtpPort();
    const created = await admin(`/api/streams/${stream.id}/forwards`, { method: 'POST', body: JSON.stringify({ host: '127.0.0.1', videoPort, instance: 'main' }) });
    expect(created.status).toBe(201);
    const forward = (await created.json()) as { id: string; sdp: string };
    expect(forward.sdp).toContain(`m=video ${videoPort} RTP/AVP 96`);
    expect(forward.sdp).toMatch(/a=rtpmap:96 H264\/90000/);
    expect(ingest.media.liveState(stream.id).viewers.total).toBe(0);

    const sdpFile = join(dataDir, 'forward.sdp');
    await writeFile(sdpFile, forward.sdp);
    const ffmpeg = spawn('/usr/bin/ffmpeg', ['-hide_banner', '-nostdin', '-protocol_whitelist', 'file,udp,rtp', '-fflags', '+nobuffer', '-i', sdpFile, '-frames:v', '20', '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    ffmpeg.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => ffmpeg.once('exit', (code) => resolve(code)));
    // Once ffmpeg listens, a keyframe request makes the publisher's next frames decodable at once.
    // ffmpeg prints its first line after opening the SDP and binding the ports it names.
    await pollUntil('ffmpeg to open its input', () => stderr.length > 0, { timeoutMs: 10_000 });
    expect((await admin(`/api/streams/${stream.id}/forwards/${forward.id}/keyframe`, { method: 'POST' })).status).toBe(202);
    const timeout = setTimeout(() => ffmpeg.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timeout);
    expect(code, stderr.slice(-2000)).toBe(0);
    expect(stderr).toMatch(/Video: h264.*640x360/);
    expect(stderr).toMatch(/frame=\s*20\b/);

    expect((await admin(`/api/streams/${stream.id}/forwards/${forward.id}`, { method: 'DELETE' })).status).toBe(204);
    const again = await admin(`/api/streams/${stream.id}/forwards/${forward.id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect((await again.json()).code).toBe('session_not_found');
  });

  it('holds a forward until ffmpeg listens, then starts it at the last keyframe: decoded without a single error', async () => {
    const stream = await ingest.store.create('held');
    const held = await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey: stream.streamKey });
    try {
      await pollUntil('stream live', () => ingest.media.isLive(stream.id), { timeoutMs: 10_000 });
      const videoPort = await freeRtpPort();
      const createdAt = Date.now();
      const created = await admin(`/api/streams/${stream.id}/forwards`, { method: 'POST', body: JSON.stringify({ host: '127.0.0.1', videoPort, holdUntilReadyMs: 10_000, instance: 'main' }) });
      expect(created.status).toBe(201);
      const forward = (await created.json()) as { id: string; sdp: string };
      const sdpFile = join(dataDir, 'held.sdp');
      await writeFile(sdpFile, forward.sdp);
      const ffmpeg = spawn('/usr/bin/ffmpeg', ['-hide_banner', '-nostdin', '-protocol_whitelist', 'file,udp,rtp', '-i', sdpFile, '-frames:v', '10', '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      ffmpeg.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => ffmpeg.once('exit', (code) => resolve(code)));
      // ffmpeg listens, and the publisher (a keyframe every second) has sent one since the
      // forward began: nothing has reached ffmpeg yet, the held packets start at that keyframe.
      await pollUntil('ffmpeg listening, a keyframe since the forward began', async () => (await udpPortBound(videoPort)) && Date.now() - createdAt > 1100, { timeoutMs: 10_000, intervalMs: 20 });
      const ready = await admin(`/api/streams/${stream.id}/forwards/${forward.id}/keyframe`, { method: 'POST' });
      expect(ready.status).toBe(202);
      expect(((await ready.json()) as { replayedPackets: number }).replayedPackets).toBeGreaterThan(0);
      const timeout = setTimeout(() => ffmpeg.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timeout);
      expect(code, stderr.slice(-2000)).toBe(0);
      // Started at a keyframe: no "non-existing PPS", no "decode_slice_header error".
      expect(stderr).not.toMatch(/\[h264 @[^\]]*\] (non-existing PPS|decode_slice_header error|no frame!)/);
      expect(stderr).toMatch(/frame=\s*10\b/);
    } finally {
      await held.stop();
    }
  });

  describe('leases and caps', () => {
    let live: { id: string; name: string };
    let leasePublisher: WeriftH264Publisher;
    const create = (instance: string, videoPort = 30000) => admin(`/api/streams/${live.id}/forwards`, { method: 'POST', body: JSON.stringify({ host: '127.0.0.1', videoPort, instance }) });

    beforeAll(async () => {
      const stream = await ingest.store.create('leased');
      live = stream;
      leasePublisher = await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey: stream.streamKey });
      await pollUntil('stream live', () => ingest.media.isLive(stream.id), { timeoutMs: 10_000 });
    });
    afterAll(async () => {
      await leasePublisher?.stop();
    });

    it('refuses a forward for an instance that holds no event stream: 409 forward_lease_unknown', async () => {
      const res = await create('nobody');
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect((await res.json()).code).toBe('forward_lease_unknown');
    });

    it('caps the forwards of a stream: the fifth gets 409 too_many_forwards', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await create('main', 30000 + 2 * i);
        expect(res.status).toBe(201);
        ids.push(((await res.json()) as { id: string }).id);
      }
      const refused = await create('main', 30010);
      expect(refused.status).toBe(409);
      expect((await refused.json()).code).toBe('too_many_forwards');
      expect((await listForwards(live.id)).map((f) => f.id).sort()).toEqual([...ids].sort());
      for (const id of ids) expect((await admin(`/api/streams/${live.id}/forwards/${id}`, { method: 'DELETE' })).status).toBe(204);
    });

    it('ends an instance\'s forwards a grace period after its event stream closes', async () => {
      const dying = await followEvents('transcoder@other', 'dying');
      expect((await create('dying')).status).toBe(201);
      expect(await listForwards(live.id)).toMatchObject([{ owner: 'transcoder@other', instance: 'dying' }]);
      const closedAt = Date.now();
      dying.close();
      await pollUntil('the forward to end', async () => (await listForwards(live.id)).length === 0, { timeoutMs: 5_000, intervalMs: 25 });
      expect(Date.now() - closedAt).toBeGreaterThanOrEqual(LEASE_GRACE_MS - 50);
      expect((await create('dying')).status).toBe(409);
    });

    it('ends an older instance\'s forwards at once when a new instance of the same owner connects', async () => {
      const old = await followEvents('transcoder@restarting', 'run-1');
      expect((await create('run-1')).status).toBe(201);
      const fresh = await followEvents('transcoder@restarting', 'run-2');
      // The old connection is still open: the forward ends because run-2 replaced run-1.
      await pollUntil('the old instance\'s forward to end', async () => (await listForwards(live.id)).length === 0, { timeoutMs: LEASE_GRACE_MS / 2, intervalMs: 10 });
      expect((await create('run-1')).status).toBe(409);
      expect((await create('run-2')).status).toBe(201);
      expect(await listForwards(live.id)).toMatchObject([{ instance: 'run-2' }]);
      old.close();
      fresh.close();
    });
  });
});
