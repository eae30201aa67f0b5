/**
 * From the transcoder's job JSON (`JobStats` in apps/transcoder/src/jobs/transcode-job.ts: one
 * ffmpeg per stream, so fps/speed/drops are per job and bitrate is measured per rendition) to the
 * dashboard's view of a job. Pure (unit-tested) and lenient on purpose: a field the transcoder
 * does not report shows as "—" instead of failing the whole page.
 */
import type { EncoderStats, JobView, RenditionView } from '../../components/dashboard/types';

type Loose = Record<string, unknown>;

const obj = (v: unknown): Loose | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : undefined);
const num = (...vs: unknown[]): number | null => {
  for (const v of vs) if (typeof v === 'number' && Number.isFinite(v)) return v;
  return null;
};
const str = (...vs: unknown[]): string | null => {
  for (const v of vs) if (typeof v === 'string' && v) return v;
  return null;
};

function encoderStats(raw: Loose | undefined): EncoderStats {
  const r = raw ?? {};
  return {
    fps: num(r.fps),
    bitrateKbps: num(r.bitrateKbps, r.kbps),
    speed: num(r.speed),
    droppedFrames: num(r.droppedFrames, r.drop, r.dropped),
    duplicatedFrames: num(r.duplicatedFrames, r.dup, r.duplicated),
  };
}

function rendition(raw: unknown, index: number): RenditionView {
  const r = obj(raw) ?? {};
  const stats = obj(r.stats) ?? obj(r.progress) ?? r;
  return {
    id: str(r.id, r.name) ?? `#${index + 1}`,
    width: num(r.width),
    height: num(r.height),
    targetKbps: num(r.videoKbps, r.targetKbps),
    ...encoderStats(stats),
  };
}

export function toJobView(raw: unknown): JobView {
  const r = obj(raw) ?? {};
  const progress = obj(r.stats) ?? obj(r.progress) ?? obj(r.overall) ?? {};
  const cpu = obj(r.cpu);
  const memory = obj(r.memory);
  const proc = obj(r.process) ?? obj(r.ffmpeg) ?? obj(r.proc) ?? (cpu || memory ? { pid: r.pid, cpuShare: cpu?.share, rssBytes: memory?.rssBytes } : undefined);
  const renditions = Array.isArray(r.renditions) ? r.renditions : Array.isArray(r.rungs) ? r.rungs : [];
  const error = obj(r.lastError) ?? obj(r.error);
  return {
    stream: str(r.stream, r.name, r.streamName) ?? '?',
    state: str(r.state, r.status) ?? 'stopped',
    profile: str(r.profile, obj(r.profile)?.name),
    since: str(r.runningSince, r.since, r.startedAt),
    restarts: num(r.restarts, r.restartCount),
    lastError: str(r.lastError, r.error, error?.detail, error?.message),
    input: str(r.input),
    live: typeof r.live === 'boolean' ? r.live : null,
    overall: encoderStats(progress),
    renditions: renditions.map(rendition),
    process: proc
      ? {
          pid: num(proc.pid, r.pid),
          cpuPercent: num(proc.cpuPercent, typeof proc.cpu === 'number' ? proc.cpu : undefined, typeof proc.cpuShare === 'number' ? proc.cpuShare * 100 : undefined),
          rssBytes: num(proc.rssBytes, proc.memoryBytes, proc.rss),
        }
      : r.pid !== undefined
        ? { pid: num(r.pid), cpuPercent: num(r.cpuPercent), rssBytes: num(r.rssBytes) }
        : null,
    hlsUrl: str(r.hlsUrl, r.playlistUrl),
    hlsViewers: num(r.hlsViewers),
  };
}

export function toJobViews(raw: unknown): JobView[] {
  const list = Array.isArray(raw) ? raw : Array.isArray(obj(raw)?.jobs) ? (obj(raw)!.jobs as unknown[]) : [];
  return list.map(toJobView);
}
