/**
 * The whole service against a fake ingest (SSE + forwards relaying an ffmpeg RTP source):
 * stream.live → job started by the `auto` policy → LL-HLS over HTTP; the control API; a profile
 * change that restarts the job with a new ladder; stream.offline → job stopped, EXT-X-ENDLIST.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTranscoder, type Transcoder } from './app';
import { loadTranscoderConfig } from './config';
import { UdpPortAllocator } from './net/udp-ports';
import { FakeIngest } from './test-support/fake-ingest';
import { waitFor } from './test-support/hls-probe';

const TOKEN = 'test-admin-token-0123456789';
const log = pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' });

let ingest: FakeIngest;
let transcoder: Transcoder;
let base: string;
let dataDir: string;

const auth = { Authorization: `Bearer ${TOKEN}` };
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const response = await fetch(`${base}${path}`, { method, headers: { ...auth, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}
const job = async (stream: string) => (await api('GET', '/api/jobs')).json.jobs.find((j: { stream: string }) => j.stream === stream);

beforeAll(async () => {
  ingest = new FakeIngest(TOKEN, new UdpPortAllocator({ min: 44000, max: 44499 }));
  const ingestUrl = await ingest.listen();
  dataDir = await mkdtemp(join(tmpdir(), 'onair-transcoder-app-'));
  const config = loadTranscoderConfig({
    ONAIR_TRANSCODER_PORT: '0',
    ONAIR_DATA_DIR: dataDir,
    ONAIR_ADMIN_TOKEN: TOKEN,
    ONAIR_INGEST_URL: ingestUrl,
    ONAIR_TRANSCODER_RTP_PORTS: '44500-44999',
  });
  transcoder = createTranscoder(config, log, { reconcileAfterMs: 500, jobDefaults: { replanIntervalMs: 1000, stallTimeoutMs: 4000, restartBackoff: { initialMs: 200, maxMs: 1000 } } });
  const address = await transcoder.listen();
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await transcoder?.close();
  await ingest?.close();
  await rm(dataDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
});

describe('transcoder service', () => {
  it('is ready once ffmpeg is found and the ingest events are followed', async () => {
    const health = await waitFor(async () => {
      const r = await fetch(`${base}/healthz`);
      return r.status === 200 ? r.json() : null;
    }, 10_000, 'healthz ready');
    expect(health).toMatchObject({ ready: true, checks: { ffmpeg: { ok: true }, ingest: { ok: true } } });
  });

  it('refuses the control API without the admin token', async () => {
    expect((await fetch(`${base}/api/jobs`)).status).toBe(401);
    const r = await fetch(`${base}/api/jobs`, { headers: { Authorization: 'Bearer wrong-token-xxxxxxxxxxxx' } });
    expect(r.status).toBe(403);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
  });

  it('transcodes a stream when it goes live, serves LL-HLS, follows a profile change, and ends it when it goes offline', async () => {
    await ingest.goLive('id-demo', 'demo', { width: 640, height: 360 });
    await waitFor(async () => (await job('demo'))?.state === 'running', 15_000, 'job running');
    expect(ingest.requests).toContain('POST /api/streams/id-demo/forwards');
    // Once ffmpeg had bound its ports, the job asked for a keyframe through the forward.
    expect(ingest.requests.filter((r) => /^POST \/api\/streams\/id-demo\/forwards\/f\d+\/keyframe$/.test(r)).length).toBeGreaterThanOrEqual(1);

    // The default ladder on a 360p source is one 640x360 rung (no upscale).
    const master = await waitFor(async () => {
      const r = await api('GET', '/hls/demo/index.m3u8');
      return r.status === 200 ? r.text : null;
    }, 10_000, 'multivariant playlist');
    expect(master).toContain('RESOLUTION=640x360');
    expect(master).not.toContain('1280x720');
    const media = await waitFor(async () => {
      const r = await api('GET', '/hls/demo/360p/index.m3u8');
      return r.status === 200 && r.text.includes('#EXTINF') ? r.text : null;
    }, 10_000, 'a segment in the 360p playlist');
    expect(media).toContain('#EXT-X-PART');

    const listed = await job('demo');
    expect(listed).toMatchObject({ stream: 'demo', profile: 'default', live: true, restarts: 0, hlsUrl: '/hls/demo/index.m3u8' });
    // A 360p source gets a second, half-size rung so a slow viewer has somewhere to go.
    expect(listed.renditions).toEqual([expect.objectContaining({ id: '360p', width: 640, height: 360 }), expect.objectContaining({ id: '180p', width: 320, height: 180 })]);
    const logs = await api('GET', '/api/jobs/demo/logs?limit=5');
    expect(logs.json.lines.length).toBeGreaterThan(0);
    expect(logs.json.lines.length).toBeLessThanOrEqual(5);

    // Profiles: validation, creation, choice (restarts the job with the new ladder), in-use.
    const bad = await api('POST', '/api/profiles', { name: 'tiny', rungs: [{ name: 'a', width: 321, height: 180, videoKbps: 300 }] });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 'invalid_profile' });
    expect(bad.json.detail).toContain('width must be even');
    const created = await api('POST', '/api/profiles', { name: 'tiny', rungs: [{ name: '180p', width: 320, height: 180, videoKbps: 300, preset: 'ultrafast' }] });
    expect(created.status).toBe(201);
    expect((await api('GET', '/api/profiles')).json.profiles.map((p: { name: string }) => p.name)).toEqual(['default', 'passthrough', 'tiny']);
    expect((await api('PUT', '/api/jobs/demo/profile', { profile: 'nope' })).json).toMatchObject({ code: 'profile_not_found' });
    expect((await api('PUT', '/api/jobs/demo/profile', { profile: 'tiny' })).status).toBe(200);
    await waitFor(async () => {
      const j = await job('demo');
      return j?.state === 'running' && j.profile === 'tiny';
    }, 15_000, 'job running with the new profile');
    const newMaster = await waitFor(async () => {
      const r = await api('GET', '/hls/demo/index.m3u8');
      return r.status === 200 && r.text.includes('180p') ? r.text : null;
    }, 10_000, 'multivariant playlist with the new ladder');
    expect(newMaster).toContain('RESOLUTION=320x180');
    expect(newMaster).not.toContain('360p');
    const inUse = await api('DELETE', '/api/profiles/tiny');
    expect(inUse.status).toBe(409);
    expect(inUse.json).toMatchObject({ code: 'profile_in_use' });
    expect((await api('DELETE', '/api/profiles/default')).status).toBe(400);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/onair_transcoder_jobs\{state="running",service="transcoder"\} 1/);
    expect(metrics).toMatch(/onair_transcoder_speed_ratio\{stream="demo",profile="tiny",service="transcoder"\} [\d.]+/);

    await waitFor(async () => {
      const r = await api('GET', '/hls/demo/180p/index.m3u8');
      return r.status === 200 && r.text.includes('#EXTINF');
    }, 10_000, 'a segment of the new ladder');
    await ingest.goOffline('id-demo');
    await waitFor(async () => (await job('demo'))?.state === 'stopped', 10_000, 'job stopped');
    const ended = await api('GET', '/hls/demo/180p/index.m3u8');
    expect(ended.text).toContain('#EXT-X-ENDLIST');
    expect(ingest.requests.filter((r) => r.startsWith('DELETE /api/streams/id-demo/forwards/')).length).toBeGreaterThan(0);
  }, 60_000);

  it('keeps live jobs across an event-stream reconnect and stops those whose stream ended meanwhile', async () => {
    expect((await api('POST', '/api/profiles', { name: 'micro', rungs: [{ name: '90p', width: 160, height: 90, videoKbps: 100, preset: 'ultrafast' }] })).status).toBe(201);
    for (const name of ['stays', 'leaves']) expect((await api('PUT', `/api/jobs/${name}/profile`, { profile: 'micro' })).status).toBe(200);
    await ingest.goLive('id-stays', 'stays', { width: 320, height: 180 });
    await ingest.goLive('id-leaves', 'leaves', { width: 320, height: 180 });
    await waitFor(async () => (await job('stays'))?.state === 'running' && (await job('leaves'))?.state === 'running', 15_000, 'both jobs running');
    const pid = (await job('stays')).pid;

    ingest.dropEventStreams();
    await ingest.goOffline('id-leaves'); // nobody hears this stream.offline
    await waitFor(async () => (await fetch(`${base}/healthz`)).status === 503, 5_000, 'healthz not ready while disconnected');
    await waitFor(async () => (await job('leaves'))?.state === 'stopped', 10_000, 'the vanished stream stopped after the reconnect');
    await waitFor(async () => (await fetch(`${base}/healthz`)).status === 200, 5_000, 'healthz ready again');
    expect(await job('stays')).toMatchObject({ state: 'running', pid, restarts: 0 });
    await ingest.goOffline('id-stays');
    await waitFor(async () => (await job('stays'))?.state === 'stopped', 10_000, 'stopped on offline');
  }, 45_000);

  it('re-plans a bigger ladder once when the source outgrows it (a WebRTC publisher ramping up)', async () => {
    await ingest.goLive('id-ramp', 'ramp', { width: 320, height: 180 });
    await waitFor(async () => (await job('ramp'))?.state === 'running', 15_000, 'job running');
    expect((await job('ramp')).renditions).toEqual([expect.objectContaining({ id: '360p', width: 320, height: 180 })]);
    ingest.setReportedSize('id-ramp', 640, 360);
    await waitFor(async () => {
      const j = await job('ramp');
      return j?.state === 'running' && j.renditions[0]?.width === 640;
    }, 15_000, 'running again with the 640x360 ladder');
    const master = await waitFor(async () => {
      const r = await api('GET', '/hls/ramp/index.m3u8');
      return r.status === 200 && r.text.includes('640x360') ? r.text : null;
    }, 10_000, 'the new multivariant playlist');
    // The new ladder only: 360p is 640x360 now (it was the 320x180 source), with 180p below it.
    expect(master).toMatch(/RESOLUTION=640x360[^\n]*\n360p\/index\.m3u8/);
    expect(master).toMatch(/RESOLUTION=320x180[^\n]*\n180p\/index\.m3u8/);
    expect(master.match(/#EXT-X-STREAM-INF/g)).toHaveLength(2);
    await ingest.goOffline('id-ramp');
    await waitFor(async () => (await job('ramp'))?.state === 'stopped', 10_000, 'stopped');
  }, 45_000);

  it('recovers with a fresh forward when the ingest forgets its forward (input stalled)', async () => {
    await ingest.goLive('id-lost', 'lost', { width: 320, height: 180 });
    await waitFor(async () => (await job('lost'))?.state === 'running', 15_000, 'job running');
    // Media in the playlist before the stall (running means ffmpeg wrote a first byte: the init segment).
    await waitFor(async () => (await api('GET', '/hls/lost/360p/index.m3u8')).text.includes('#EXT-X-PART:'), 10_000, 'a first part');
    const forwardsBefore = ingest.requests.filter((r) => r === 'POST /api/streams/id-lost/forwards').length;
    ingest.dropForwards('id-lost');
    await waitFor(async () => (await job('lost'))?.state === 'restarting', 10_000, 'restarting after the stall');
    await waitFor(async () => (await job('lost'))?.state === 'running', 15_000, 'running again');
    expect(ingest.requests.filter((r) => r === 'POST /api/streams/id-lost/forwards').length).toBe(forwardsBefore + 1);
    const j = await job('lost');
    expect(j.restarts).toBe(1);
    expect(j.lastError).toMatch(/input stalled/);
    const media = await waitFor(async () => {
      const r = await api('GET', '/hls/lost/360p/index.m3u8');
      return r.text.includes('#EXT-X-DISCONTINUITY') ? r.text : null;
    }, 10_000, 'a discontinuity in the playlist');
    expect(media).toContain('#EXTINF');
    await ingest.goOffline('id-lost');
    await waitFor(async () => (await job('lost'))?.state === 'stopped', 10_000, 'stopped');
  }, 45_000);

  it('starts with ffmpeg_missing / stream_offline errors as problem documents, never a crash', async () => {
    const r = await api('POST', '/api/jobs/ghost/start');
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ code: 'stream_offline' });
    expect((await api('GET', '/api/jobs/ghost/logs')).json).toMatchObject({ code: 'job_not_found' });
  });
});

describe('transcoder without ffmpeg', () => {
  let fake: FakeIngest;
  let service: Transcoder;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    fake = new FakeIngest(TOKEN, new UdpPortAllocator({ min: 46000, max: 46099 }));
    const ingestUrl = await fake.listen();
    dir = await mkdtemp(join(tmpdir(), 'onair-transcoder-noffmpeg-'));
    const config = loadTranscoderConfig({ ONAIR_TRANSCODER_PORT: '0', ONAIR_DATA_DIR: dir, ONAIR_ADMIN_TOKEN: TOKEN, ONAIR_INGEST_URL: ingestUrl, ONAIR_TRANSCODE_POLICY: 'manual', ONAIR_FFMPEG_PATH: '/nonexistent/ffmpeg' });
    service = createTranscoder(config, log);
    url = `http://127.0.0.1:${(await service.listen()).port}`;
  });

  afterAll(async () => {
    await service?.close();
    await fake?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('says so in /healthz and refuses to start a job with ffmpeg_missing', async () => {
    const health = await waitFor(async () => {
      const body = await (await fetch(`${url}/healthz`)).json();
      return body.checks?.ingest?.ok ? body : null;
    }, 10_000, 'ingest connected');
    expect(health).toMatchObject({ ready: false, checks: { ffmpeg: { ok: false, reason: expect.stringContaining('ffmpeg not found') } } });
    expect((await fetch(`${url}/healthz`)).status).toBe(503);

    await fake.goLive('id-x', 'x', { width: 320, height: 180 });
    await waitFor(() => service.jobs.isLive('x'), 5_000, 'the live event');
    expect(service.jobs.list()).toEqual([]); // manual policy: nothing started by itself
    const r = await fetch(`${url}/api/jobs/x/start`, { method: 'POST', headers: auth });
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ code: 'ffmpeg_missing' });
    expect(service.jobs.get('x')?.state).toBe('failed');
  });
});
