/**
 * A synthetic RTP publisher: ffmpeg encodes a test pattern (H.264 Constrained Baseline, like a
 * WebRTC publisher) and a sine tone (Opus) and sends them as plain RTP to local UDP ports,
 * writing the SDP that describes them. Feeds the transcoder without an ingest, and serves as the
 * "ffmpeg publisher" peer of later tests.
 *
 *   const src = await startFfmpegRtpSource({ videoPort: 41000, audioPort: 41002 });
 *   // src.sdp → give it to the transcoder; await src.stop() when done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FfmpegRtpSourceOptions {
  videoPort: number;
  /** `null` sends no audio. */
  audioPort: number | null;
  host?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** Keyframe interval in frames. Default: one per second. */
  gopFrames?: number;
  /**
   * Stop by itself after this many seconds. Default 120, so a source leaked by a failed test
   * does not keep a shared core busy; pass a larger value for longer runs.
   */
  durationSec?: number;
  /** Pace at the frame rate (`-re`, like a live source). Default true. */
  realtime?: boolean;
  ffmpegPath?: string;
  /** lavfi test pattern: `testsrc` (default, cheap) or `testsrc2` (moving, closer to real content for benchmarks). */
  pattern?: 'testsrc' | 'testsrc2';
  /** Extra x264 preset; ultrafast by default to leave CPU to the code under test. */
  preset?: string;
}

export interface FfmpegRtpSource {
  sdp: string;
  sdpPath: string;
  process: ChildProcess;
  /** Resolves when the sender exits (by itself or through stop()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Last stderr lines, for diagnosing a failed test. */
  stderr(): string;
  stop(): Promise<void>;
}

export async function startFfmpegRtpSource(opts: FfmpegRtpSourceOptions): Promise<FfmpegRtpSource> {
  const host = opts.host ?? '127.0.0.1';
  const width = opts.width ?? 1280;
  const height = opts.height ?? 720;
  const fps = opts.fps ?? 30;
  const durationSec = opts.durationSec ?? 120;
  const dir = await mkdtemp(join(tmpdir(), 'onair-rtp-src-'));
  const sdpPath = join(dir, 'source.sdp');
  const args = [
    '-hide_banner', '-nostats', '-loglevel', 'warning',
    ...(opts.realtime === false ? [] : ['-re']),
    '-f', 'lavfi', '-i', `${opts.pattern ?? 'testsrc'}=size=${width}x${height}:rate=${fps}:duration=${durationSec}`,
    ...(opts.audioPort === null ? [] : ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${durationSec}`]),
    '-map', '0:v', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-profile:v', 'baseline', '-preset', opts.preset ?? 'ultrafast', '-tune', 'zerolatency',
    '-g', String(opts.gopFrames ?? fps), '-an', '-f', 'rtp', `rtp://${host}:${opts.videoPort}`,
    ...(opts.audioPort === null ? [] : ['-map', '1:a', '-vn', '-c:a', 'libopus', '-b:a', '64k', '-f', 'rtp', `rtp://${host}:${opts.audioPort}`]),
    '-sdp_file', sdpPath,
  ];
  const child = spawn(opts.ffmpegPath ?? 'ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-8000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: -1, signal: null }));
  });
  let done = false;
  void exited.then(() => (done = true));

  // ffmpeg writes the SDP once every output is initialised: poll for it (never sleep blindly).
  const deadline = Date.now() + 10_000;
  let sdp = '';
  while (Date.now() < deadline) {
    sdp = await readFile(sdpPath, 'utf8').catch(() => '');
    if (/m=video/.test(sdp) && (opts.audioPort === null || /m=audio/.test(sdp))) break;
    if (done) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (!/m=video/.test(sdp)) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`the ffmpeg RTP source did not start: ${stderr.trim() || 'no SDP written'}`);
  }

  return {
    sdp: sdp.endsWith('\n') ? sdp : `${sdp}\n`,
    sdpPath,
    process: child,
    exited,
    stderr: () => stderr,
    async stop() {
      if (!done) {
        child.kill('SIGTERM');
        const hard = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(hard);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
