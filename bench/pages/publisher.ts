/**
 * Bench publisher page: a canvas that carries its own capture time as a block code in every
 * frame (bench/lib/timecode.ts), 30 frames a second into a video track, published over WHIP with
 * the same client the site's broadcaster uses. Driven by the bench through `window.bench`.
 *
 * Query: `w`, `h` (canvas size, default 1280×720), `fps` (default 30), `audio=0` (no tone track),
 * `source=camera` (the fake camera, without time code).
 */
import { publishWhip, type WhipSession } from '@onair/shared/webrtc-client';
import { openMoqSession, type MoqSession } from '../../apps/web/lib/moq/moq-session';
import { drawTimecode } from '../lib/timecode';
import { epochNow, statsOfType } from './clock';

const query = new URLSearchParams(location.search);
const width = Number(query.get('w') ?? 1280);
const height = Number(query.get('h') ?? 720);
const fps = Number(query.get('fps') ?? 30);

/**
 * Frames come from an OffscreenCanvas written into a MediaStreamTrackGenerator on a worker's
 * clock, not from `canvas.captureStream()` driven by requestAnimationFrame: headless Chromium
 * paints only the newest page at full rate (measured: a publisher page drops from 30 to ~1 fps
 * as soon as a viewer page opens, flags or not), and canvas capture follows painting. The
 * generator needs no painting, and the code is the time the frame is handed to the track.
 */
const canvas = new OffscreenCanvas(width, height);
const ctx = canvas.getContext('2d', { alpha: false })!;

let framesDrawn = 0;
function drawFrame(): number {
  framesDrawn++;
  const t = epochNow();
  // Moving content, so the encoder sees a picture that changes like a camera's would.
  ctx.fillStyle = '#303840';
  ctx.fillRect(0, 0, width, height);
  const barX = ((framesDrawn * 8) % (width + 200)) - 200;
  ctx.fillStyle = '#e07020';
  ctx.fillRect(barX, height * 0.1, 200, height * 0.8);
  ctx.fillStyle = '#ddd';
  ctx.font = `${Math.round(height / 14)}px monospace`;
  ctx.fillText(`${framesDrawn}  ${t.toFixed(1)}`, width * 0.6, height * 0.92);
  drawTimecode(ctx, t, width, height);
  return t;
}

interface TrackGenerator extends MediaStreamTrack {
  writable: WritableStream<VideoFrame>;
}
const Generator = (globalThis as unknown as { MediaStreamTrackGenerator?: new (init: { kind: 'video' }) => TrackGenerator }).MediaStreamTrackGenerator;
if (!Generator) throw new Error('bench publisher: MediaStreamTrackGenerator is not available in this browser');
const generator = new Generator({ kind: 'video' });
const writer = generator.writable.getWriter();
// Worker timers are not throttled with the page; the worker only ticks, drawing stays here.
const clock = new Worker(URL.createObjectURL(new Blob([`setInterval(() => postMessage(0), ${1000 / fps});`], { type: 'text/javascript' })));
clock.onmessage = () => {
  if (writer.desiredSize !== null && writer.desiredSize <= 0) return; // the encoder is behind: skip, as a camera would
  const t = drawFrame();
  void writer.write(new VideoFrame(canvas, { timestamp: Math.round((t - performance.timeOrigin) * 1000) })).catch(() => undefined);
};

const stream = new MediaStream([generator]);
// A quiet tone as the audio track, as a real publisher has one (the transcoder maps audio too).
if (query.get('audio') !== '0') {
  const audio = new AudioContext();
  const tone = audio.createOscillator();
  const gain = audio.createGain();
  gain.gain.value = 0.1;
  const sink = audio.createMediaStreamDestination();
  tone.connect(gain).connect(sink);
  tone.start();
  void audio.resume();
  for (const track of sink.stream.getAudioTracks()) stream.addTrack(track);
}
let session: WhipSession | undefined;
/** Publishing over WebTransport instead (the site's own Media-over-QUIC broadcaster code). */
let moq: MoqSession | undefined;

const bench = {
  ready: true,
  visibility: () => document.visibilityState,
  framesDrawn: () => framesDrawn,
  /** Publishes; returns the epoch times of the start of the exchange and of the 201 answer. */
  /**
   * Publishes over WHIP (`url` = the WHIP endpoint), or over WebTransport (`url` = the ingest's
   * `/api/webtransport`): then the "answer" is the Media-over-QUIC session being up (discovery,
   * QUIC + HTTP/3 handshake, moq-lite), which is also when it is connected.
   */
  async publish(url: string, token: string, transport: 'whip' | 'webtransport' = 'whip', options: { simulcast?: boolean } = {}) {
    // `?source=camera`: Chromium's fake camera instead of the canvas (no time code; for telling
    // source effects from server effects in start-up figures).
    const source = query.get('source') === 'camera' ? await navigator.mediaDevices.getUserMedia({ video: { width: width, height: height, frameRate: fps }, audio: true }) : stream;
    const startEpoch = epochNow();
    if (transport === 'webtransport') {
      moq = await openMoqSession({ discoveryUrl: url, streamKey: token, stream: source, videoBitrate: 2_500_000, keyframeIntervalMs: 1000, connectTimeoutMs: 4000 });
      const answerEpoch = epochNow();
      return { startEpoch, answerEpoch, answerMs: answerEpoch - startEpoch };
    }
    session = await publishWhip(url, token, source, { maxVideoBitrate: 2_500_000, simulcast: options.simulcast === true });
    return { startEpoch, answerEpoch: startEpoch + session.answerMs, answerMs: session.answerMs };
  },
  /** Resolves with the epoch time the connection reached `connected`. */
  connected(): Promise<number> {
    if (moq) return Promise.resolve(epochNow());
    const s = session;
    if (!s) return Promise.reject(new Error('not publishing'));
    if (s.pc.connectionState === 'connected') return Promise.resolve(epochNow());
    return new Promise((resolve) => {
      const on = () => {
        if (s.pc.connectionState !== 'connected') return;
        s.pc.removeEventListener('connectionstatechange', on);
        resolve(epochNow());
      };
      s.pc.addEventListener('connectionstatechange', on);
    });
  },
  async stats() {
    if (moq) {
      const f = moq.figures();
      return [{ type: 'outbound-rtp', kind: 'video', transport: 'webtransport', frameWidth: f.width, frameHeight: f.height, framesEncoded: f.videoFrames, bytesSent: f.videoBytes, framesDropped: f.droppedFrames, keyframeRequests: f.keyframeRequests }];
    }
    if (!session) return [];
    return statsOfType(session.pc, 'outbound-rtp', 'media-source', 'candidate-pair');
  },
  async stop() {
    moq?.close();
    moq = undefined;
    await session?.close();
    session = undefined;
  },
};
Object.assign(window, { bench });
