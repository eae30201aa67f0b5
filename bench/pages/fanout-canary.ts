/**
 * Fan-out canary page: one real viewer (the site's WHEP client, Chromium decoding) of the stream
 * the fan-out bench ramps. Records every displayed frame's RTP timestamp, display time,
 * receive/capture time and presentedFrames at `requestVideoFrameCallback`; bench/lib/fanout-canary.ts
 * takes them window by window through `window.bench` and turns them into latency and freezes
 * (bench/lib/fanout-canary-latency.ts).
 */
import { playWhep, type WhepSession } from '@onair/shared/webrtc-client';
import { epochNow, statsOfType, toEpoch } from './clock';
import { appendPlayerVideo } from './player-video';

interface CanaryFrame {
  display: number;
  rtp: number;
  presented: number;
  receive?: number;
  capture?: number;
}

const video = appendPlayerVideo();

let frames: CanaryFrame[] = [];
let withoutRtp = 0;
let onFirstFrame: ((t: number) => void) | undefined;
const firstFrame = new Promise<number>((resolve) => (onFirstFrame = resolve));

function onFrame(_now: number, meta: VideoFrameCallbackMetadata): void {
  const display = toEpoch(meta.expectedDisplayTime);
  onFirstFrame?.(display);
  onFirstFrame = undefined;
  if (meta.rtpTimestamp === undefined) withoutRtp += 1;
  else {
    frames.push({
      display,
      rtp: meta.rtpTimestamp,
      presented: meta.presentedFrames,
      receive: meta.receiveTime === undefined ? undefined : toEpoch(meta.receiveTime),
      capture: meta.captureTime === undefined ? undefined : toEpoch(meta.captureTime),
    });
  }
  video.requestVideoFrameCallback(onFrame);
}
video.requestVideoFrameCallback(onFrame);

let whep: WhepSession | undefined;

const bench = {
  ready: true,
  /** Starts playing; resolves with the epoch ms of the first displayed frame. */
  async play(url: string) {
    whep = await playWhep(url);
    video.srcObject = whep.stream;
    void video.play().catch(() => undefined);
    return firstFrame;
  },
  /** Frames displayed since the last call, and the time of the call (epoch ms). */
  take() {
    const out = { frames, withoutRtp, now: epochNow(), connection: whep?.pc.connectionState ?? 'none' };
    frames = [];
    withoutRtp = 0;
    return out;
  },
  async stats() {
    if (!whep) return [];
    return (await statsOfType(whep.pc, 'inbound-rtp')).filter((s) => s.kind === 'video');
  },
  async stop() {
    await whep?.close();
    whep = undefined;
  },
};
Object.assign(window, { bench });
