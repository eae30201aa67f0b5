/**
 * Summaries the bench reports — percentiles, never a single timing — and the record of the
 * machine and versions every result file carries, so figures from different runs can be told apart.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';

export interface Distribution {
  n: number;
  p50: number;
  p95: number;
  max: number;
  min: number;
  mean: number;
}

/** Nearest-rank percentile (p in 0…100) of an unsorted list; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

const round = (v: number, digits = 1) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : v);

export function distribution(values: readonly number[], digits = 1): Distribution {
  const finite = values.filter(Number.isFinite);
  return {
    n: finite.length,
    p50: round(percentile(finite, 50), digits),
    p95: round(percentile(finite, 95), digits),
    max: round(finite.length ? Math.max(...finite) : Number.NaN, digits),
    min: round(finite.length ? Math.min(...finite) : Number.NaN, digits),
    mean: round(finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : Number.NaN, digits),
  };
}

export interface MachineRecord {
  cpus: number;
  model: string;
  loadBefore: number[];
  loadAfter?: number[];
  versions: Record<string, string>;
}

const root = resolve(import.meta.dirname, '../..');

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).split('\n')[0]!.trim();
  } catch {
    return 'unavailable';
  }
}

/** Version of an installed npm package, or 'unavailable'. */
export function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(resolve(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'unavailable';
  }
}

export const loadAverage = (): number[] => loadavg().map((v) => round(v, 2));

/** Cores, CPU model, load average now, and the versions of everything on the media path. */
export function machineRecord(chromiumPath = process.env.ONAIR_CHROMIUM ?? '/usr/bin/chromium'): MachineRecord {
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    loadBefore: loadAverage(),
    versions: {
      node: process.version,
      chromium: firstLine(chromiumPath, ['--version']),
      ffmpeg: firstLine(process.env.ONAIR_FFMPEG_PATH ?? 'ffmpeg', ['-version']).replace(/ Copyright.*/, '').replace(/^ffmpeg version /, ''),
      werift: packageVersion('werift'),
      'node-datachannel': packageVersion('node-datachannel'),
      'hls.js': packageVersion('hls.js'),
      'playwright-core': packageVersion('playwright-core'),
    },
  };
}
