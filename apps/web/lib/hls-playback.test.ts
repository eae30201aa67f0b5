/**
 * The HLS mode's recovery policy, driven with a fake hls.js, a fake <video> and fake time: each
 * test is a situation a viewer meets, and checks the state shown and what the mode does about it
 * (new hls.js instance or not, recoverMediaError, waiting for the stream to be listed again).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type HlsType from 'hls.js';
import { startHlsPlayback } from './hls-playback';
import type { PlaybackInfo, PlaybackStatus } from './playback';

class FakeHls {
  static Events = { ERROR: 'hlsError', LEVEL_LOADED: 'hlsLevelLoaded', LEVEL_UPDATED: 'hlsLevelUpdated', LEVEL_SWITCHED: 'hlsLevelSwitched', MANIFEST_PARSED: 'hlsManifestParsed' };
  static ErrorTypes = { NETWORK_ERROR: 'networkError', MEDIA_ERROR: 'mediaError', OTHER_ERROR: 'otherError' };
  static ErrorDetails = { MANIFEST_LOAD_ERROR: 'manifestLoadError', LEVEL_LOAD_ERROR: 'levelLoadError', FRAG_LOAD_ERROR: 'fragLoadError', BUFFER_APPEND_ERROR: 'bufferAppendError' };
  static isSupported = () => true;
  static instances: FakeHls[] = [];
  levels = [{ width: 854, height: 480, bitrate: 1_200_000, frameRate: 30, videoCodec: 'avc1.64001e', audioCodec: 'mp4a.40.2' }];
  currentLevel = 0;
  latency = 1.25;
  targetLatency: number | null = 0.7;
  url: string | null = null;
  destroyed = false;
  recoverMediaError = vi.fn();
  swapAudioCodec = vi.fn();
  private listeners = new Map<string, ((event: string, data: unknown) => void)[]>();
  constructor(readonly config: Record<string, unknown>) {
    FakeHls.instances.push(this);
  }
  on(event: string, fn: (event: string, data: unknown) => void) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
  }
  emit(event: string, data: unknown = {}) {
    for (const fn of this.listeners.get(event) ?? []) fn(event, data);
  }
  attachMedia() {}
  loadSource(url: string) {
    this.url = url;
  }
  destroy() {
    this.destroyed = true;
  }
}

class FakeVideo {
  src = '';
  currentTime = 0;
  videoWidth = 854;
  videoHeight = 480;
  paused = false;
  playbackRate = 1;
  /** Media buffered ahead of currentTime, s. */
  bufferAhead = 1;
  get buffered() {
    return { length: 1, end: () => this.currentTime + this.bufferAhead };
  }
  nativeHls = false;
  private callbacks: (() => void)[] = [];
  private listeners = new Map<string, (() => void)[]>();
  play = vi.fn(async () => undefined);
  canPlayType = (type: string) => (this.nativeHls && type === 'application/vnd.apple.mpegurl' ? 'maybe' : '');
  requestVideoFrameCallback(cb: () => void) {
    this.callbacks.push(cb);
    return this.callbacks.length;
  }
  cancelVideoFrameCallback() {
    this.callbacks = [];
  }
  addEventListener(event: string, fn: () => void) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn]);
  }
  removeEventListener(event: string, fn: () => void) {
    this.listeners.set(event, (this.listeners.get(event) ?? []).filter((f) => f !== fn));
  }
  dispatch(event: string) {
    for (const fn of this.listeners.get(event) ?? []) fn();
  }
  removeAttribute() {
    this.src = '';
  }
  load() {}
  getVideoPlaybackQuality() {
    return { totalVideoFrames: 0 };
  }
  frame() {
    const pending = this.callbacks;
    this.callbacks = [];
    this.currentTime += 0.033 * this.playbackRate;
    for (const cb of pending) cb();
  }
}

let listed: string[];
let statuses: PlaybackStatus[];
let infos: PlaybackInfo[];
let video: FakeVideo;
const state = () => statuses.at(-1)?.state;
const hls = () => FakeHls.instances.at(-1)!;

async function frames(n: number) {
  for (let i = 0; i < n; i++) {
    video.frame();
    await vi.advanceTimersByTimeAsync(33);
  }
}

function start() {
  return startHlsPlayback(video as unknown as HTMLVideoElement, {
    manifestUrl: '/hls/demo/index.m3u8',
    liveUrl: '/api/streams/live',
    streamName: 'demo',
    loadHls: async () => FakeHls as unknown as typeof HlsType,
    callbacks: { onStatus: (s) => statuses.push(s), onInfo: (i) => infos.push(i) },
  });
}

const fatal = (type: string, details: string, code?: number) => ({ fatal: true, type, details, response: code === undefined ? undefined : { code, text: '' } });

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'Date'] });
  FakeHls.instances = [];
  listed = ['demo'];
  statuses = [];
  infos = [];
  video = new FakeVideo();
  vi.stubGlobal('document', { hidden: false });
  vi.stubGlobal('MediaSource', function MediaSource() {});
  vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(listed.map((name) => ({ name }))), { status: 200 })));
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('HLS playback', () => {
  it('loads the manifest with low-latency settings, goes live on the first frame and shows the rendition and latency', async () => {
    const playback = start();
    await vi.advanceTimersByTimeAsync(0);
    expect(state()).toBe('connecting');
    expect(hls().url).toBe('/hls/demo/index.m3u8');
    // hls.js's own catch-up off: the mode holds the latency itself (next test).
    expect(hls().config).toMatchObject({ lowLatencyMode: true, maxLiveSyncPlaybackRate: 1 });
    hls().emit(FakeHls.Events.LEVEL_LOADED, { details: { live: true } });
    await frames(3);
    expect(state()).toBe('live');
    expect(infos.at(-1)).toEqual({ rendition: '480p · 1.2 Mbps', latencySec: 1.25, native: false });
    playback.stop();
    expect(hls().destroyed).toBe(true);
  });

  it('holds the target latency: started 0.4 s further behind, it plays faster until caught up, then at normal speed', async () => {
    start();
    await vi.advanceTimersByTimeAsync(0);
    const player = hls();
    // The edge moves on in real time; the playhead at the playback rate.
    let edge = 1.1;
    Object.defineProperty(player, 'latency', { get: () => edge - video.currentTime });
    player.targetLatency = 0.7;
    const rates = new Set<number>();
    for (let i = 0; i < 150; i++) {
      video.bufferAhead = player.latency - 0.15;
      edge += 0.033;
      await frames(1);
      rates.add(video.playbackRate);
    }
    expect(Math.max(...rates)).toBeGreaterThan(1);
    expect(player.latency).toBeGreaterThan(0.68);
    expect(player.latency).toBeLessThan(0.8);
    expect(video.playbackRate).toBe(1);
  });

  it('does not speed up with little buffered, whatever the latency (a stall costs more)', async () => {
    start();
    await vi.advanceTimersByTimeAsync(0);
    hls().latency = 2;
    video.bufferAhead = 0.2;
    await frames(60);
    expect(state()).toBe('live');
    expect(video.playbackRate).toBe(1);
  });

  it('shows offline on a 404 manifest and loads again once the stream is listed', async () => {
    listed = [];
    start();
    await vi.advanceTimersByTimeAsync(0);
    hls().emit(FakeHls.Events.ERROR, fatal(FakeHls.ErrorTypes.NETWORK_ERROR, FakeHls.ErrorDetails.MANIFEST_LOAD_ERROR, 404));
    expect(state()).toBe('offline');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeHls.instances).toHaveLength(1);
    listed = ['demo'];
    await vi.advanceTimersByTimeAsync(2500);
    expect(FakeHls.instances).toHaveLength(2);
    await frames(2);
    expect(state()).toBe('live');
  });

  it('retries a fatal network error (origin down) with a fresh instance after a backoff delay', async () => {
    start();
    await vi.advanceTimersByTimeAsync(0);
    await frames(2);
    hls().emit(FakeHls.Events.ERROR, fatal(FakeHls.ErrorTypes.NETWORK_ERROR, FakeHls.ErrorDetails.FRAG_LOAD_ERROR, 502));
    expect(state()).toBe('reconnecting');
    expect(statuses.at(-1)?.detail).toMatch(/502/);
    expect(FakeHls.instances[0]!.destroyed).toBe(true);
    expect(FakeHls.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1300);
    expect(FakeHls.instances).toHaveLength(2);
    await frames(2);
    expect(state()).toBe('live');
  });

  it('ignores non-fatal errors (hls.js retries those itself)', async () => {
    start();
    await vi.advanceTimersByTimeAsync(0);
    await frames(2);
    hls().emit(FakeHls.Events.ERROR, { fatal: false, type: FakeHls.ErrorTypes.NETWORK_ERROR, details: FakeHls.ErrorDetails.FRAG_LOAD_ERROR });
    await frames(2);
    expect(state()).toBe('live');
    expect(FakeHls.instances).toHaveLength(1);
  });

  it('recovers media errors in place, swaps the audio codec on a quick second one, and starts afresh on a third', async () => {
    start();
    await vi.advanceTimersByTimeAsync(0);
    await frames(2);
    const first = hls();
    const mediaError = fatal(FakeHls.ErrorTypes.MEDIA_ERROR, FakeHls.ErrorDetails.BUFFER_APPEND_ERROR);
    first.emit(FakeHls.Events.ERROR, mediaError);
    expect(first.recoverMediaError).toHaveBeenCalledTimes(1);
    expect(first.swapAudioCodec).not.toHaveBeenCalled();
    await frames(10);
    first.emit(FakeHls.Events.ERROR, mediaError);
    expect(first.swapAudioCodec).toHaveBeenCalledTimes(1);
    expect(first.recoverMediaError).toHaveBeenCalledTimes(2);
    expect(FakeHls.instances).toHaveLength(1);
    first.emit(FakeHls.Events.ERROR, mediaError);
    expect(first.destroyed).toBe(true);
    await vi.advanceTimersByTimeAsync(1300);
    expect(FakeHls.instances).toHaveLength(2);
  });

  it('shows offline when the playlist ends and the buffer plays out, then waits for the stream', async () => {
    start();
    await vi.advanceTimersByTimeAsync(0);
    hls().emit(FakeHls.Events.LEVEL_LOADED, { details: { live: true } });
    await frames(5);
    hls().emit(FakeHls.Events.LEVEL_UPDATED, { details: { live: false } });
    await frames(5);
    expect(state()).toBe('live');
    listed = [];
    video.dispatch('ended');
    expect(state()).toBe('offline');
    expect(hls().destroyed).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(FakeHls.instances).toHaveLength(1);
  });

  it('does not play an already ended playlist (the last broadcast) from the start', async () => {
    start();
    await vi.advanceTimersByTimeAsync(0);
    hls().emit(FakeHls.Events.LEVEL_LOADED, { details: { live: false } });
    expect(state()).toBe('offline');
    expect(hls().destroyed).toBe(true);
  });

  it('restarts when frames stop for good while the playlist is live', async () => {
    start();
    await vi.advanceTimersByTimeAsync(0);
    await frames(3);
    await vi.advanceTimersByTimeAsync(3500);
    expect(state()).toBe('reconnecting');
    expect(FakeHls.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(FakeHls.instances[0]!.destroyed).toBe(true);
    await vi.advanceTimersByTimeAsync(1300);
    expect(FakeHls.instances).toHaveLength(2);
  });

  it('uses the browser’s own HLS without MSE (iOS Safari) and never loads hls.js', async () => {
    vi.stubGlobal('MediaSource', undefined);
    video.nativeHls = true;
    const loadHls = vi.fn();
    startHlsPlayback(video as unknown as HTMLVideoElement, { manifestUrl: '/hls/demo/index.m3u8', liveUrl: '/api/streams/live', streamName: 'demo', loadHls, callbacks: { onStatus: (s) => statuses.push(s), onInfo: (i) => infos.push(i) } });
    await vi.advanceTimersByTimeAsync(0);
    expect(loadHls).not.toHaveBeenCalled();
    expect(video.src).toBe('/hls/demo/index.m3u8');
    expect(infos.at(-1)?.native).toBe(true);
    await frames(2);
    expect(state()).toBe('live');
  });
});
