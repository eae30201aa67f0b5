/**
 * Bench viewer page: plays a stream over WHEP (the site's client) or HLS (hls.js) and reads the
 * publisher's time code from every frame at `requestVideoFrameCallback`, recording
 * display time − capture time on the clock both pages share. Driven through `window.bench`;
 * `?autostart=whep|hls&src=<url>[&config=<hls.js config JSON>|&ll=0|1]` starts at page load
 * (time-to-first-frame runs).
 */
import Hls, { type HlsConfig } from 'hls.js';
import { playWhep, waitForIceGathering, type WhepSession } from '@onair/shared/webrtc-client';
import { getWhepLayers, layerUrlFromLinkHeader, selectWhepLayer } from '@onair/shared/whep-layers-client';
import type { WhepLayers } from '@onair/shared/api';
import { readTimecode } from '../lib/timecode';
import { epochNow, statsOfType, toEpoch } from './clock';
import type { FrameSample } from '../lib/bench-pages';
import { appendPlayerVideo } from './player-video';
import { startHlsPlayback } from '../../apps/web/lib/hls-playback';
import type { PlaybackMode } from '../../apps/web/lib/playback';


const SAMPLE_W = 320;
const SAMPLE_H = 180;

const video = appendPlayerVideo();
const sampler = document.createElement('canvas');
sampler.width = SAMPLE_W;
sampler.height = SAMPLE_H;
const sctx = sampler.getContext('2d', { willReadFrequently: true })!;

let samples: FrameSample[] = [];
let misread = 0;
let lastCode = -1;
let firstFrameEpoch: number | undefined;
let onFirstFrame: ((t: number) => void) | undefined;
const firstFrame = new Promise<number>((resolve) => (onFirstFrame = resolve));

function onFrame(now: number, meta: VideoFrameCallbackMetadata): void {
  const callback = toEpoch(now);
  if (firstFrameEpoch === undefined) {
    firstFrameEpoch = toEpoch(meta.expectedDisplayTime);
    onFirstFrame?.(firstFrameEpoch);
  }
  sctx.drawImage(video, 0, 0, SAMPLE_W, SAMPLE_H);
  const code = readTimecode(sctx.getImageData(0, 0, SAMPLE_W, SAMPLE_H).data, SAMPLE_W, SAMPLE_H);
  if (code === undefined) misread++;
  else if (code !== lastCode) {
    lastCode = code;
    const receive = (meta as VideoFrameCallbackMetadata & { receiveTime?: number }).receiveTime;
    samples.push({ capture: code, display: toEpoch(meta.expectedDisplayTime), callback, receive: receive === undefined ? undefined : toEpoch(receive), width: meta.width, height: meta.height });
  }
  video.requestVideoFrameCallback(onFrame);
}
video.requestVideoFrameCallback(onFrame);

let whep: WhepSession | undefined;
let videoOnly: { pc: RTCPeerConnection; location: string } | undefined;
let hls: Hls | undefined;
/** The site's HLS mode when `playSiteHls` runs it (its hls.js instance is `hls`). */
let siteHls: PlaybackMode | undefined;
const hlsLog: Array<{ t: number; latency: number; targetLatency: number; drift: number; rate: number; buffer: number; level: number }> = [];
const hlsEvents: Record<string, number> = {};
const hlsErrors: string[] = [];

/** Every 500 ms while playing: hls.js's latency, its target, the buffer ahead and the playback rate. */
function logHls(): void {
  setInterval(() => {
    if (!hls || video.readyState < 2) return;
    const buffered = video.buffered.length ? video.buffered.end(video.buffered.length - 1) - video.currentTime : 0;
    hlsLog.push({ t: epochNow(), latency: hls.latency, targetLatency: hls.targetLatency ?? Number.NaN, drift: hls.drift ?? Number.NaN, rate: video.playbackRate, buffer: buffered, level: hls.currentLevel });
  }, 500);
}

const bench = {
  ready: true,
  visibility: () => document.visibilityState,
  firstFrame: () => firstFrame,
  /** Samples since the last call (and misread frames), then starts afresh. */
  take() {
    const out = { samples, misread, quality: video.getVideoPlaybackQuality?.() ? { dropped: video.getVideoPlaybackQuality().droppedVideoFrames, total: video.getVideoPlaybackQuality().totalVideoFrames } : undefined };
    samples = [];
    misread = 0;
    return out;
  },
  /** WHEP: times of each step, epoch ms. */
  async playWhep(url: string) {
    const start = epochNow();
    const steps: Record<string, number> = { start };
    const session = await playWhep(url);
    whep = session;
    steps.offerSent = start + session.gatherMs;
    steps.answer = start + session.answerMs;
    const pc = session.pc;
    const mark = (name: string, done: () => boolean) => {
      if (done()) steps[name] ??= epochNow();
    };
    const check = () => {
      mark('iceConnected', () => pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed');
      mark('connected', () => pc.connectionState === 'connected');
    };
    pc.addEventListener('iceconnectionstatechange', check);
    pc.addEventListener('connectionstatechange', check);
    check();
    session.on('track', (track) => {
      if (track.kind === 'video') steps.track ??= epochNow();
    });
    if (session.stream.getVideoTracks().length > 0) steps.track ??= epochNow();
    video.srcObject = session.stream;
    void video.play().catch(() => undefined);
    return { steps, firstFrame: firstFrame.then((t) => ({ ...steps, firstFrame: t })) };
  },
  /**
   * WHEP without the audio m-line (diagnostic): no lip sync group, so the video jitter buffer is
   * not held back to the audio's playout delay. A bare offer/answer, as the shared client does it.
   */
  async playWhepVideoOnly(url: string) {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.addEventListener('track', (event) => stream.addTrack(event.track));
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc, 1000, 50);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription!.sdp });
    if (res.status !== 201) throw new Error(`WHEP video-only: HTTP ${res.status} ${await res.text()}`);
    const location = new URL(res.headers.get('location') ?? '', url).toString();
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    videoOnly = { pc, location };
    video.srcObject = stream;
    void video.play().catch(() => undefined);
  },
  /** The WHEP session's layer resource as the server says it now (its `audioHoldMs`: the sound's hold for lip sync). */
  async layers() {
    const session = whep;
    const url = session ? layerUrlFromLinkHeader(session.linkHeader, session.resourceUrl) : null;
    if (!url) throw new Error('layers: no WHEP session with a layer resource');
    return getWhepLayers(url);
  },
  /**
   * Pins the WHEP session to a video layer of `kind` through the layer extension
   * (apps/ingest/src/renditions/layer-routes.ts) and resolves once the server says it is active:
   * the largest transcoded rung, or the simulcast layer below the largest. Rejects after 30 s.
   */
  async pinLayer(kind: 'transcoded' | 'simulcast') {
    const session = whep;
    if (!session) throw new Error('pinLayer: no WHEP session');
    const url = layerUrlFromLinkHeader(session.linkHeader, session.resourceUrl);
    if (!url) throw new Error('pinLayer: the answer announced no layer resource');
    const deadline = epochNow() + 30_000;
    const wait = () => new Promise((r) => setTimeout(r, 200));
    let layers: WhepLayers = await getWhepLayers(url);
    const pick = (list: WhepLayers['layers']) => {
      const ofKind = list.filter((l) => l.kind === kind && l.height !== null).sort((a, b) => b.height! - a.height!);
      return kind === 'simulcast' ? ofKind[1] : ofKind[0];
    };
    // A simulcast publisher turns its layers on as its bandwidth estimate grows: give it 10 s to
    // show all three, so the pick (the middle one) does not depend on how far the ramp got.
    const settled = epochNow() + 10_000;
    const count = () => layers.layers.filter((l) => l.kind === kind).length;
    while (kind === 'simulcast' && count() < 3 && epochNow() < settled) {
      await wait();
      layers = await getWhepLayers(url);
    }
    let layer = pick(layers.layers);
    while (!layer) {
      if (epochNow() > deadline) throw new Error(`pinLayer: no ${kind} layer within 30 s (layers: ${JSON.stringify(layers.layers.map((l) => [l.encodingId, l.kind, l.height]))})`);
      await wait();
      layers = await getWhepLayers(url);
      layer = pick(layers.layers);
    }
    layers = await selectWhepLayer(url, layer.encodingId);
    while (layers.active !== layer.encodingId) {
      if (epochNow() > deadline) throw new Error(`pinLayer: ${layer.encodingId} not active within 30 s (active ${layers.active}, pending ${layers.pending})`);
      await wait();
      layers = await getWhepLayers(url);
    }
    return { encodingId: layer.encodingId, width: layer.width, height: layer.height, bitrateKbps: layer.bitrateKbps };
  },
  /** Resolves with the WHEP steps once the first frame was shown. */
  async whepFirstFrame(url: string) {
    const { firstFrame: done } = await bench.playWhep(url);
    return done;
  },
  async whepStats() {
    const pc = whep?.pc ?? videoOnly?.pc;
    if (!pc) return [];
    return statsOfType(pc, 'inbound-rtp', 'candidate-pair');
  },
  playHls(url: string, config: Partial<HlsConfig>) {
    if (!Hls.isSupported()) throw new Error('hls.js: MediaSource is not supported in this browser');
    hls = new Hls({ ...config });
    const mark = (name: string) => () => void (hlsEvents[name] ??= epochNow());
    hls.once(Hls.Events.MANIFEST_LOADED, mark('manifestLoaded'));
    hls.once(Hls.Events.LEVEL_LOADED, mark('levelLoaded'));
    hls.once(Hls.Events.FRAG_LOADED, mark('firstFragLoaded'));
    hls.once(Hls.Events.FRAG_BUFFERED, mark('firstFragBuffered'));
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (hlsErrors.length < 50) hlsErrors.push(`${data.fatal ? 'FATAL ' : ''}${data.type}/${data.details}`);
      if (data.fatal && data.type === Hls.ErrorTypes.MEDIA_ERROR) hls!.recoverMediaError();
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    void video.play().catch(() => undefined);
    logHls();
  },
  /**
   * LL-HLS as /watch plays it: the site's own HLS mode (apps/web/lib/hls-playback.ts: its hls.js
   * settings, recovery and latency hold), its hls.js instance captured for the log.
   */
  playSiteHls(url: string) {
    const Capturing = class extends Hls {
      constructor(config?: Partial<HlsConfig>) {
        super(config);
        hls = this;
      }
    };
    siteHls = startHlsPlayback(video, {
      manifestUrl: url,
      // Consulted only while offline, which a bench run never is.
      liveUrl: new URL('/no-live-list', location.href).toString(),
      streamName: 'bench',
      callbacks: { onStatus: () => undefined },
      loadHls: async () => Capturing,
    });
    logHls();
  },
  hlsInfo() {
    const levels = hls?.levels.map((l) => `${l.width}x${l.height}@${l.bitrate}`) ?? [];
    const config = hls ? { lowLatencyMode: hls.config.lowLatencyMode, liveSyncDurationCount: hls.config.liveSyncDurationCount, liveSyncDuration: hls.config.liveSyncDuration, maxLiveSyncPlaybackRate: hls.config.maxLiveSyncPlaybackRate } : undefined;
    return { log: hlsLog.splice(0), events: hlsEvents, errors: hlsErrors, levels, config, timeOrigin: performance.timeOrigin };
  },
  async stop() {
    await whep?.close();
    whep = undefined;
    if (videoOnly) {
      videoOnly.pc.close();
      await fetch(videoOnly.location, { method: 'DELETE' }).catch(() => undefined);
      videoOnly = undefined;
    }
    siteHls?.stop();
    siteHls = undefined;
    hls?.destroy();
    hls = undefined;
  },
};
Object.assign(window, { bench });

const query = new URLSearchParams(location.search);
const src = query.get('src');
if (query.get('autostart') === 'hls' && src) bench.playHls(src, query.get('config') ? JSON.parse(query.get('config')!) : { lowLatencyMode: query.get('ll') !== '0' });
if (query.get('autostart') === 'whep' && src) {
  const auto = bench.playWhep(src).then((r) => r.firstFrame);
  Object.assign(bench, { auto });
}
