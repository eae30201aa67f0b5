/**
 * Every 2 s: the ffmpeg process's CPU (share of one core between samples) and resident memory
 * from procfs, and each rendition's output bitrate from the bytes its socket received.
 */
import { cpuShare, sampleProcess } from '../ffmpeg/proc-stats';

export class ProcessSampler {
  cpuShare: number | null = null;
  cpuSeconds: number | null = null;
  rssBytes: number | null = null;
  readonly bitrates = new Map<string, number | null>();
  private timer: NodeJS.Timeout | null = null;
  private lastCpuAt = 0;

  constructor(
    private readonly pid: () => number | null,
    private readonly takeByteWindows: () => Map<string, number> | undefined,
    private readonly intervalMs = 2000,
  ) {}

  start(): void {
    if (this.timer) return;
    let lastAt = Date.now();
    this.timer = setInterval(async () => {
      const now = Date.now();
      const seconds = (now - lastAt) / 1000;
      lastAt = now;
      for (const [id, bytes] of this.takeByteWindows() ?? []) this.bitrates.set(id, seconds > 0 ? Math.round((bytes * 8) / seconds / 100) / 10 : null);
      const pid = this.pid();
      if (!pid) return;
      const sample = await sampleProcess(pid);
      if (!sample) return;
      // A restarted process starts from zero CPU time: no share until its second sample.
      const previous = this.cpuSeconds !== null && this.lastCpuAt > 0 && sample.cpuSeconds >= this.cpuSeconds ? { cpuSeconds: this.cpuSeconds, at: this.lastCpuAt } : null;
      const share = previous ? cpuShare(previous, { cpuSeconds: sample.cpuSeconds, at: now }) : null;
      this.cpuShare = share === null ? null : Math.round(share * 1000) / 1000;
      this.cpuSeconds = sample.cpuSeconds;
      this.lastCpuAt = now;
      this.rssBytes = sample.rssBytes;
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
