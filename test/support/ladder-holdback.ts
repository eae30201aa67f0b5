/**
 * How many frames the live ladder holds back, against real ffmpeg with the transcoder's own
 * command: a recorded H.264 RTP source (with its Opus sound, if asked) is fed to it one video
 * frame at a time, with the sound that came before the next frame, and after each frame we wait
 * (bounded) until every rung has sent it out as RTP, the way WebRTC viewers get it.
 *
 * Stepping frame by frame makes this independent of the machine's speed: a held-back frame is
 * not a slow one, it waits for later input. Every frame held is a frame interval (33 ms at 30 fps)
 * on every viewer's latency, WebRTC and LL-HLS alike.
 *
 * `deliver` says how packets reach ffmpeg: as recorded (plain UDP), or through the ingest's
 * forward (test/integration/forward-frame-holdback.test.ts).
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startFfmpegRtpSource } from './ffmpeg-rtp-source';
import { pollUntil } from './poll';
import { planRenditions, type SourceInfo } from '../../apps/transcoder/src/ladder/plan-renditions';
import { DEFAULT_PROFILE } from '../../apps/transcoder/src/ladder/profile';
import { UdpPortAllocator } from '../../apps/transcoder/src/net/udp-ports';
import { boundUdpPorts } from '../../apps/transcoder/src/ffmpeg/proc-stats';
import { buildFfmpegPlan, RTP_PACKET_BYTES, toArgs } from '../../apps/transcoder/src/ffmpeg/build-args';

const FFMPEG = process.env.ONAIR_FFMPEG_PATH ?? '/usr/bin/ffmpeg';
const ports = new UdpPortAllocator({ min: 43000, max: 43199 });

type Cleanup = () => Promise<void> | void;

/** A recorded packet and when it came (ms from the start of the recording). */
interface Recorded {
  packet: Buffer;
  at: number;
}

/** Sends one recorded packet of `kind` on to ffmpeg. */
export type Deliver = (kind: 'video' | 'audio', packet: Buffer) => void;

/** How packets reach ffmpeg's input ports: made once ffmpeg listens on them. */
export type Delivery = (ports: { video: number; audio: number }, cleanups: Cleanup[]) => Promise<Deliver>;

async function bindLoopback(cleanups: Cleanup[]): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => void socket.close());
  return socket;
}

/** Packets as recorded, over plain UDP. */
export const plainUdp: Delivery = async (to, cleanups) => {
  const sender = await bindLoopback(cleanups);
  return (kind, packet) => sender.send(packet, to[kind], '127.0.0.1');
};

/**
 * A 640×360 H.264 source as ffmpeg sends it over RTP (1 s GOP), with its Opus sound when `audio`,
 * recorded: its SDP, its video frames' packets and its audio packets, each with when it came.
 */
async function recordSource(seconds: number, audio: boolean, cleanups: Cleanup[]): Promise<{ sdp: string; frames: Recorded[][]; audioPackets: Recorded[] }> {
  // Paced at the frame rate, as a publisher sends (unpaced, a burst can overflow the socket's buffer).
  const socket = await bindLoopback(cleanups);
  const audioSocket = await bindLoopback(cleanups);
  const startedAt = performance.now();
  const packets: Recorded[] = [];
  const audioPackets: Recorded[] = [];
  let lastAt = 0;
  socket.on('message', (packet) => {
    lastAt = performance.now();
    packets.push({ packet, at: lastAt - startedAt });
  });
  audioSocket.on('message', (packet) => audioPackets.push({ packet, at: performance.now() - startedAt }));
  const src = await startFfmpegRtpSource({ videoPort: socket.address().port, audioPort: audio ? audioSocket.address().port : null, width: 640, height: 360, fps: 30, durationSec: seconds, realtime: true, pattern: 'testsrc2' });
  cleanups.push(() => src.stop());
  await src.exited;
  await pollUntil('the recording to settle (no packet for 100 ms)', () => packets.length > 0 && performance.now() - lastAt > 100, { timeoutMs: 5_000, intervalMs: 20 });
  // A lost packet would merge two frames (its marker gone) and read as a frame of no lag.
  const gaps = packets.filter((p, i) => i > 0 && p.packet.readUInt16BE(2) !== ((packets[i - 1]!.packet.readUInt16BE(2) + 1) & 0xffff)).length;
  if (gaps > 0) throw new Error(`the recorded source lost packets (${gaps} sequence gaps in ${packets.length})`);
  const frames: Recorded[][] = [];
  let frame: Recorded[] = [];
  for (const recorded of packets) {
    frame.push(recorded);
    // The marker bit ends an access unit (RFC 6184 §5.1).
    if (recorded.packet[1]! & 0x80) {
      frames.push(frame);
      frame = [];
    }
  }
  return { sdp: src.sdp, frames, audioPackets };
}

export interface FrameLags {
  /** After each stepped frame: frames in − the fewest out of any rung. */
  lags: number[];
  /** Frames stepped, and how many there were to step. */
  stepped: number;
  frames: number;
  /** Whether ffmpeg had exited by the end. */
  exited: boolean;
}

/**
 * Steps the recorded source through the ladder (see the file's comment). `allowedLag`: how many
 * frames behind still counts as caught up before the next frame is sent.
 */
export async function measureFrameLags(options: { audio: boolean; allowedLag: number; deliver: Delivery; cleanups: Cleanup[] }): Promise<FrameLags> {
  const { cleanups } = options;
  const dir = await mkdtemp(join(tmpdir(), 'onair-holdback-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const { sdp, frames, audioPackets } = await recordSource(3, options.audio, cleanups);
  if (frames.length < 80 || (options.audio && audioPackets.length < 100)) throw new Error(`a short recording: ${frames.length} frames, ${audioPackets.length} audio packets`);

  const video = await ports.allocate();
  const audio = await ports.allocate();
  cleanups.push(() => ports.release(video), () => ports.release(audio));
  const sdpPath = join(dir, 'input.sdp');
  await writeFile(sdpPath, sdp.replace(/m=video \d+/, `m=video ${video.rtp}`).replace(/m=audio \d+/, `m=audio ${audio.rtp}`));
  const sink = await bindLoopback(cleanups);
  const framesOut = new Map<number, number>();
  sink.on('message', (packet) => {
    if (packet[1]! & 0x80) framesOut.set(packet.readUInt32BE(8), (framesOut.get(packet.readUInt32BE(8)) ?? 0) + 1);
  });
  const source: SourceInfo = { hasVideo: true, hasAudio: options.audio, videoCodec: 'H264', ...(options.audio ? { audioCodec: 'opus' } : {}), width: 640, height: 360, fps: 30 };
  const renditions = planRenditions(DEFAULT_PROFILE, source);
  const url = `rtp://127.0.0.1:${sink.address().port}?pkt_size=${RTP_PACKET_BYTES}`;
  const plan = buildFfmpegPlan({
    sdpPath,
    source,
    renditions,
    gopSeconds: DEFAULT_PROFILE.gopSeconds,
    targets: Object.fromEntries(renditions.map((r) => [r.id, join(dir, `${r.id}.mp4`)])),
    progressTarget: join(dir, 'progress'),
    rtp: { video: Object.fromEntries(renditions.map((r, i) => [r.id, { url, payloadType: 96, ssrc: 7000 + i }])) },
  });
  const ffmpeg = spawn(FFMPEG, toArgs(plan), { stdio: ['ignore', 'ignore', 'ignore'] });
  cleanups.push(() => void ffmpeg.kill('SIGKILL'));
  const listening = options.audio ? [video.rtp, audio.rtp] : [video.rtp];
  await pollUntil('ffmpeg to listen for RTP', async () => (await boundUdpPorts(listening)).size === listening.length, { timeoutMs: 15_000, intervalMs: 20 });

  const deliver = await options.deliver({ video: video.rtp, audio: audio.rtp }, cleanups);
  let audioSent = 0;
  /** Frame `index`, then the sound that came before the next frame (as the publisher sent them). */
  const send = (index: number) => {
    for (const { packet } of frames[index]!) deliver('video', packet);
    const until = frames[index + 1]?.[0]!.at ?? Infinity;
    while (audioSent < audioPackets.length && audioPackets[audioSent]!.at < until) deliver('audio', audioPackets[audioSent++]!.packet);
  };
  const fewestOut = () => (framesOut.size < renditions.length ? 0 : Math.min(...framesOut.values()));

  // Start-up: ffmpeg probes the first frames before it decodes any; feed until every rung has output.
  let sent = 0;
  await pollUntil(
    'the first frame out of every rung',
    () => {
      if (fewestOut() > 0) return true;
      if (sent < 30) send(sent++);
      return false;
    },
    { timeoutMs: 20_000, intervalMs: 50 },
  );
  // Then one frame at a time: after each, wait (bounded) until the rungs are caught up.
  const lags: number[] = [];
  let stuck = 0;
  while (sent < frames.length && stuck < 3) {
    send(sent++);
    const caughtUp = await pollUntil(`frame ${sent - 1} in → out`, () => sent - fewestOut() <= options.allowedLag || undefined, { timeoutMs: 3_000, intervalMs: 5 }).then(
      () => true,
      () => false,
    );
    if (!caughtUp) stuck += 1;
    lags.push(sent - fewestOut());
  }
  return { lags, stepped: sent, frames: frames.length, exited: ffmpeg.exitCode !== null };
}
