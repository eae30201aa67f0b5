import { describe, expect, it } from 'vitest';
import { cpuShare, parseProcStat, parseProcStatus, sampleProcess } from './proc-stats';

describe('procfs parsing', () => {
  it('reads utime + stime after a comm that contains spaces and parentheses', () => {
    const stat = '4242 (ffmpeg (x) y) S 1 4242 4242 0 -1 4194304 5000 0 0 0 1234 566 0 0 20 0 4 0 100 0 0';
    expect(parseProcStat(stat)).toEqual({ cpuSeconds: 18 });
    expect(parseProcStat('garbage')).toBeNull();
  });

  it('reads VmRSS in bytes', () => {
    expect(parseProcStatus('Name:\tffmpeg\nVmPeak:\t  999 kB\nVmRSS:\t  124268 kB\n')).toEqual({ rssBytes: 124268 * 1024 });
    expect(parseProcStatus('Name:\tffmpeg\n')).toBeNull();
  });

  it('computes CPU share between samples', () => {
    expect(cpuShare({ cpuSeconds: 10, at: 0 }, { cpuSeconds: 11, at: 2000 })).toBe(0.5);
    expect(cpuShare({ cpuSeconds: 10, at: 5 }, { cpuSeconds: 11, at: 5 })).toBeNull();
  });

  it('samples this very process', async () => {
    const sample = await sampleProcess(process.pid);
    expect(sample?.rssBytes).toBeGreaterThan(1024 * 1024);
    expect(sample?.cpuSeconds).toBeGreaterThan(0);
  });
});
