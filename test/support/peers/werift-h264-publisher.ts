/**
 * A WHIP publisher in Node: ffmpeg encodes a test pattern to H.264 (Constrained Baseline,
 * zerolatency, like a WebRTC encoder) and sends it as plain RTP to a local UDP socket; each
 * packet goes into a werift sendonly track, published over WHIP. With `audio`, the same ffmpeg
 * also encodes a tone to Opus for a second track: both from one process, on one timeline.
 *
 *   const pub = await startWeriftH264Publisher({ whipUrl, streamKey });
 *   await pub.connected; … await pub.stop();
 */
import type { ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { spawnTied } from '../tied-spawn';

export interface WeriftH264PublisherOptions {
  whipUrl: string;
  streamKey: string;
  width?: number;
  height?: number;
  fps?: number;
  /** Keyframe interval in frames (default one per second). */
  gopFrames?: number;
  ffmpegPath?: string;
  /** The picture as a lavfi graph (default `testsrc` at width × height and fps). */
  lavfi?: string;
  /** A constant video bitrate, kbit/s, with a quarter second of VBV as a WebRTC encoder keeps (default: x264's own choice for the picture). */
  videoKbps?: number;
  /** Also publish an Opus track (20 ms packets). */
  audio?: boolean;
  /**
   * The sound as a lavfi source (default a 440 Hz tone). A tone repeats every few packets; noise
   * (`anoisesrc`) makes every packet's payload its own, so `audioTimestampOf` tells them apart.
   */
  audioLavfi?: string;
}

export interface WeriftH264Publisher {
  /** Session resource URL (absolute). */
  resourceUrl: string;
  /** Time from POST to the 201 answer, ms. */
  answerMs: number;
  /** Resolves when ICE+DTLS are up. */
  connected: Promise<void>;
  pc: RTCPeerConnection;
  /** RTP packets handed to werift so far. */
  packetsSent(): number;
  /** RTP timestamp of the first packet handed to werift per track: ffmpeg's presentation time 0 of each (one timeline). */
  firstTimestamps: { video?: number; audio?: number };
  /** The RTP timestamp ffmpeg gave the audio packet with this payload (the last one, if payloads repeat). */
  audioTimestampOf(payload: Uint8Array): number | undefined;
  /** Stops media and closes the peer; `delete: true` also DELETEs the session resource (a clean stop). */
  stop(opts?: { delete?: boolean }): Promise<void>;
}

/** Loopback-only ICE for test peers (werift otherwise advertises every interface). */
export const loopbackIce = { iceUseIpv4: false, iceUseIpv6: false, iceUseTcp: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' } };

export async function waitGathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise<void>((resolve) => {
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state === 'complete') {
        unSubscribe();
        resolve();
      }
    });
  });
}

export function connectedPromise(pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    if (pc.connectionState === 'connected') return resolve();
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') resolve();
      if (state === 'failed' || state === 'closed') reject(new Error(`peer ${state}`));
    });
  });
}

/** A werift peer with one sendonly H.264 (Constrained Baseline) track, published over WHIP. */
export interface WeriftH264Whip {
  pc: RTCPeerConnection;
  track: MediaStreamTrack;
  /** The Opus track, when asked for. */
  audioTrack?: MediaStreamTrack;
  /** Resolves when ICE+DTLS are up. */
  connected: Promise<void>;
  resourceUrl: string;
  /** Time from POST to the 201 answer, ms. */
  answerMs: number;
}

/** Offers, POSTs to WHIP and applies the answer; throws (peer closed) on anything but 201. */
export async function openWeriftH264Whip(whipUrl: string, streamKey: string, opts: { audio?: boolean } = {}): Promise<WeriftH264Whip> {
  const pc = new RTCPeerConnection({
    codecs: {
      video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }], parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' })],
      audio: opts.audio ? [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })] : [],
    },
    ...loopbackIce,
  });
  const track = new MediaStreamTrack({ kind: 'video' });
  pc.addTransceiver(track, { direction: 'sendonly' });
  const audioTrack = opts.audio ? new MediaStreamTrack({ kind: 'audio' }) : undefined;
  if (audioTrack) pc.addTransceiver(audioTrack, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await waitGathered(pc);
  const connected = connectedPromise(pc);
  connected.catch(() => undefined);

  const started = performance.now();
  const response = await fetch(whipUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${streamKey}` },
    body: pc.localDescription!.sdp,
  });
  const answerMs = performance.now() - started;
  if (response.status !== 201) {
    await pc.close();
    throw new Error(`WHIP POST answered ${response.status}: ${await response.text()}`);
  }
  const resourceUrl = new URL(response.headers.get('location')!, whipUrl).toString();
  await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
  return { pc, track, audioTrack, connected, resourceUrl, answerMs };
}

export async function startWeriftH264Publisher(opts: WeriftH264PublisherOptions): Promise<WeriftH264Publisher> {
  const { pc, track, audioTrack, connected, resourceUrl, answerMs } = await openWeriftH264Whip(opts.whipUrl, opts.streamKey, { audio: opts.audio });

  // ffmpeg → UDP → werift track. Packets are forwarded once the peer is connected.
  let sent = 0;
  const firstTimestamps: { video?: number; audio?: number } = {};
  const audioTimestamps = new Map<string, number>();
  const relay = async (kind: 'video' | 'audio', to: MediaStreamTrack): Promise<Socket> => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    socket.on('message', (packet) => {
      if (packet.length < 12) return;
      // ffmpeg's first packet of the track, sent or not: its presentation time 0.
      firstTimestamps[kind] ??= packet.readUInt32BE(4);
      // ffmpeg's RTP muxer writes a plain 12-byte header (no CSRCs, no extensions).
      if (kind === 'audio') audioTimestamps.set(packet.subarray(12).toString('base64'), packet.readUInt32BE(4));
      if (pc.connectionState !== 'connected') return;
      sent += 1;
      to.writeRtp(packet);
    });
    return socket;
  };
  const socket = await relay('video', track);
  const audioSocket = audioTrack ? await relay('audio', audioTrack) : undefined;
  const fps = opts.fps ?? 30;
  const ffmpeg: ChildProcess = spawnTied(
    opts.ffmpegPath ?? '/usr/bin/ffmpeg',
    [
      '-hide_banner', '-nostats', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', opts.lavfi ?? `testsrc=size=${opts.width ?? 640}x${opts.height ?? 360}:rate=${fps}`,
      ...(audioSocket ? ['-re', '-f', 'lavfi', '-i', opts.audioLavfi ?? 'sine=frequency=440:sample_rate=48000'] : []),
      '-map', '0:v',
      '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
      '-g', String(opts.gopFrames ?? fps),
      ...(opts.videoKbps ? ['-b:v', `${opts.videoKbps}k`, '-maxrate', `${opts.videoKbps}k`, '-bufsize', `${Math.round(opts.videoKbps / 4)}k`] : []),
      '-an', '-f', 'rtp', `rtp://127.0.0.1:${(socket.address()).port}?pkt_size=1200`,
      ...(audioSocket ? ['-map', '1:a', '-c:a', 'libopus', '-b:a', '32k', '-ac', '2', '-frame_duration', '20', '-f', 'rtp', `rtp://127.0.0.1:${audioSocket.address().port}`] : []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  ffmpeg.stderr?.resume();
  const ffmpegExited = new Promise<void>((resolve) => ffmpeg.once('exit', () => resolve()));

  let stopped: Promise<void> | undefined;
  return {
    resourceUrl,
    answerMs,
    connected,
    pc,
    packetsSent: () => sent,
    firstTimestamps,
    audioTimestampOf: (payload) => audioTimestamps.get(Buffer.from(payload).toString('base64')),
    stop(stopOpts = {}) {
      stopped ??= (async () => {
        if (ffmpeg.exitCode === null && ffmpeg.signalCode === null) {
          ffmpeg.kill('SIGKILL');
          await ffmpegExited;
        }
        socket.close();
        audioSocket?.close();
        if (stopOpts.delete) await fetch(resourceUrl, { method: 'DELETE' }).catch(() => undefined);
        await pc.close();
      })();
      return stopped;
    },
  };
}
