/**
 * Bench publisher page: a canvas that carries its own capture time as a block code in every
 * frame (bench/lib/timecode.ts), captured at 30 fps and published over WHIP with the same client
 * the site's broadcaster uses. Driven by the bench through `window.bench`.
 *
 * Query: `w`, `h` (canvas size, default 1280×720), `fps` (default 30), `audio=0` (no tone track).
 */
import { publishWhip, type WhipSession } from '@onair/shared/webrtc-client';
import { drawTimecode } from '../lib/timecode';
import { epochNow, statsOfType } from './clock';

const query = new URLSearchParams(location.search);
const width = Number(query.get('w') ?? 1280);
const height = Number(query.get('h') ?? 720);
const fps = Number(query.get('fps') ?? 30);

const canvas = document.createElement('canvas');
canvas.width = width;
canvas.height = height;
canvas.style.width = '320px';
document.body.append(canvas);
const ctx = canvas.getContext('2d', { alpha: false })!;

let framesDrawn = 0;
let lastDraw = 0;
const frameMs = 1000 / fps;
/**
 * Draws when a frame is due. The code is the time of drawing; the canvas is captured when the
 * page next paints, right after this rAF callback, so the code is within a few ms of capture.
 */
function draw(now: number): void {
  if (now - lastDraw >= frameMs - 4) {
    lastDraw = now;
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
  }
  requestAnimationFrame(draw);
}
requestAnimationFrame(draw);

const stream = canvas.captureStream(fps);
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

const bench = {
  ready: true,
  visibility: () => document.visibilityState,
  framesDrawn: () => framesDrawn,
  /** Publishes; returns the epoch times of the start of the exchange and of the 201 answer. */
  async publish(url: string, token: string) {
    const startEpoch = epochNow();
    session = await publishWhip(url, token, stream, { maxVideoBitrate: 2_500_000 });
    return { startEpoch, answerEpoch: startEpoch + session.answerMs, answerMs: session.answerMs };
  },
  /** Resolves with the epoch time the connection reached `connected`. */
  connected(): Promise<number> {
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
    if (!session) return [];
    return statsOfType(session.pc, 'outbound-rtp', 'media-source', 'candidate-pair');
  },
  async stop() {
    await session?.close();
    session = undefined;
  },
};
Object.assign(window, { bench });
