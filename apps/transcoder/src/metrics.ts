/**
 * Prometheus metrics of the transcoder, read from the jobs' `getStats()` at scrape time (no
 * counters scattered through the job code, except restarts which must survive a job's reset).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { JobManager } from './jobs/job-manager';
import type { JobState } from './jobs/job-types';

const STATES: JobState[] = ['starting', 'running', 'restarting', 'failed', 'stopped'];

export function registerTranscoderMetrics(registry: Registry, jobs: JobManager, hlsViewers?: () => Record<string, number>): void {
  if (hlsViewers) {
    new Gauge({
      name: 'onair_transcoder_hls_viewers',
      help: 'Active HLS viewers per stream: distinct clients (address + User-Agent) that fetched a media playlist, part or segment in the last ~6 s.',
      labelNames: ['stream'],
      registers: [registry],
      collect() {
        this.reset();
        const counts = hlsViewers();
        // Running jobs show 0 rather than no series, so a dashboard sees the drop to zero.
        for (const job of jobs.list()) if (job.state === 'running' || counts[job.stream]) this.set({ stream: job.stream }, counts[job.stream] ?? 0);
        for (const [stream, n] of Object.entries(counts)) this.set({ stream }, n);
      },
    });
  }
  new Gauge({
    name: 'onair_transcoder_jobs',
    help: 'Transcode jobs by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = new Map<JobState, number>(STATES.map((s) => [s, 0]));
      for (const job of jobs.list()) counts.set(job.state, (counts.get(job.state) ?? 0) + 1);
      for (const [state, count] of counts) this.set({ state }, count);
    },
  });
  const restarts = new Counter({ name: 'onair_transcoder_restarts_total', help: 'ffmpeg restarts after a crash, per stream.', labelNames: ['stream'], registers: [registry] });
  jobs.on('state', (stream, next, previous) => {
    if (next === 'restarting' && previous !== 'restarting') restarts.inc({ stream });
  });
  const perJob = (name: string, help: string, read: (job: ReturnType<JobManager['list']>[number]) => number | null | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['stream', 'profile'],
      registers: [registry],
      collect() {
        this.reset();
        for (const job of jobs.list()) {
          if (job.state !== 'running') continue;
          const value = read(job);
          if (value !== null && value !== undefined) this.set({ stream: job.stream, profile: job.profile }, value);
        }
      },
    });
  perJob('onair_transcoder_speed_ratio', 'Encoder speed as a multiple of realtime (1 keeps up).', (j) => j.progress?.speed);
  perJob('onair_transcoder_fps', 'Frames per second ffmpeg is producing.', (j) => j.progress?.fps);
  perJob('onair_transcoder_dropped_frames', 'Frames dropped by ffmpeg since the process started.', (j) => j.progress?.drop);
  perJob('onair_transcoder_cpu_cores', 'CPU used by the ffmpeg process, in cores.', (j) => (j.process?.cpuPercent == null ? null : j.process.cpuPercent / 100));
  perJob('onair_transcoder_memory_bytes', 'Resident memory of the ffmpeg process.', (j) => j.process?.rssBytes);
  new Gauge({
    name: 'onair_transcoder_rendition_bitrate_kbps',
    help: 'Measured fMP4 output bitrate per rendition.',
    labelNames: ['stream', 'rendition'],
    registers: [registry],
    collect() {
      this.reset();
      for (const job of jobs.list()) {
        if (job.state !== 'running') continue;
        for (const r of job.renditions) if (r.bitrateKbps !== null) this.set({ stream: job.stream, rendition: r.id }, r.bitrateKbps);
      }
    },
  });
}
