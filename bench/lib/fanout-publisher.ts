/**
 * Synthetic WHIP publisher for the fan-out bench (its own process, pinned by the caller).
 *
 * Encoding 720p30 live with x264 would cost a good part of the core the load generator needs,
 * so ffmpeg encodes a short clip once (noisy test pattern, so the rate control really spends
 * ~2.5 Mbps; cached under the temp dir) into RTP packets, and this process replays them in a
 * loop at the clip's frame times through a werift track: sequence numbers run on, timestamps
 * advance by the clip length per loop (one frame's 3000 ticks from the last frame of a loop to the
 * first of the next: continuous, which the fan-out canary's latency relies on, as on the frames
 * going out at their media time against one start instant). The GOP is 1 s, so a joining viewer
 * waits ≤ 1 s for a keyframe whatever PLIs it triggers.
 *
 *   node --import tsx bench/lib/fanout-publisher.ts <whipUrl> <streamKey> [kbps]
 *   stdout: one JSON line {ready, packetsPerSecond, kbps, bytesPerPacket} once connected, then {sent} on SIGUSR2
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWeriftH264Whip } from '../../test/support/peers/werift-h264-publisher';

const CLIP_SECONDS = 6;
const FPS = 30;

/** Encodes the clip once and returns its RTP packets (as ffmpeg's RTP muxer wrote them). */
async function loadClip(kbps: number): Promise<Buffer[]> {
  const file = join(tmpdir(), `onair-fanout-clip-720p30-${kbps}k-${CLIP_SECONDS}s.bin`);
  if (existsSync(file)) return splitClip(await readFile(file));
  const socket = createSocket({ type: 'udp4', recvBufferSize: 16 * 1024 * 1024 });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const packets: Buffer[] = [];
  socket.on('message', (packet) => packets.push(packet));
  const ffmpeg = spawn('/usr/bin/ffmpeg', [
    '-hide_banner', '-nostats', '-loglevel', 'error',
    '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=${FPS},noise=alls=10:allf=t`,
    '-t', String(CLIP_SECONDS),
    '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`, '-g', String(FPS), '-keyint_min', String(FPS), '-sc_threshold', '0',
    '-an', '-f', 'rtp', `rtp://127.0.0.1:${socket.address().port}?pkt_size=1200`,
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise<number | null>((resolve) => ffmpeg.once('exit', resolve));
  await new Promise((r) => setTimeout(r, 200));
  socket.close();
  if (code !== 0 || packets.length === 0) throw new Error(`ffmpeg clip encode failed (${code})`);
  const sizes = Buffer.alloc(4 * packets.length);
  packets.forEach((p, i) => sizes.writeUInt32BE(p.length, 4 * i));
  const out = Buffer.concat(packets.flatMap((p, i) => [sizes.subarray(4 * i, 4 * i + 4), p]));
  await writeFile(file, out);
  return packets;
}

function splitClip(data: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  for (let offset = 0; offset < data.length; ) {
    const size = data.readUInt32BE(offset);
    packets.push(data.subarray(offset + 4, offset + 4 + size));
    offset += 4 + size;
  }
  return packets;
}

async function main(): Promise<void> {
  const [whipUrl, streamKey, kbpsArg] = process.argv.slice(2);
  if (!whipUrl || !streamKey) throw new Error('usage: fanout-publisher.ts <whipUrl> <streamKey> [kbps]');
  const kbps = Number(kbpsArg ?? 2500);
  const clip = await loadClip(kbps);
  // Frames by RTP timestamp; the clip's time base is the first frame's timestamp.
  const ts0 = clip[0]!.readUInt32BE(4);
  const frames: Array<{ offsetMs: number; packets: Buffer[] }> = [];
  for (const packet of clip) {
    const offsetMs = (((packet.readUInt32BE(4) - ts0) >>> 0) / 90_000) * 1000;
    const last = frames.at(-1);
    if (last && last.offsetMs === offsetMs) last.packets.push(packet);
    else frames.push({ offsetMs, packets: [packet] });
  }
  const frameCount = frames.length;
  const clipMs = (frameCount * 1000) / FPS;
  const clipTicks = (frameCount * 90_000) / FPS;
  const clipBytes = clip.reduce((sum, p) => sum + p.length, 0);

  const { pc, track, connected } = await openWeriftH264Whip(whipUrl, streamKey);
  await connected;

  let sent = 0;
  let seq = 0;
  const started = performance.now();
  let index = 0;
  let loop = 0;
  const tick = () => {
    const now = performance.now() - started;
    // Send every frame that is due (catches up after a late timer instead of drifting).
    while (loop * clipMs + frames[index]!.offsetMs <= now) {
      for (const original of frames[index]!.packets) {
        const packet = Buffer.from(original);
        packet.writeUInt16BE(seq, 2);
        seq = (seq + 1) & 0xffff;
        packet.writeUInt32BE((original.readUInt32BE(4) + loop * clipTicks) >>> 0, 4);
        track.writeRtp(packet);
        sent += 1;
      }
      index += 1;
      if (index === frameCount) {
        index = 0;
        loop += 1;
      }
    }
    const next = loop * clipMs + frames[index]!.offsetMs - (performance.now() - started);
    setTimeout(tick, Math.max(0, next));
  };
  tick();
  process.stdout.write(`${JSON.stringify({ ready: true, packetsPerSecond: (clip.length * 1000) / clipMs, kbps: (clipBytes * 8) / clipMs, frames: frameCount, bytesPerPacket: clipBytes / clip.length })}\n`);
  process.on('SIGUSR2', () => process.stdout.write(`${JSON.stringify({ sent })}\n`));
  const stop = () => {
    void pc.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
