/**
 * Transcoder speed: the default ABR ladder (720p/480p/360p, x264 veryfast zerolatency, 1 s GOP,
 * one process with `split`) on a synthetic 720p30 source, offline (no `-re`, as fast as the
 * CPU allows), against a baseline measured in the same run: a single 720p encode with the same
 * options. Also, the live path: RTP in at realtime → time from spawn to the first fMP4 byte, and
 * the CPU the ladder uses while keeping up.
 *
 *   npx tsx bench/transcode.ts            → prints a table, writes bench/results/transcode.json
 *
 * CPU seconds are the ffmpeg process's user+system time (the shell's cutime/cstime after wait),
 * so they do not depend on what else the machine is doing; speed (wall clock) does.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { buildFfmpegPlan, RTP_PACKET_BYTES, type RtpOutputs, toArgs } from '../apps/transcoder/src/ffmpeg/build-args';
import { StaticSdpInput } from '../apps/transcoder/src/jobs/input-source';
import { TranscodeJob } from '../apps/transcoder/src/jobs/transcode-job';
import { planRenditions, type SourceInfo } from '../apps/transcoder/src/ladder/plan-renditions';
import { AUDIO_RENDITION_ID, DEFAULT_PROFILE, PASSTHROUGH_PROFILE, parseProfile, type Profile } from '../apps/transcoder/src/ladder/profile';
import { UdpPortAllocator } from '../apps/transcoder/src/net/udp-ports';
import { RecordingPackager } from '../apps/transcoder/src/test-support/recording-packager';
import { startFfmpegRtpSource } from '../test/support/ffmpeg-rtp-source';

const FFMPEG = process.env.ONAIR_FFMPEG_PATH ?? '/usr/bin/ffmpeg';
const MEDIA_SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const LIVE_SECONDS = 8;
const source: SourceInfo = { hasVideo: true, hasAudio: true, videoCodec: 'H264', audioCodec: 'opus', width: 1280, height: 720, fps: 30 };

interface Run {
  name: string;
  rungs: string;
  wallSeconds: number;
  cpuSeconds: number;
  speedX: number;
  cpuSecondsPerMediaSecond: number;
  /** RTP packets the renditions' sink received (the run with WebRTC renditions). */
  rtpPackets?: number;
}

/** Runs ffmpeg under sh and reads the shell's cutime+cstime after ffmpeg was reaped. */
function timedFfmpeg(args: string[]): Promise<{ wallSeconds: number; cpuSeconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('sh', ['-c', '"$0" "$@" || exit $?; cat /proc/$$/stat', FFMPEG, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      const wallSeconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`ffmpeg failed (${code}): ${err.slice(-2000)}`));
      const fields = out.slice(out.lastIndexOf(')') + 2).trim().split(/\s+/);
      // Fields 16 and 17 (cutime, cstime) in clock ticks; fields[0] is field 3.
      const cpuSeconds = (Number(fields[16 - 3]) + Number(fields[17 - 3])) / 100;
      resolve({ wallSeconds, cpuSeconds });
    });
  });
}

/**
 * A UDP sink standing in for the ingest's rendition port: every rung's RTP and the Opus track to
 * it, as the transcoder sends them (one port, an SSRC each). Counts what arrives.
 */
async function rtpSink(renditionIds: string[]): Promise<{ outputs: RtpOutputs; packets: () => number; close: () => void }> {
  const socket = createSocket('udp4');
  let packets = 0;
  socket.on('message', () => (packets += 1));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  const url = `rtp://127.0.0.1:${port}?rtcpport=${port}&pkt_size=${RTP_PACKET_BYTES}`;
  return {
    outputs: { video: Object.fromEntries(renditionIds.map((id, i) => [id, { url, payloadType: 96, ssrc: 1000 + i }])), audio: { url, payloadType: 111, ssrc: 999 } },
    packets: () => packets,
    close: () => socket.close(),
  };
}

async function offline(name: string, profile: Profile, input: string, outDir: string, rtp?: RtpOutputs): Promise<Run> {
  const renditions = planRenditions(profile, source);
  const plan = buildFfmpegPlan({
    sdpPath: input,
    source,
    renditions,
    gopSeconds: profile.gopSeconds,
    // Every rung and the audio rendition (AUDIO_RENDITION_ID), as the service writes them.
    targets: Object.fromEntries([...renditions.map((r) => r.id), AUDIO_RENDITION_ID].map((id) => [id, join(outDir, `${name.replace(/\W+/g, '-')}-${id}.mp4`)])),
    rtp,
  });
  // Same outputs as the service; the input is a file instead of the live SDP.
  const args = ['-y', ...toArgs({ ...plan, inputOptions: ['-hide_banner', '-nostats', '-loglevel', 'error'] })];
  const { wallSeconds, cpuSeconds } = await timedFfmpeg(args);
  return {
    name,
    rungs: renditions.map((r) => `${r.id}${r.width ? ` ${r.width}x${r.height}` : ''}`).join(', '),
    wallSeconds: round(wallSeconds),
    cpuSeconds: round(cpuSeconds),
    speedX: round(MEDIA_SECONDS / wallSeconds),
    cpuSecondsPerMediaSecond: round(cpuSeconds / MEDIA_SECONDS),
  };
}

async function live(outDir: string): Promise<{ firstOutputMs: number | null; cpuCores: number | null; speed: number | null; fps: number | null; rssMiB: number | null }> {
  const ports = new UdpPortAllocator({ min: 45000, max: 45999 });
  const video = await ports.allocate();
  const audio = await ports.allocate();
  const src = await startFfmpegRtpSource({ videoPort: video.rtp, audioPort: audio.rtp, width: 1280, height: 720, fps: 30, pattern: 'testsrc2' });
  const job = new TranscodeJob({
    stream: 'bench',
    profile: DEFAULT_PROFILE,
    input: new StaticSdpInput(src.sdp, { width: 1280, height: 720, fps: 30 }),
    ffmpegPath: FFMPEG,
    createPackager: () => new RecordingPackager(join(outDir, 'live')),
    log: pino({ level: 'silent' }),
  });
  try {
    await job.start();
    const deadline = Date.now() + 15_000;
    while (job.state !== 'running' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const firstOutputMs = job.getStats().firstOutputMs;
    // Let it run; the job samples CPU every 2 s.
    const until = Date.now() + LIVE_SECONDS * 1000;
    while (Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    const stats = job.getStats();
    return {
      firstOutputMs,
      cpuCores: stats.process?.cpuPercent == null ? null : round(stats.process.cpuPercent / 100),
      speed: stats.progress?.speed ?? null,
      fps: stats.progress?.fps ?? null,
      rssMiB: stats.process?.rssBytes == null ? null : round(stats.process.rssBytes / 1024 / 1024),
    };
  } finally {
    await job.close();
    await src.stop();
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'onair-bench-transcode-'));
  try {
    // A 720p30 H.264 Constrained Baseline clip with Opus audio, like a WebRTC publisher sends.
    const clip = join(work, 'source.mkv');
    await timedFfmpeg([
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${MEDIA_SECONDS}`,
      '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${MEDIA_SECONDS}`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-g', '30', '-b:v', '2500k',
      '-c:a', 'libopus', '-b:a', '64k', clip,
    ]);
    const single720 = parseProfile({ name: 'single-720p', rungs: [DEFAULT_PROFILE.rungs[0]] });
    const ultrafast = parseProfile({ ...DEFAULT_PROFILE, name: 'default-ultrafast', rungs: DEFAULT_PROFILE.rungs.map((r) => ({ ...r, preset: 'ultrafast' })) });
    const runs: Run[] = [];
    for (const [name, profile] of [
      ['baseline: single 720p encode', single720],
      ['default ladder (veryfast)', DEFAULT_PROFILE],
      ['default ladder (ultrafast)', ultrafast],
      ['passthrough (copy + AAC)', PASSTHROUGH_PROFILE],
    ] as const) {
      runs.push(await offline(name, profile, clip, work));
      const r = runs[runs.length - 1]!;
      console.log(`${r.name.padEnd(32)} ${String(r.speedX).padStart(6)}× realtime  ${String(r.cpuSecondsPerMediaSecond).padStart(5)} CPU s / media s   [${r.rungs}]`);
    }
    // The same ladder as the service runs it with WebRTC renditions: each rung teed to fMP4 and
    // RTP (Constrained Baseline), plus the Opus track.
    const sink = await rtpSink(planRenditions(DEFAULT_PROFILE, source).map((r) => r.id));
    try {
      const r = await offline('default ladder + RTP renditions', DEFAULT_PROFILE, clip, work, sink.outputs);
      runs.push({ ...r, rtpPackets: sink.packets() });
      console.log(`${r.name.padEnd(32)} ${String(r.speedX).padStart(6)}× realtime  ${String(r.cpuSecondsPerMediaSecond).padStart(5)} CPU s / media s   [${r.rungs}; ${sink.packets()} RTP packets]`);
    } finally {
      sink.close();
    }
    const liveResult = await live(work);
    console.log(`live RTP 720p30 → default ladder: spawn → first fMP4 byte ${liveResult.firstOutputMs} ms, ${liveResult.cpuCores} cores, speed ${liveResult.speed}×, ${liveResult.rssMiB} MiB RSS`);

    const ladder = runs[1]!;
    const baseline = runs[0]!;
    const result = {
      bench: 'transcode',
      date: new Date().toISOString(),
      // Wall-clock speed depends on what else runs (2 shared cores); CPU seconds do not.
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', loadAverage1mAtEnd: round(loadavg()[0] ?? 0) },
      source: { size: '1280x720', fps: 30, mediaSeconds: MEDIA_SECONDS, codec: 'h264 baseline + opus' },
      offline: runs,
      ladderVsBaseline: { speedRatio: round(ladder.speedX / baseline.speedX), cpuRatio: round(ladder.cpuSecondsPerMediaSecond / baseline.cpuSecondsPerMediaSecond) },
      live: { seconds: LIVE_SECONDS, ...liveResult },
      notes: 'Offline = as fast as possible from a file with the service\'s output options; CPU from the ffmpeg process (cutime+cstime). Live = RTP (testsrc2, like the offline clip) from an ffmpeg test source at realtime through TranscodeJob, CPU = share of one core over the last 2 s sample; first output includes waiting for the next source keyframe (GOP 1 s).',
    };
    const file = join(dirname(fileURLToPath(import.meta.url)), 'results', 'transcode.json');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`ladder/baseline: ${result.ladderVsBaseline.speedRatio}× the speed, ${result.ladderVsBaseline.cpuRatio}× the CPU → ${file}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
