/**
 * One live stream's transcode: a supervised ffmpeg process feeding an HLS packager.
 *
 *   starting ──first fMP4 bytes──▶ running ──crash──▶ restarting ──bytes──▶ running
 *      │                              │                   │
 *      └─exits before output─▶ failed  └──stop()──▶ stopped ◀──stop()──┘
 *
 * Like mediasoup's Worker, "failed to start" (ffmpeg exits, or produces nothing, before its first
 * output — a bad SDP, a missing codec) is told apart from "died later" (a crash while live): the
 * first is reported with ffmpeg's own last error lines and not retried; the second restarts with
 * exponential backoff and marks a discontinuity so the playlist carries on.
 */
import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '@onair/service/logger';
import { OnairError } from '@onair/shared/errors';
import { buildFfmpegPlan, type RtpOutputs } from '../ffmpeg/build-args';
import { toFluentCommand } from '../ffmpeg/command';
import { OutputSockets } from '../ffmpeg/output-sockets';
import { ProgressParser, type FfmpegProgress } from '../ffmpeg/progress';
import { parseSdpInfo } from '../ffmpeg/sdp-info';
import { planRenditions, type PlannedRendition, type SourceInfo } from '../ladder/plan-renditions';
import { AUDIO_RENDITION_ID, type Profile } from '../ladder/profile';
import type { InputRequest } from './input-source';
import { summarizeFfmpegExit } from './error-summary';
import type { JobState, JobStats, PackagerLike, TranscodeJobOptions } from './job-types';
import { LineRing } from './line-ring';
import { type Proc, type Run, rtpPortsOf } from './job-run';
import { ProcessSampler } from './process-sampler';
import { nudgeKeyframe } from './keyframe-nudge';
import { ProcessAudio } from './process-audio';
import { announcementFor } from './rendition-output';

/**
 * Audio written, then none for this long while the video flows: the audio playlist stopped
 * growing, and players stall once their ~1 s of audio ahead is played.
 */
const AUDIO_STALL_MS = 5_000;


export class TranscodeJob extends EventEmitter<{ state: [JobState, JobState]; progress: [FfmpegProgress] }> {
  readonly stream: string;
  private profile: Profile;
  private readonly opts: TranscodeJobOptions;
  private readonly log: Logger;
  private readonly ffmpegLog: Logger;
  private readonly lines: LineRing;
  private _state: JobState = 'stopped';
  private run: Run | null = null;
  private proc: Proc | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private readonly sampler = new ProcessSampler(
    () => this.pid,
    () => this.run?.sockets.takeWindow(),
  );
  private consecutiveCrashes = 0;
  private restarts = 0;
  private lastError: string | null = null;
  private startedAt: number | null = null;
  private runningSince: number | null = null;
  private progress: FfmpegProgress | null = null;
  private stopping: Promise<void> | null = null;
  private generation = 0;

  constructor(opts: TranscodeJobOptions) {
    super();
    this.opts = opts;
    this.stream = opts.stream;
    this.profile = opts.profile;
    this.log = opts.log.child({ component: 'job', stream: opts.stream });
    this.ffmpegLog = this.log.child({ component: 'ffmpeg' });
    this.lines = new LineRing(opts.logLines ?? 200);
  }

  get state(): JobState {
    return this._state;
  }

  get profileName(): string {
    return this.profile.name;
  }

  get active(): boolean {
    return this._state === 'starting' || this._state === 'running' || this._state === 'restarting';
  }

  /** A stop is under way: the job still reports its state, but it is on its way to `stopped`. */
  get isStopping(): boolean {
    return this.stopping !== null;
  }

  /** The last ffmpeg log lines, oldest first. */
  logs(limit?: number): string[] {
    return this.lines.last(limit);
  }

  /**
   * Starts a run: opens the input, plans the renditions, creates the packager and spawns ffmpeg.
   * Resolves once ffmpeg is spawned (not when it produces output: watch `state`). Throws
   * `ffmpeg_missing` (and the job stays as it was) if the binary cannot be run.
   */
  async start(profile?: Profile): Promise<void> {
    // A stop in progress (the stream went offline and is back already) finishes first.
    if (this.stopping) await this.stopping;
    if (this.active) throw new OnairError('bad_request', `The job for ${this.stream} is already ${this._state}.`);
    if (profile) this.profile = profile;
    this.consecutiveCrashes = 0;
    this.replans = 0;
    this.lastError = null;
    this.progress = null;
    this.startedAt = Date.now();
    this.runningSince = null;
    const generation = ++this.generation;
    this.setState('starting');
    try {
      await access(this.opts.ffmpegPath, constants.X_OK).catch((cause) => {
        throw new OnairError('ffmpeg_missing', `ffmpeg is not available at ${this.opts.ffmpegPath}; install it (apt-get install ffmpeg) or set ONAIR_FFMPEG_PATH.`, { cause });
      });
      const run = await this.openRun();
      if (generation !== this.generation) {
        await this.disposeRun(run, false);
        return;
      }
      this.run = run;
      this.spawn();
    } catch (error) {
      if (generation !== this.generation) return;
      this.lastError = error instanceof Error ? error.message : String(error);
      this.log.error({ err: error }, 'job failed to start');
      await this.teardownRun(false);
      this.setState('failed');
      throw error;
    }
  }

  /** Stops ffmpeg (gracefully, then SIGKILL after 3 s), ends the playlist, closes the input. Safe to call twice. */
  stop(reason = 'stopped', opts: { endPlaylist?: boolean } = {}): Promise<void> {
    if (this.stopping) return this.stopping;
    if (!this.run && !this.proc) {
      this.generation++;
      if (this.active) this.setState('stopped');
      return Promise.resolve();
    }
    this.generation++;
    this.stopping = (async () => {
      this.log.info({ reason }, 'stopping job');
      this.clearTimers();
      await this.killProc('SIGTERM', reason);
      await this.teardownRun(opts.endPlaylist ?? true);
      if (this._state !== 'failed') this.setState('stopped');
    })().finally(() => {
      this.stopping = null;
    });
    return this.stopping;
  }

  /**
   * Stop then start (a new packager: the multivariant playlist reflects the profile's ladder).
   * The old playlists get no EXT-X-ENDLIST: the stream goes on, and a player told "ended" would
   * stop instead of reloading.
   */
  async restart(profile?: Profile): Promise<void> {
    await this.stop('restart requested', { endPlaylist: false });
    await this.start(profile);
  }

  /**
   * The input's source moved (in a cluster, the stream's publisher is on another ingest node now:
   * the forward this ffmpeg reads from is gone with the old one). ffmpeg is ended as a crash would
   * be, so the supervisor opens a fresh input on the new node and marks a discontinuity, instead
   * of waiting for the stall watchdog (15 s). Nothing happens while the job is not running.
   */
  inputMoved(reason: string): void {
    const proc = this.proc;
    if (!proc || this.stopping || this._state !== 'running') return;
    this.log.info({ reason }, 'the input moved; restarting ffmpeg on a fresh input');
    void this.killProc('SIGKILL', reason);
  }

  /** Kills the current ffmpeg as a crash would (tests, operators); the supervisor restarts it. */
  killProcess(signal: NodeJS.Signals = 'SIGKILL'): boolean {
    return this.proc?.child?.kill(signal) ?? false;
  }

  /** The pid of the ffmpeg process, if one runs. */
  get pid(): number | null {
    return this.proc?.child?.pid ?? null;
  }

  /** Closes everything including the packager (service shutdown). */
  async close(): Promise<void> {
    await this.stop('shutting down');
    this.closePackager();
  }

  getStats(): JobStats {
    return {
      stream: this.stream,
      state: this._state,
      profile: this.profile.name,
      input: this.opts.input.description,
      pid: this.pid,
      startedAt: this.startedAt ? new Date(this.startedAt).toISOString() : null,
      runningSince: this.runningSince ? new Date(this.runningSince).toISOString() : null,
      restarts: this.restarts,
      lastError: this.lastError,
      firstOutputMs: this.proc?.firstOutputAt ? this.proc.firstOutputAt - this.proc.spawnedAt : null,
      progress: this.progress,
      process: this.pid === null ? null : { pid: this.pid, cpuPercent: this.sampler.cpuShare === null ? null : Math.round(this.sampler.cpuShare * 1000) / 10, cpuSeconds: this.sampler.cpuSeconds, rssBytes: this.sampler.rssBytes },
      hlsUrl: `/hls/${encodeURIComponent(this.stream)}/index.m3u8`,
      renditions: (this.run?.renditions ?? []).map((r) => ({
        id: r.id,
        width: r.width,
        height: r.height,
        videoKbps: r.videoKbps,
        bytes: this.run?.sockets.statsOf(r.id)?.bytes ?? 0,
        bitrateKbps: this.sampler.bitrates.get(r.id) ?? null,
      })),
    };
  }

  // ——— internals ———

  private lastPackager: PackagerLike | null = null;

  private async openRun(): Promise<Run> {
    const opening = await this.opts.input.open(this.inputRequest());
    const info = parseSdpInfo(opening.sdp);
    if (!info.video) throw new OnairError('invalid_sdp', 'The input SDP has no video track.');
    const source: SourceInfo = { hasVideo: true, hasAudio: info.audio !== undefined, videoCodec: info.video.codec, audioCodec: info.audio?.codec, ...opening.hints };
    const renditions = planRenditions(this.profile, source);
    const workDir = await mkdtemp(join(tmpdir(), 'onair-tx-'));
    const sdpPath = join(workDir, 'input.sdp');
    await writeFile(sdpPath, opening.sdp.endsWith('\n') ? opening.sdp : `${opening.sdp}\n`);
    // The previous run's packager stays served (with its ENDLIST) until a new run replaces it.
    this.closePackager();
    const packager = this.opts.createPackager();
    this.lastPackager = packager;
    const sinks = new Map<string, { push(chunk: Buffer): void }>();
    for (const r of renditions) {
      // The audio is a rendition of its own (build-args.ts), so each rung's bandwidth is its video's.
      sinks.set(r.id, packager.addRendition({ id: r.id, bandwidth: r.bandwidth - r.audioKbps * 1000, width: r.width, height: r.height, frameRate: r.frameRate }));
    }
    if (source.hasAudio) sinks.set(AUDIO_RENDITION_ID, packager.addRendition({ id: AUDIO_RENDITION_ID, bandwidth: this.profile.audioKbps * 1000, role: 'audio', channels: 2 }));
    const sockets = await OutputSockets.open(workDir, [...sinks.keys()], (id, chunk) => this.onOutput(id, chunk));
    const rtp = await this.announceRenditions(renditions, source);
    this.log.info({ profile: this.profile.name, renditions: renditions.map((r) => `${r.id}${r.width ? ` ${r.width}x${r.height}` : ''}`), input: this.opts.input.description, webrtc: rtp ? this.opts.renditions?.description : null }, 'job run opened');
    return { workDir, sdpPath, source, renditions, packager, sinks, sockets, rtpPorts: rtpPortsOf(info), rtp };
  }

  /**
   * Tells the ingest which rungs this run encodes (once per ffmpeg process: a new one has new
   * SSRCs and numbering). A refusal or an unreachable ingest costs the WebRTC renditions only:
   * the run goes on with HLS.
   */
  private async announceRenditions(renditions: PlannedRendition[], source: SourceInfo): Promise<RtpOutputs | undefined> {
    const output = this.opts.renditions;
    const announcement = announcementFor(renditions, source);
    if (!output || !announcement) return undefined;
    try {
      return await output.open({ ...announcement, ...(this.opts.input.forward ? { forward: this.opts.input.forward } : {}) });
    } catch (error) {
      this.log.warn({ err: error }, 'the ingest did not take the renditions: HLS only for this run');
      return undefined;
    }
  }

  private spawn(): void {
    const run = this.run;
    if (!run) return;
    // HLS audio only into an audio rendition opened with the run (an SDP that gained audio at a
    // restart is still packaged without it); WebRTC viewers get the Opus whenever the SDP has audio.
    const hlsAudio = run.sinks.has(AUDIO_RENDITION_ID);
    const plan = buildFfmpegPlan({ sdpPath: run.sdpPath, source: run.source, hlsAudio, renditions: run.renditions, gopSeconds: this.profile.gopSeconds, targets: run.sockets.targets(), rtp: run.rtp, inputHost: this.opts.inputHost });
    const command = toFluentCommand(plan, this.opts.ffmpegPath);
    const parser = new ProgressParser();
    let resolveDone!: () => void;
    const proc: Proc = { command, child: null, spawnedAt: Date.now(), firstOutputAt: null, exit: null, killReason: null, done: new Promise((r) => (resolveDone = r)), linesAtSpawn: this.lines.total, linesAtOutput: null, boundMs: null, keyframeRequestMs: null, replayedPackets: null, audio: new ProcessAudio(() => run.sinks.get(AUDIO_RENDITION_ID)) };
    this.proc = proc;

    command.on('start', (commandLine: string) => {
      const child = (command as unknown as { ffmpegProc: ChildProcess }).ffmpegProc;
      proc.child = child;
      // Stopped (or timed out) while fluent-ffmpeg was still preparing: do not let it run.
      if (proc.killReason) child.kill('SIGKILL');
      child.once('exit', (code, signal) => {
        proc.exit = { code, signal };
      });
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (text: string) => {
        for (const p of parser.push(text)) {
          this.progress = p;
          this.emit('progress', p);
        }
      });
      this.log.debug({ commandLine }, 'ffmpeg spawned');
      this.log.info({ pid: child.pid }, 'ffmpeg spawned');
      if (this.opts.input.requestKeyframe) void nudgeKeyframe(proc, run.rtpPorts, { requestKeyframe: this.opts.input.requestKeyframe.bind(this.opts.input), live: () => this.proc === proc && !proc.exit, log: this.log });
    });
    command.on('stderr', (line: string) => this.onStderr(line));
    const finished = () => {
      resolveDone();
      this.onExit(proc);
    };
    command.on('end', () => {
      proc.exit ??= { code: 0, signal: null };
      finished();
    });
    command.on('error', (error: Error) => {
      if (!proc.child) proc.killReason ??= error.message;
      // fluent-ffmpeg may report before our own 'exit' listener ran: take the exit from its message.
      if (!proc.exit) {
        const signal = /killed with signal (\w+)/.exec(error.message)?.[1] as NodeJS.Signals | undefined;
        const code = /exited with code (\d+)/.exec(error.message)?.[1];
        if (signal || code) proc.exit = { code: code ? Number(code) : null, signal: signal ?? null };
      }
      finished();
    });
    this.armWatchdog(proc, this.opts.startTimeoutMs ?? 10_000, 'start');
    this.startSampler();
    this.startReplanner();
    command.run();
  }

  private onStderr(line: string): void {
    if (!line.trim()) return;
    this.lines.push(line);
    const level = /\[(fatal|panic)\]/.test(line) ? 'error' : /\[error\]/.test(line) ? 'warn' : /\[warning\]/.test(line) ? 'info' : 'debug';
    this.ffmpegLog[level](line);
  }

  private onOutput(id: string, chunk: Buffer): void {
    const proc = this.proc;
    // The video says whether the run works (started, stalled): the audio is an output of its own
    // and flows on even when no rung gets a frame (process-audio.ts).
    if (id === AUDIO_RENDITION_ID) return proc?.audio.push(chunk, Date.now());
    if (proc && proc.firstOutputAt === null) {
      proc.firstOutputAt = Date.now();
      proc.linesAtOutput = this.lines.total;
      this.runningSince = proc.firstOutputAt;
      this.log.info({ firstOutputMs: proc.firstOutputAt - proc.spawnedAt, boundMs: proc.boundMs, keyframeRequestMs: proc.keyframeRequestMs, replayedPackets: proc.replayedPackets }, 'ffmpeg producing output');
      if (this._state === 'starting' || this._state === 'restarting') this.setState('running');
      this.armWatchdog(proc, this.opts.stallTimeoutMs ?? 15_000, 'stall');
      proc.audio.videoStarted();
      this.watchAudio(proc);
    } else if (proc) {
      this.armWatchdog(proc, this.opts.stallTimeoutMs ?? 15_000, 'stall');
      // The audio rendition no longer grows and players stall at its end: a new process (whose
      // audio is given up on if it has none: watchAudio).
      if (proc.audio.silentFor(AUDIO_STALL_MS, Date.now()) && !proc.killReason) void this.killProc('SIGKILL', `no audio for ${AUDIO_STALL_MS / 1000} s while the video flows`);
    }
    this.run?.sinks.get(id)?.push(chunk);
  }

  private armWatchdog(proc: Proc, ms: number, kind: 'start' | 'stall'): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (this.proc !== proc || proc.exit) return;
      const reason = kind === 'start' ? `no output within ${ms / 1000} s of spawn (no decodable video: no keyframe received, or no packets)` : `no output for ${ms / 1000} s (input stalled)`;
      this.log.warn({ reason }, 'killing ffmpeg');
      void this.killProc('SIGKILL', reason);
    }, ms);
    this.watchdog.unref();
  }

  private onExit(proc: Proc): void {
    if (this.proc !== proc) return;
    this.proc = null;
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    this.run?.sockets.disconnectAll();
    if (this.stopping || !this.run) return;
    const exit = proc.exit ? (proc.exit.signal ? `killed by ${proc.exit.signal}` : `exit code ${proc.exit.code}`) : 'did not run';
    // A crash is explained by what ffmpeg said after it got going, not by start-up decoder noise.
    const reason = summarizeFfmpegExit({ killReason: proc.killReason, exit, lines: this.lines.since(proc.linesAtOutput ?? proc.linesAtSpawn), anyLineIfNoError: proc.firstOutputAt === null });
    const producedOutput = proc.firstOutputAt !== null;
    const hadRun = this.restarts > 0 || producedOutput;
    // Video without audio from this process: the renditions' discontinuities would part ways
    // (process-audio.ts), so the run goes on without its audio.
    if (producedOutput && proc.audio.forwardedBytes === 0) this.dropAudioRendition(this.run, 'the process wrote video but no audio');

    if (!producedOutput && !hadRun) {
      // Failed to start: the input or the command is wrong; retrying would fail the same way.
      this.lastError = `ffmpeg failed to start (${exit}): ${reason}`;
      this.log.error({ exit, reason }, 'ffmpeg failed to start');
      this.stopSampler();
      void this.teardownRun(false).then(() => this.setState('failed'));
      return;
    }

    // Died later (or a restart attempt died before output): restart with backoff.
    if (proc.firstOutputAt && Date.now() - proc.firstOutputAt > 30_000) this.consecutiveCrashes = 0;
    if (producedOutput) this.run.packager.discontinuity();
    this.scheduleRestart(`ffmpeg died (${exit}): ${reason}`);
  }

  /**
   * Restarts after a crash with exponential backoff, or gives up (`failed`) after too many in a
   * row. The input is opened afresh each time: after an ingest restart or a re-negotiation the
   * old forward (and its SDP) may be gone, and a new forward also brings a keyframe request.
   */
  private scheduleRestart(why: string): void {
    const run = this.run;
    if (!run) return;
    this.lastError = why;
    this.consecutiveCrashes++;
    const max = this.opts.maxConsecutiveCrashes ?? 8;
    if (this.consecutiveCrashes > max) {
      this.lastError = `gave up after ${max} consecutive crashes; last: ${why}`;
      this.log.error({ reason: this.lastError }, 'ffmpeg keeps crashing');
      this.stopSampler();
      run.packager.end();
      void this.teardownRun(false).then(() => this.setState('failed'));
      return;
    }
    const backoff = this.opts.restartBackoff ?? { initialMs: 500, maxMs: 10_000 };
    const delay = Math.min(backoff.initialMs * 2 ** (this.consecutiveCrashes - 1), backoff.maxMs);
    this.restarts++;
    this.log.warn({ reason: why, delayMs: delay, restarts: this.restarts }, 'restarting ffmpeg');
    this.setState('restarting');
    const generation = this.generation;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (generation !== this.generation || this.stopping || this.run !== run) return;
      this.reopenInput(run).then(
        () => {
          if (generation === this.generation && !this.stopping && this.run === run) this.spawn();
        },
        (error: unknown) => {
          if (generation !== this.generation || this.stopping || this.run !== run) return;
          // The stream is over (its end reached ffmpeg before the ingest's stream.offline did).
          const code = (error as { code?: string }).code;
          if (code === 'stream_offline' || code === 'stream_not_found') {
            void this.stop('the stream is offline on the ingest');
            return;
          }
          this.scheduleRestart(`reopening the input failed: ${error instanceof Error ? error.message : String(error)}`);
        },
      );
    }, delay);
  }

  private inputRequest(): InputRequest {
    return this.profile.mode === 'passthrough' ? { keyframeIntervalMs: Math.round(this.profile.gopSeconds * 1000) } : {};
  }

  /** A fresh forward (and SDP) for the same run: ports and payload types may have changed. */
  private async reopenInput(run: Run): Promise<void> {
    const opening = await this.opts.input.open(this.inputRequest());
    const info = parseSdpInfo(opening.sdp);
    if (!info.video) throw new OnairError('invalid_sdp', 'The input SDP has no video track.');
    await writeFile(run.sdpPath, opening.sdp.endsWith('\n') ? opening.sdp : `${opening.sdp}\n`);
    run.rtpPorts = rtpPortsOf(info);
    run.source = { ...run.source, videoCodec: info.video.codec, audioCodec: info.audio?.codec, hasAudio: info.audio !== undefined };
    if (!run.source.hasAudio) this.dropAudioRendition(run, 'the input no longer has audio');
    run.rtp = await this.announceRenditions(run.renditions, run.source);
  }

  /**
   * The video flows but the SDP's audio may never come (a muted publisher, no microphone): the
   * audio is an output of its own, so nothing else waits for it, but players would (the
   * multivariant playlist waits for every rendition's init segment). Without a byte of audio one
   * start timeout after the first output, the run goes on without its audio rendition.
   */
  private watchAudio(proc: Proc): void {
    const run = this.run;
    if (!run?.sinks.has(AUDIO_RENDITION_ID)) return;
    const ms = this.opts.startTimeoutMs ?? 10_000;
    setTimeout(() => {
      if (this.proc !== proc || proc.exit || this.run !== run || proc.audio.forwardedBytes > 0) return;
      this.dropAudioRendition(run, `no audio within ${ms / 1000} s of the first video (does the publisher send audio?)`);
    }, ms).unref();
  }

  /** No audio for the rest of this run: the playlists stop naming an audio rendition that gets no media. */
  private dropAudioRendition(run: Run, why: string): void {
    if (!run.sinks.delete(AUDIO_RENDITION_ID)) return;
    this.log.warn({ reason: why }, 'the playlists go on video-only');
    this.lines.push(`[onair] [warning] ${why}; playing video-only`);
    run.packager.removeRendition(AUDIO_RENDITION_ID);
  }

  private killProc(signal: NodeJS.Signals, reason: string): Promise<void> {
    const proc = this.proc;
    if (!proc) return Promise.resolve();
    proc.killReason ??= reason;
    if (proc.child && !proc.exit) {
      proc.child.kill(signal);
      if (signal !== 'SIGKILL') {
        const hard = setTimeout(() => proc.child?.kill('SIGKILL'), 3000);
        void proc.done.then(() => clearTimeout(hard));
      }
    }
    return proc.done;
  }

  private async teardownRun(endPlaylist: boolean): Promise<void> {
    this.clearTimers();
    const run = this.run;
    this.run = null;
    await this.disposeRun(run, endPlaylist);
  }

  private async disposeRun(run: Run | null, endPlaylist: boolean): Promise<void> {
    if (!run) {
      await this.opts.renditions?.close().catch(() => {});
      await this.opts.input.close().catch(() => {});
      return;
    }
    if (endPlaylist) run.packager.end();
    await this.opts.renditions?.close().catch((error) => this.log.warn({ err: error }, 'ending the renditions failed'));
    await run.sockets.close();
    await rm(run.workDir, { recursive: true, force: true });
    await this.opts.input.close().catch((error) => this.log.warn({ err: error }, 'closing the input failed'));
  }

  private closePackager(): void {
    if (!this.lastPackager) return;
    try {
      this.lastPackager.close();
    } catch (error) {
      this.log.warn({ err: error }, 'closing the packager failed');
    }
    this.lastPackager = null;
  }

  private replanner: NodeJS.Timeout | null = null;
  private replans = 0;

  private startReplanner(): void {
    if (this.replanner || !this.opts.input.currentHints) return;
    const run = this.run;
    this.replanner = setInterval(async () => {
      if (this._state !== 'running' || this.run !== run || !run || this.replans >= (this.opts.maxReplans ?? 2)) return;
      const hints = await this.opts.input.currentHints?.().catch(() => undefined);
      if (!hints?.width || !hints.height || this.run !== run || this._state !== 'running') return;
      const current = run.renditions;
      const next = planRenditions(this.profile, { ...run.source, ...hints });
      // A ladder planned without a known size already has every rung at its box size.
      const area = (list: PlannedRendition[]) => Math.max(0, ...list.map((r) => (r.width ?? r.box?.width ?? 0) * (r.height ?? r.box?.height ?? 0)));
      // Planned blind (size unknown at start): re-plan once the size is known, whatever it is.
      const blind = current.some((r) => r.width === undefined && r.video === 'encode');
      if (!blind && next.length <= current.length && area(next) <= area(current)) return;
      this.replans++;
      this.log.info({ from: current.map((r) => r.id), to: next.map((r) => r.id), source: `${hints.width}x${hints.height}` }, 'source outgrew the ladder; restarting with a bigger one');
      const replans = this.replans;
      await this.restart().catch((error) => this.log.error({ err: error }, 're-plan restart failed'));
      this.replans = replans;
    }, this.opts.replanIntervalMs ?? 5000);
    this.replanner.unref();
  }

  private startSampler(): void {
    this.sampler.start();
  }

  private stopSampler(): void {
    this.sampler.stop();
  }

  private clearTimers(): void {
    if (this.replanner) clearInterval(this.replanner);
    this.replanner = null;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.restartTimer = null;
    this.watchdog = null;
    this.stopSampler();
  }

  private setState(next: JobState): void {
    const previous = this._state;
    if (previous === next) return;
    this._state = next;
    this.log.info({ from: previous, to: next }, 'job state');
    this.emit('state', next, previous);
  }
}
