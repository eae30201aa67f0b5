/**
 * What the dashboard's server side hands its client side (route handlers → browser), as types
 * only: no secrets beyond what an operator signed in may see (stream keys, shown masked).
 */
import type { Stream } from '@onair/shared/api';

export type { Stream };

export type JobState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

/** Encoder figures: from ffmpeg's progress, per rendition when it reports them, else overall. */
export interface EncoderStats {
  fps: number | null;
  bitrateKbps: number | null;
  /** Encoding speed relative to real time (1 = keeping up). */
  speed: number | null;
  droppedFrames: number | null;
  duplicatedFrames: number | null;
}

export interface RenditionView extends EncoderStats {
  id: string;
  width: number | null;
  height: number | null;
  targetKbps: number | null;
}

export interface JobView {
  stream: string;
  state: JobState | (string & {});
  profile: string | null;
  since: string | null;
  restarts: number | null;
  lastError: string | null;
  /** Where ffmpeg reads from (e.g. the forwarded RTP's SDP). */
  input: string | null;
  /** Whether the ingest reports the stream live (null when the transcoder does not say). */
  live: boolean | null;
  overall: EncoderStats;
  renditions: RenditionView[];
  /** ffmpeg process: CPU in percent of one core, resident memory in bytes. */
  process: { pid: number | null; cpuPercent: number | null; rssBytes: number | null } | null;
  hlsUrl: string | null;
  /** Active HLS viewers of the stream, as the transcoder's origin counts them (null when not reported). */
  hlsViewers: number | null;
}

/** Viewers of a stream by protocol: WebRTC from the ingest, HLS from the transcoder. */
export interface StreamViewers {
  webrtc: number;
  /** null when the transcoder could not be asked (then only WebRTC is known). */
  hls: number | null;
  /** Everyone the services know of: the ingest's total plus HLS. */
  total: number;
}

/** A stream as the dashboard shows it: the ingest's view plus the viewers of both services. */
export type DashboardStream = Stream & { viewers: StreamViewers };

export interface RungDoc {
  name: string;
  width: number;
  height: number;
  maxFps: number;
  videoKbps: number;
  preset: string;
}

export interface ProfileDoc {
  name: string;
  description?: string;
  mode: 'transcode' | 'passthrough';
  audioKbps: number;
  gopSeconds: number;
  rungs: RungDoc[];
  builtin?: boolean;
}

export type ServiceStatus<T> = { ok: true; data: T } | { ok: false; error: { code: string; detail: string } };

/** A service's `GET /healthz` (packages/service/src/ops.ts). */
export interface HealthReport {
  ready: boolean;
  service: string;
  checks: Record<string, { ok: boolean; reason?: string }>;
}

/** One server-sent snapshot (the events route pushes one about every second). */
export interface Snapshot {
  at: number;
  ingest: ServiceStatus<DashboardStream[]>;
  transcoder: ServiceStatus<JobView[]>;
  /** Health of each service, or null when it could not be asked (then `ingest`/`transcoder` say why). */
  health: { ingest: HealthReport | null; transcoder: HealthReport | null };
  ingestUrl: string;
  transcoderUrl: string;
}
