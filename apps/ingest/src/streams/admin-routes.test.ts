import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LiveState } from '@onair/shared/api';
import { closeServer, createHttpService, listen, Router } from '@onair/service/http';
import { createLogger } from '@onair/service/logger';
import { loadIngestConfig } from '../config';
import { registerAdminRoutes, type MediaControl } from './admin-routes';
import { pollUntil } from '../../../../test/support/poll';
import { SqliteStreamStore } from './sqlite-stream-store';

const ADMIN = 'test-admin-token-0123456789';

/** Records which event connections hold a forward lease, and for how long. */
class RecordingLeases {
  readonly held: string[] = [];
  hold(owner: string, instance: string) {
    const entry = `${owner}/${instance}`;
    this.held.push(entry);
    return () => this.held.splice(this.held.indexOf(entry), 1);
  }
}

/** Live state is driven by the test, so the admin API's use of it can be checked exactly. */
const RENDITIONS: LiveState['renditions'] = [
  { name: 'source', kind: 'source', codec: 'H264', width: 1280, height: 720, frameRate: 30, bitrateKbps: 2500, targetKbps: null, viewers: 1 },
  { name: '480p', kind: 'transcoded', codec: 'H264', width: 854, height: 480, frameRate: 30, bitrateKbps: 1350, targetKbps: 1400, viewers: 1 },
];

class ScriptedMedia extends EventEmitter implements MediaControl {
  readonly live = new Set<string>();
  readonly disconnected: string[] = [];
  readonly closed: string[] = [];
  readonly wanted: Array<{ streamId: string; codecs: string[] }> = [];
  renditionsWanted() {
    return this.wanted;
  }
  liveState(streamId: string): LiveState {
    const live = this.live.has(streamId);
    return {
      live,
      since: live ? '2026-01-01T00:00:00.000Z' : null,
      publisher: live ? { protocol: 'whip', sessionId: 's1' } : null,
      video: live ? { codec: 'H264', width: 1280, height: 720, fps: 30, bitrateKbps: 2500, packetsLost: 0 } : null,
      audio: null,
      viewers: { whep: live ? 2 : 0, total: live ? 2 : 0 },
      renditions: live ? RENDITIONS : [],
      ...(live ? { webrtcCodecs: ['H264', 'VP8'] } : {}),
    };
  }
  isLive(streamId: string) {
    return this.live.has(streamId);
  }
  disconnectPublisher(streamId: string) {
    this.disconnected.push(streamId);
  }
  closeStream(streamId: string) {
    this.closed.push(streamId);
  }
}

describe('ingest admin API', () => {
  let server: Server;
  let base: string;
  let store: SqliteStreamStore;
  let media: ScriptedMedia;
  let leases: RecordingLeases;

  beforeEach(async () => {
    store = new SqliteStreamStore(':memory:');
    media = new ScriptedMedia();
    const config = loadIngestConfig({ ONAIR_ADMIN_TOKEN: ADMIN, ONAIR_DATA_DIR: '/tmp/unused' });
    const router = new Router();
    leases = new RecordingLeases();
    registerAdminRoutes(router, { store, media, config, leases });
    server = createHttpService({ router, log: createLogger('test', 'silent') });
    const address = await listen(server, 0, '127.0.0.1');
    base = `http://127.0.0.1:${address.port}`;
  });
  afterEach(async () => {
    await closeServer(server);
    await store.close();
  });

  const call = (method: string, path: string, { token = ADMIN, body }: { token?: string | null; body?: unknown } = {}) =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(token === null ? {} : { Authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const adminRoutes: Array<[string, string]> = [
    ['GET', '/api/streams'],
    ['POST', '/api/streams'],
    ['GET', '/api/streams/x'],
    ['PATCH', '/api/streams/x'],
    ['POST', '/api/streams/x/rotate-key'],
    ['DELETE', '/api/streams/x'],
    ['GET', '/api/events'],
  ];

  it.each(adminRoutes)('%s %s without a token → 401 missing_credentials', async (method, path) => {
    const res = await call(method, path, { token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await res.json()).code).toBe('missing_credentials');
  });

  it.each(adminRoutes)('%s %s with a wrong token → 403 invalid_admin_token', async (method, path) => {
    const res = await call(method, path, { token: 'wrong-token' });
    expect(res.status).toBe(403);
    expect((await res.json()).code).toBe('invalid_admin_token');
  });

  it('creates a stream with its key and URLs, and lists it', async () => {
    const created = await call('POST', '/api/streams', { body: { name: 'studio' } });
    expect(created.status).toBe(201);
    const stream = await created.json();
    expect(stream).toMatchObject({ name: 'studio', whipUrl: `${base}/whip`, whepUrl: `${base}/whep/studio`, state: { live: false } });
    expect(stream.streamKey).toMatch(/^sk_/);
    expect(created.headers.get('location')).toBe(`/api/streams/${stream.id}`);
    const list = await (await call('GET', '/api/streams')).json();
    expect(list.map((s: { name: string }) => s.name)).toEqual(['studio']);
  });

  it.each([
    [{ name: 'Bad Name' }, 'name'],
    [{}, 'name'],
    [{ name: 'ok', extra: 1 }, 'extra'],
  ])('refuses an invalid create body %j with invalid_body naming the field', async (body, field) => {
    const res = await call('POST', '/api/streams', { body });
    expect(res.status).toBe(400);
    const problem = await res.json();
    expect(problem.code).toBe('invalid_body');
    expect(problem.detail).toContain(field);
  });

  it('refuses a non-JSON body and a duplicate name', async () => {
    const notJson = await fetch(`${base}/api/streams`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'text/plain' }, body: 'name=x' });
    expect(notJson.status).toBe(415);
    await call('POST', '/api/streams', { body: { name: 'dup' } });
    const dup = await call('POST', '/api/streams', { body: { name: 'dup' } });
    expect(dup.status).toBe(409);
    expect((await dup.json()).code).toBe('stream_name_taken');
  });

  it('rotating a key disconnects the publisher and changes the key', async () => {
    const stream = await (await call('POST', '/api/streams', { body: { name: 'rot' } })).json();
    const rotated = await (await call('POST', `/api/streams/${stream.id}/rotate-key`)).json();
    expect(rotated.streamKey).not.toBe(stream.streamKey);
    expect(media.disconnected).toEqual([stream.id]);
    expect(await store.findByKey(stream.streamKey)).toBeUndefined();
  });

  it('renames by id or name, deletes and closes the stream', async () => {
    const stream = await (await call('POST', '/api/streams', { body: { name: 'old' } })).json();
    const renamed = await (await call('PATCH', '/api/streams/old', { body: { name: 'new' } })).json();
    expect(renamed).toMatchObject({ id: stream.id, name: 'new', whepUrl: `${base}/whep/new` });
    expect((await call('DELETE', `/api/streams/${stream.id}`)).status).toBe(204);
    expect(media.closed).toEqual([stream.id]);
    const gone = await call('GET', `/api/streams/${stream.id}`);
    expect(gone.status).toBe(404);
    expect((await gone.json()).code).toBe('stream_not_found');
  });

  it('lists live streams publicly, without keys', async () => {
    const live = await (await call('POST', '/api/streams', { body: { name: 'on' } })).json();
    await call('POST', '/api/streams', { body: { name: 'off' } });
    media.live.add(live.id);
    const res = await call('GET', '/api/streams/live', { token: null });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual([{ name: 'on', since: '2026-01-01T00:00:00.000Z', video: expect.objectContaining({ width: 1280 }), audio: null, viewers: 2, whepUrl: `${base}/whep/on`, renditions: RENDITIONS, webrtcCodecs: ['H264', 'VP8'] }]);
    expect(JSON.stringify(body)).not.toContain(live.streamKey);
  });

  it('streams live/offline events, replaying the current live streams on connect', async () => {
    const a = await (await call('POST', '/api/streams', { body: { name: 'a' } })).json();
    const b = await (await call('POST', '/api/streams', { body: { name: 'b' } })).json();
    media.live.add(a.id);
    const controller = new AbortController();
    const res = await fetch(`${base}/api/events`, { headers: { Authorization: `Bearer ${ADMIN}` }, signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += value;
      }
    };
    await readUntil(`"streamId":"${a.id}"`);
    expect(text).toContain(`event: stream.live\ndata: {"streamId":"${a.id}","name":"a"}`);
    media.emit('live', b.id);
    media.emit('offline', a.id);
    await readUntil(`event: stream.offline\ndata: {"streamId":"${a.id}","name":"a"}`);
    expect(text).toContain(`event: stream.live\ndata: {"streamId":"${b.id}","name":"b"}`);
    controller.abort();
  });

  it('streams renditions.wanted: the codecs viewers need as on-demand renditions, replayed on connect', async () => {
    const a = await (await call('POST', '/api/streams', { body: { name: 'a' } })).json();
    const b = await (await call('POST', '/api/streams', { body: { name: 'b' } })).json();
    media.live.add(a.id);
    media.wanted.push({ streamId: a.id, codecs: ['VP8'] });
    const controller = new AbortController();
    const res = await fetch(`${base}/api/events`, { headers: { Authorization: `Bearer ${ADMIN}` }, signal: controller.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += value;
      }
    };
    // After the live streams, so a follower knows the stream before it hears what it needs.
    await readUntil(`event: renditions.wanted\ndata: {"streamId":"${a.id}","name":"a","codecs":["VP8"]}`);
    expect(text.indexOf('event: stream.live')).toBeLessThan(text.indexOf('event: renditions.wanted'));
    media.emit('renditions-wanted', b.id, ['VP8']);
    media.emit('renditions-wanted', a.id, []);
    await readUntil(`event: renditions.wanted\ndata: {"streamId":"${a.id}","name":"a","codecs":[]}`);
    expect(text).toContain(`event: renditions.wanted\ndata: {"streamId":"${b.id}","name":"b","codecs":["VP8"]}`);
    controller.abort();
  });

  it('holds a forward lease while a transcoder\'s event connection is open, and only with valid names', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/api/events?owner=transcoder@host&instance=0b6d-11`, { headers: { Authorization: `Bearer ${ADMIN}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(leases.held).toEqual(['transcoder@host/0b6d-11']);
    controller.abort();
    await pollUntil('the lease released', () => leases.held.length === 0);
    for (const query of ['owner=a', 'instance=b', 'owner=a b&instance=c', `owner=a&instance=${'x'.repeat(129)}`]) {
      const bad = await fetch(`${base}/api/events?${query}`, { headers: { Authorization: `Bearer ${ADMIN}` } });
      expect(bad.status, query).toBe(400);
      expect((await bad.json()).code).toBe('bad_request');
    }
    expect(leases.held).toEqual([]);
  });
});
