/**
 * Frames the live transcoder holds back, against real ffmpeg: a recorded H.264 RTP source is fed
 * to the service's ffmpeg command one frame at a time, and each frame must come out of every rung
 * (as RTP, the way WebRTC viewers get it) before the next-but-one goes in. Every frame held inside
 * ffmpeg is a frame interval (33 ms at 30 fps) on every viewer's latency, WebRTC and LL-HLS alike.
 *
 * Stepping frame by frame makes this independent of the machine's speed: a held-back frame is
 * not a slow one, it waits for later input. One frame of lag is ffmpeg's: its RTP H.264 input
 * runs a parser that ends an access unit only when the next one begins.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startFfmpegRtpSource } from '../../../../test/support/ffmpeg-rtp-source';
import { pollUntil } from '../../../../test/support/poll';
import { planRenditions, type SourceInfo } from '../ladder/plan-renditions';
import { DEFAULT_PROFILE } from '../ladder/profile';
import { UdpPortAllocator } from '../net/udp-ports';
import { boundUdpPorts } from './proc-stats';
import { buildFfmpegPlan, RTP_PACKET_BYTES, toArgs } from './build-args';

const FFMPEG = process.env.ONAIR_FFMPEG_PATH ?? '/usr/bin/ffmpeg';
const ports = new UdpPortAllocator({ min: 43000, max: 43199 });
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
});

async function bindLoopback(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => void socket.close());
  return socket;
}

/** A 640×360 H.264 source as ffmpeg sends it over RTP (1 s GOP), recorded: its SDP and its frames' packets. */
async function recordSource(seconds: number): Promise<{ sdp: string; frames: Buffer[][] }> {
  // Paced at the frame rate, as a publisher sends (unpaced, a burst can overflow the socket's buffer).
  const socket = await bindLoopback();
  const packets: Buffer[] = [];
  let lastAt = 0;
  socket.on('message', (packet) => {
    packets.push(packet);
    lastAt = performance.now();
  });
  const src = await startFfmpegRtpSource({ videoPort: socket.address().port, audioPort: null, width: 640, height: 360, fps: 30, durationSec: seconds, realtime: true, pattern: 'testsrc2' });
  cleanups.push(() => src.stop());
  await src.exited;
  await pollUntil('the recording to settle (no packet for 100 ms)', () => packets.length > 0 && performance.now() - lastAt > 100, { timeoutMs: 5_000, intervalMs: 20 });
  // A lost packet would merge two frames (its marker gone) and read as a frame of no lag.
  const gaps = packets.filter((packet, i) => i > 0 && packet.readUInt16BE(2) !== ((packets[i - 1]!.readUInt16BE(2) + 1) & 0xffff)).length;
  if (gaps > 0) throw new Error(`the recorded source lost packets (${gaps} sequence gaps in ${packets.length})`);
  const frames: Buffer[][] = [];
  let frame: Buffer[] = [];
  for (const packet of packets) {
    frame.push(packet);
    // The marker bit ends an access unit (RFC 6184 §5.1).
    if (packet[1]! & 0x80) {
      frames.push(frame);
      frame = [];
    }
  }
  return { sdp: src.sdp, frames };
}

function startLadder(sdpPath: string, source: SourceInfo, sinkPort: number, dir: string): ChildProcess {
  const renditions = planRenditions(DEFAULT_PROFILE, source);
  const url = `rtp://127.0.0.1:${sinkPort}?pkt_size=${RTP_PACKET_BYTES}`;
  const plan = buildFfmpegPlan({
    sdpPath,
    source,
    renditions,
    gopSeconds: DEFAULT_PROFILE.gopSeconds,
    targets: Object.fromEntries(renditions.map((r) => [r.id, join(dir, `${r.id}.mp4`)])),
    progressTarget: join(dir, 'progress'),
    rtp: { video: Object.fromEntries(renditions.map((r, i) => [r.id, { url, payloadType: 96, ssrc: 7000 + i }])) },
  });
  const child = spawn(FFMPEG, toArgs(plan), { stdio: ['ignore', 'ignore', 'ignore'] });
  cleanups.push(() => void child.kill('SIGKILL'));
  return child;
}

describe('the live ladder holds no frame back', () => {
  it('each frame leaves every rung as RTP before the next-but-one source frame arrives', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'onair-holdback-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const { sdp, frames } = await recordSource(3);
    expect(frames.length).toBeGreaterThanOrEqual(80);

    const input = await ports.allocate();
    cleanups.push(() => ports.release(input));
    const sdpPath = join(dir, 'input.sdp');
    await writeFile(sdpPath, sdp.replace(/m=video \d+/, `m=video ${input.rtp}`));
    const sink = await bindLoopback();
    const framesOut = new Map<number, number>();
    sink.on('message', (packet) => {
      if (packet[1]! & 0x80) framesOut.set(packet.readUInt32BE(8), (framesOut.get(packet.readUInt32BE(8)) ?? 0) + 1);
    });
    const source: SourceInfo = { hasVideo: true, hasAudio: false, videoCodec: 'H264', width: 640, height: 360, fps: 30 };
    const rungs = planRenditions(DEFAULT_PROFILE, source).length;
    const ffmpeg = startLadder(sdpPath, source, sink.address().port, dir);
    await pollUntil('ffmpeg to listen for RTP', async () => (await boundUdpPorts([input.rtp])).size === 1, { timeoutMs: 15_000, intervalMs: 20 });

    const sender = await bindLoopback();
    const send = (frame: Buffer[]) => {
      for (const packet of frame) sender.send(packet, input.rtp, '127.0.0.1');
    };
    const fewestOut = () => (framesOut.size < rungs ? 0 : Math.min(...framesOut.values()));

    // Start-up: ffmpeg probes the first frames before it decodes any; feed until every rung has output.
    let sent = 0;
    await pollUntil(
      'the first frame out of every rung',
      () => {
        if (fewestOut() > 0) return true;
        if (sent < 30) send(frames[sent++]!);
        return false;
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    // Then one frame at a time: after each, wait (bounded) until all but the last one are out.
    const lags: number[] = [];
    let stuck = 0;
    while (sent < frames.length && stuck < 3) {
      send(frames[sent++]!);
      const caughtUp = await pollUntil(`frame ${sent - 1} in → all but it out`, () => sent - fewestOut() <= 1 || undefined, { timeoutMs: 3_000, intervalMs: 5 }).then(
        () => true,
        () => false,
      );
      if (!caughtUp) stuck += 1;
      lags.push(sent - fewestOut());
    }
    expect(ffmpeg.exitCode).toBeNull();
    // Frame-threaded decoding (ffmpeg's default) kept every rung 3 frames behind its input on 2 cores.
    expect(lags, `frames in − out after each input`).toEqual(lags.map(() => 1));
    expect(sent).toBe(frames.length);
  }, 90_000);
});
