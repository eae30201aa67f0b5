/**
 * The player's recovery policy, driven with a fake WHEP client, a fake <video> and fake time:
 * each test names a situation a viewer meets and checks the state shown and what the player
 * does about it (POST again or not, DELETE or keep the session).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OnairError } from '@onair/shared/errors';
import type { SessionState } from '@onair/shared/webrtc-client';
import type { PlaybackStatus } from './playback';

const playWhep = vi.fn();
vi.mock('@onair/shared/webrtc-client', async (importOriginal) => ({ ...(await importOriginal<object>()), playWhep: (...args: unknown[]) => playWhep(...args) }));
const { startWebrtcPlayback } = await import('./webrtc-playback');

class FakeSession {
  state: SessionState = 'connecting';
  answerMs = 5;
  gatherMs = 1;
  iceServers: RTCIceServer[] = [];
  resourceUrl = 'https://site.example/whep/sessions/s1';
  linkHeader: string | null = null;
  closed = false;
  framesDecoded = 0;
  stream = { getVideoTracks: () => [{}], getTracks: () => [] };
  private listeners = new Map<string, ((value: unknown) => void)[]>();
  on(event: string, fn: (value: unknown) => void) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
    return () => undefined;
  }
  emit(event: string, value: unknown) {
    if (event === 'state') this.state = value as SessionState;
    for (const fn of this.listeners.get(event) ?? []) fn(value);
  }
  close = vi.fn(async () => {
    this.closed = true;
  });
  async getStats() {
    return [{ id: 'v', type: 'inbound-rtp', kind: 'video', timestamp: performance.now(), framesDecoded: this.framesDecoded, bytesReceived: this.framesDecoded * 1000 }];
  }
}

class FakeVideo {
  srcObject: unknown = null;
  paused = false;
  private callbacks: (() => void)[] = [];
  play = vi.fn(async () => undefined);
  requestVideoFrameCallback(cb: () => void) {
    this.callbacks.push(cb);
    return this.callbacks.length;
  }
  cancelVideoFrameCallback() {
    this.callbacks = [];
  }
  /** Renders one frame: fires the pending frame callbacks. */
  frame() {
    const pending = this.callbacks;
    this.callbacks = [];
    for (const cb of pending) cb();
  }
}

let listed: string[];
let statuses: PlaybackStatus[];
let video: FakeVideo;

const state = () => statuses.at(-1)?.state;
const offline = () => new OnairError('stream_offline', 'demo is not live');

/** Plays `frames` frames, one every 33 ms. */
async function frames(n: number) {
  for (let i = 0; i < n; i++) {
    video.frame();
    await vi.advanceTimersByTimeAsync(33);
  }
}

function start() {
  return startWebrtcPlayback(video as unknown as HTMLVideoElement, {
    whepUrl: '/whep/demo',
    liveUrl: '/api/streams/live',
    streamName: 'demo',
    callbacks: { onStatus: (s) => statuses.push(s) },
  });
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'Date'] });
  playWhep.mockReset();
  listed = [];
  statuses = [];
  video = new FakeVideo();
  vi.stubGlobal('document', { hidden: false });
  vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(listed.map((name) => ({ name }))), { status: 200 })));
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('WebRTC playback recovery', () => {
  it('goes live on the first rendered frame', async () => {
    const session = new FakeSession();
    playWhep.mockResolvedValueOnce(session);
    const playback = start();
    await vi.advanceTimersByTimeAsync(0);
    expect(state()).toBe('connecting');
    expect(video.srcObject).toBe(session.stream);
    session.emit('state', 'connected');
    await frames(1);
    expect(state()).toBe('live');
    playback.stop();
    expect(session.close).toHaveBeenCalledTimes(1);
  });

  it('shows offline on 404 stream_offline and connects as soon as the stream is listed', async () => {
    playWhep.mockRejectedValueOnce(offline());
    const session = new FakeSession();
    playWhep.mockResolvedValueOnce(session);
    const playback = start();
    await vi.advanceTimersByTimeAsync(0);
    expect(state()).toBe('offline');
    await vi.advanceTimersByTimeAsync(6000);
    expect(playWhep).toHaveBeenCalledTimes(1); // not listed: the cheap list is polled, no POST
    listed = ['demo'];
    await vi.advanceTimersByTimeAsync(2100);
    expect(playWhep).toHaveBeenCalledTimes(2);
    session.emit('state', 'connected');
    await frames(1);
    expect(state()).toBe('live');
    playback.stop();
  });

  it('keeps the session while the broadcaster is away and goes live again when frames resume', async () => {
    listed = ['demo'];
    const session = new FakeSession();
    playWhep.mockResolvedValueOnce(session);
    const playback = start();
    await vi.advanceTimersByTimeAsync(0);
    session.emit('state', 'connected');
    await frames(30);
    expect(state()).toBe('live');
    listed = []; // the broadcaster stopped
    await vi.advanceTimersByTimeAsync(5000);
    expect(state()).toBe('offline');
    await vi.advanceTimersByTimeAsync(20_000);
    expect(session.closed).toBe(false);
    expect(playWhep).toHaveBeenCalledTimes(1);
    listed = ['demo']; // back: the ingest resumes forwarding on the kept session
    await vi.advanceTimersByTimeAsync(1000);
    await frames(5);
    expect(state()).toBe('live');
    expect(playWhep).toHaveBeenCalledTimes(1);
    playback.stop();
  });

  it('re-POSTs when the stream is listed live but no frame arrives on the kept session', async () => {
    listed = ['demo'];
    const first = new FakeSession();
    const second = new FakeSession();
    playWhep.mockResolvedValueOnce(first).mockResolvedValueOnce(second);
    const playback = start();
    await vi.advanceTimersByTimeAsync(0);
    first.emit('state', 'connected');
    await frames(10);
    await vi.advanceTimersByTimeAsync(8000);
    expect(first.close).toHaveBeenCalled();
    expect(playWhep).toHaveBeenCalledTimes(2);
    expect(statuses.map((s) => s.state)).toContain('reconnecting');
    second.emit('state', 'connected');
    await frames(1);
    expect(state()).toBe('live');
    playback.stop();
  });

  it('gives a new connected session 6 s for its first keyframe before POSTing again', async () => {
    listed = ['demo'];
    const first = new FakeSession();
    const second = new FakeSession();
    playWhep.mockResolvedValueOnce(first).mockResolvedValueOnce(second);
    const playback = start();
    await vi.advanceTimersByTimeAsync(0);
    first.emit('state', 'connected');
    await vi.advanceTimersByTimeAsync(5000);
    expect(first.close).not.toHaveBeenCalled();
    expect(state()).toBe('connecting');
    // 6 s from when the list first said live (the first tick, ~1 s in).
    await vi.advanceTimersByTimeAsync(3500);
    expect(first.close).toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1000); // backoff
    expect(playWhep).toHaveBeenCalledTimes(2);
    playback.stop();
  });

  it('DELETEs a failed session and POSTs again with backoff, through server errors', async () => {
    listed = ['demo'];
    const first = new FakeSession();
    const third = new FakeSession();
    playWhep
      .mockResolvedValueOnce(first)
      .mockRejectedValueOnce(new OnairError('upstream_unreachable', 'The ingest is unreachable.'))
      .mockResolvedValueOnce(third);
    const playback = start();
    await vi.advanceTimersByTimeAsync(0);
    first.emit('state', 'connected');
    await frames(5);
    first.emit('state', 'failed');
    expect(state()).toBe('reconnecting');
    expect(first.close).toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(700); // first backoff ≤ 600 ms
    expect(playWhep).toHaveBeenCalledTimes(2);
    expect(statuses.at(-1)?.detail).toMatch(/unreachable.*Retrying/);
    await vi.advanceTimersByTimeAsync(700);
    expect(playWhep).toHaveBeenCalledTimes(2); // second backoff is longer (~2 s)
    await vi.advanceTimersByTimeAsync(2000);
    expect(playWhep).toHaveBeenCalledTimes(3);
    third.emit('state', 'connected');
    await frames(1);
    expect(state()).toBe('live');
    playback.stop();
  });

  it('uses the ICE servers a previous answer announced (Link) for the next offer', async () => {
    const first = new FakeSession();
    first.iceServers = [{ urls: 'stun:stun.example.net' }];
    playWhep.mockResolvedValueOnce(first).mockResolvedValueOnce(new FakeSession());
    const playback = start();
    await vi.advanceTimersByTimeAsync(0);
    expect(playWhep.mock.calls[0]![1]).toMatchObject({ iceServers: [] });
    first.emit('state', 'failed');
    await vi.advanceTimersByTimeAsync(1000);
    expect(playWhep.mock.calls[1]![1]).toMatchObject({ iceServers: [{ urls: 'stun:stun.example.net' }] });
    playback.stop();
  });

  it('stops for good: no more requests after stop()', async () => {
    playWhep.mockRejectedValue(new OnairError('upstream_unreachable', 'down'));
    const playback = start();
    await vi.advanceTimersByTimeAsync(0);
    playback.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(playWhep).toHaveBeenCalledTimes(1);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('shows the rendition the session receives (WHEP layer extension), and makes the viewer\'s pin again on a new session', async () => {
    const layersBody = (pinned: string | null, active: string) => ({
      pinned,
      active,
      pending: null,
      layers: [
        { encodingId: 'source', kind: 'source', codec: 'H264', width: 1280, height: 720, frameRate: 30, bitrateKbps: 2500, targetKbps: null },
        { encodingId: '360p', kind: 'transcoded', codec: 'H264', width: 640, height: 360, frameRate: 30, bitrateKbps: 700, targetKbps: 800 },
      ],
    });
    let server = { pinned: null as string | null, active: '360p' };
    const posts: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init?: RequestInit) => {
        if (String(url).endsWith('/layer')) {
          if (init?.method === 'POST') {
            const { encodingId } = JSON.parse(String(init.body)) as { encodingId: string };
            posts.push(`${String(url)} ${encodingId}`);
            server = { pinned: encodingId === 'auto' ? null : encodingId, active: encodingId === 'auto' ? server.active : encodingId };
          }
          return Response.json(layersBody(server.pinned, server.active));
        }
        return new Response(JSON.stringify(listed.map((name) => ({ name }))), { status: 200 });
      }),
    );
    const seen: Array<string | null> = [];
    const first = new FakeSession();
    first.linkHeader = '</whep/sessions/s1/layer>; rel="urn:ietf:params:whep:ext:core:layer"';
    playWhep.mockResolvedValueOnce(first);
    const playback = startWebrtcPlayback(video as unknown as HTMLVideoElement, {
      whepUrl: '/whep/demo',
      liveUrl: '/api/streams/live',
      streamName: 'demo',
      callbacks: { onStatus: (s) => statuses.push(s), onLayers: (l) => seen.push(l ? `${l.pinned ?? 'auto'}:${l.active}` : null) },
    });
    await vi.advanceTimersByTimeAsync(0);
    first.emit('state', 'connected');
    await frames(35);
    expect(seen.at(-1)).toBe('auto:360p');
    await playback.selectLayer!('source');
    expect(seen.at(-1)).toBe('source:source');
    // The connection fails: the new session starts on the server's choice, and the pin is made again.
    server = { pinned: null, active: '360p' };
    const second = new FakeSession();
    second.resourceUrl = 'https://site.example/whep/sessions/s2';
    second.linkHeader = '<s2/layer>; rel="urn:ietf:params:whep:ext:core:layer"';
    playWhep.mockResolvedValueOnce(second);
    first.emit('state', 'failed');
    await vi.advanceTimersByTimeAsync(3000);
    expect(posts).toEqual(['https://site.example/whep/sessions/s1/layer source', 'https://site.example/whep/sessions/s2/layer source']);
    playback.stop();
  });
});
