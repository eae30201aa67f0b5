/**
 * A WHIP publisher built on libwebrtc (@roamhq/wrtc): a VP8 encoder fed with synthetic I420
 * frames (a moving gradient) through the nonstandard RTCVideoSource. wrtc has no H.264
 * (FIELD-NOTES), so this is the VP8 / libwebrtc peer of the tests.
 */
import wrtc from '@roamhq/wrtc';

export interface WrtcVp8Publisher {
  resourceUrl: string;
  answerMs: number;
  connected: Promise<void>;
  stop(opts?: { delete?: boolean }): Promise<void>;
}

export async function startWrtcVp8Publisher(opts: { whipUrl: string; streamKey: string; width?: number; height?: number; fps?: number }): Promise<WrtcVp8Publisher> {
  const width = opts.width ?? 320;
  const height = opts.height ?? 240;
  const fps = opts.fps ?? 30;
  const pc = new wrtc.RTCPeerConnection({ iceServers: [] });
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  pc.addTransceiver(track, { direction: 'sendonly' });
  const frame = { width, height, data: new Uint8Array((width * height * 3) / 2) };
  let tick = 0;
  const timer = setInterval(() => {
    tick += 1;
    const luma = width * height;
    for (let i = 0; i < luma; i += 1) frame.data[i] = ((i % width) + tick * 4) & 0xff;
    frame.data.fill(128, luma);
    source.onFrame(frame);
  }, 1000 / fps);

  const connected = new Promise<void>((resolve, reject) => {
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') resolve();
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') reject(new Error(`peer ${pc.connectionState}`));
    });
  });
  connected.catch(() => undefined);
  await pc.setLocalDescription(await pc.createOffer());
  // No trickle from this client: wait for host candidates (bounded), then send one offer.
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const done = () => {
      clearTimeout(bound);
      resolve();
    };
    const bound = setTimeout(done, 2000);
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && done());
  });
  const started = performance.now();
  const res = await fetch(opts.whipUrl, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${opts.streamKey}` }, body: pc.localDescription!.sdp });
  const answerMs = performance.now() - started;
  if (res.status !== 201) {
    clearInterval(timer);
    track.stop();
    pc.close();
    throw new Error(`WHIP POST answered ${res.status}: ${await res.text()}`);
  }
  const resourceUrl = new URL(res.headers.get('location')!, opts.whipUrl).toString();
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  let stopped: Promise<void> | undefined;
  return {
    resourceUrl,
    answerMs,
    connected,
    stop(stopOpts = {}) {
      stopped ??= (async () => {
        clearInterval(timer);
        if (stopOpts.delete) await fetch(resourceUrl, { method: 'DELETE' }).catch(() => undefined);
        track.stop();
        pc.close();
      })();
      return stopped;
    },
  };
}
