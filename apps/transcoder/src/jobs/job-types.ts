/** The job's public shapes: its options, its stats (the API's job JSON), the packager it feeds. */
import type { Logger } from '@onair/service/logger';
import type { FfmpegProgress } from '../ffmpeg/progress';
import type { Profile } from '../ladder/profile';
import type { InputSource } from './input-source';
import type { RenditionOutput } from './rendition-output';

export type JobState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

/** The packager as the job uses it (structurally the HLS engineer's HlsPackager). */
export interface PackagerLike {
  addRendition(r: { id: string; bandwidth: number; width?: number; height?: number; frameRate?: number; role?: 'variant' | 'audio'; channels?: number }): { push(chunk: Buffer): void };
  /** Stops serving a rendition that will get no media. */
  removeRendition(id: string): void;
  discontinuity(): void;
  end(): void;
  close(): void;
}

export interface TranscodeJobOptions {
  stream: string;
  profile: Profile;
  input: InputSource;
  /** Where encoded rungs also go as RTP (the ingest, for WebRTC viewers); none: HLS only. */
  renditions?: RenditionOutput;
  /** Resolved ffmpeg binary. */
  ffmpegPath: string;
  /** Where ffmpeg receives the input RTP (the address the input's SDP names). Default 127.0.0.1. */
  inputHost?: string;
  /** Creates the packager of one run (a run ends with stop(); a new profile makes a new run). */
  createPackager: () => PackagerLike;
  log: Logger;
  /** A process that produced nothing for this long after spawn is killed and the start reported failed. Default 10 000 ms. */
  startTimeoutMs?: number;
  /**
   * A running process that produced nothing for this long is treated as crashed. Default 15 000 ms:
   * longer than the ingest's 10 s media timeout, so a publisher that vanished is ended by the
   * ingest's stream.offline rather than restarted here.
   */
  stallTimeoutMs?: number;
  /** Backoff before restart n (0-based): min(initial × 2^n, max). Defaults 500 ms, 10 000 ms. */
  restartBackoff?: { initialMs: number; maxMs: number };
  /** Consecutive crashes (without 30 s of steady output in between) before giving up. Default 8. */
  maxConsecutiveCrashes?: number;
  /**
   * How often to ask the input for the source's size while running, ms (default 5000). A WebRTC
   * publisher starts small and ramps up (360p → 720p in 10–20 s): when the source has outgrown the
   * ladder planned at start, the job restarts once per growth with the bigger ladder (at most
   * `maxReplans` times per start, default 2). Sources never shrink a ladder.
   */
  replanIntervalMs?: number;
  maxReplans?: number;
  /** How many ffmpeg log lines to keep for the dashboard. Default 200. */
  logLines?: number;
}

export interface RenditionStats {
  id: string;
  width?: number;
  height?: number;
  videoKbps?: number;
  bytes: number;
  /** Measured output bitrate of this rendition (fMP4 bytes), kbit/s. */
  bitrateKbps: number | null;
}

export interface JobStats {
  stream: string;
  state: JobState;
  profile: string;
  input: string;
  pid: number | null;
  startedAt: string | null;
  runningSince: string | null;
  restarts: number;
  lastError: string | null;
  /** ms from spawn to the first fMP4 byte of the current process. */
  firstOutputMs: number | null;
  /** Overall ffmpeg progress (fps, speed, bitrate of the first output, frame, drop, dup). */
  progress: FfmpegProgress | null;
  /** The ffmpeg process: CPU in percent of one core (sampled every 2 s), CPU seconds, resident memory. */
  process: { pid: number; cpuPercent: number | null; cpuSeconds: number | null; rssBytes: number | null } | null;
  /** Multivariant playlist of this stream on this service. */
  hlsUrl: string;
  renditions: RenditionStats[];
}
