/**
 * The soak's verdict (pure): did a service's memory, file descriptors or event-loop delay grow
 * while viewers came and went, beyond what a steady process wobbles by?
 *
 * Samples taken before `warmupS` are left out (a young process grows its heap and JIT caches
 * whatever happens). Of the rest, the first third is compared with the last third:
 * - RSS by medians: growth past max(rssMiB, rssFraction × the first third's median) fails;
 * - heap used by minima: the lowest heap of a window is what survived the collections in it, the
 *   live set; growth past max(heapMiB, heapFraction × first) fails;
 * - open fds by medians: growth past max(fds, fdFraction × first) fails (every viewer holds a
 *   few; the pool's size is constant, so its fds are too);
 * - event-loop delay p99 by medians: last > eldFactor × first + eldMarginMs fails.
 * The slope of a least-squares line over the same samples is reported as MiB/min (information;
 * a short run's slope is mostly noise).
 */

export interface SoakSample {
  /** Seconds since the churn started. */
  t: number;
  rssBytes?: number;
  heapUsedBytes?: number;
  openFds?: number;
  /** Event-loop delay p99 since the previous sample, ms. */
  eldP99Ms?: number;
  /** Event-loop delay max since the previous sample, ms. */
  eldMaxMs?: number;
}

export interface GrowthLimits {
  warmupS: number;
  rssMiB: number;
  rssFraction: number;
  heapMiB: number;
  heapFraction: number;
  fds: number;
  fdFraction: number;
  eldFactor: number;
  eldMarginMs: number;
}

export const DEFAULT_LIMITS: GrowthLimits = { warmupS: 60, rssMiB: 32, rssFraction: 0.15, heapMiB: 16, heapFraction: 0.25, fds: 8, fdFraction: 0.1, eldFactor: 2, eldMarginMs: 50 };

export interface MetricGrowth {
  first: number;
  last: number;
  growth: number;
  allowed: number;
  grew: boolean;
}

export interface ServiceVerdict {
  samples: number;
  rssMiB?: MetricGrowth & { slopeMiBPerMin: number };
  heapMiB?: MetricGrowth;
  fds?: MetricGrowth;
  eldP99Ms?: MetricGrowth;
  eldMaxMs?: number;
  failures: string[];
}

const MiB = 1024 * 1024;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Slope of the least-squares line through (x, y), per unit of x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  if (sxx === 0) return 0;
  return xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / sxx;
}

const round = (v: number) => Math.round(v * 10) / 10;

function compare(first: number, last: number, allowed: number): MetricGrowth {
  return { first: round(first), last: round(last), growth: round(last - first), allowed: round(allowed), grew: last - first > allowed };
}

/** Judges one service's samples against the limits. Fewer than 6 samples past warm-up is a failure. */
export function judgeService(name: string, all: readonly SoakSample[], limits: GrowthLimits = DEFAULT_LIMITS): ServiceVerdict {
  const samples = all.filter((s) => s.t >= limits.warmupS);
  const verdict: ServiceVerdict = { samples: samples.length, failures: [] };
  if (samples.length < 6) {
    verdict.failures.push(`${name}: only ${samples.length} samples after the ${limits.warmupS} s warm-up, too few to judge`);
    return verdict;
  }
  const third = Math.floor(samples.length / 3);
  const head = samples.slice(0, third);
  const tail = samples.slice(samples.length - third);
  const values = (list: readonly SoakSample[], key: keyof SoakSample) => list.map((s) => s[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));

  const rssHead = values(head, 'rssBytes');
  const rssTail = values(tail, 'rssBytes');
  if (rssHead.length && rssTail.length) {
    const first = median(rssHead) / MiB;
    const withRss = samples.filter((s) => typeof s.rssBytes === 'number');
    verdict.rssMiB = { ...compare(first, median(rssTail) / MiB, Math.max(limits.rssMiB, limits.rssFraction * first)), slopeMiBPerMin: round(slope(withRss.map((s) => s.t / 60), withRss.map((s) => s.rssBytes! / MiB))) };
    if (verdict.rssMiB.grew) verdict.failures.push(`${name}: RSS grew ${verdict.rssMiB.growth} MiB (${verdict.rssMiB.first} → ${verdict.rssMiB.last}; allowed ${verdict.rssMiB.allowed})`);
  }
  const heapHead = values(head, 'heapUsedBytes');
  const heapTail = values(tail, 'heapUsedBytes');
  if (heapHead.length && heapTail.length) {
    const first = Math.min(...heapHead) / MiB;
    verdict.heapMiB = compare(first, Math.min(...heapTail) / MiB, Math.max(limits.heapMiB, limits.heapFraction * first));
    if (verdict.heapMiB.grew) verdict.failures.push(`${name}: heap after collections grew ${verdict.heapMiB.growth} MiB (${verdict.heapMiB.first} → ${verdict.heapMiB.last}; allowed ${verdict.heapMiB.allowed})`);
  }
  const fdHead = values(head, 'openFds');
  const fdTail = values(tail, 'openFds');
  if (fdHead.length && fdTail.length) {
    const first = median(fdHead);
    verdict.fds = compare(first, median(fdTail), Math.max(limits.fds, limits.fdFraction * first));
    if (verdict.fds.grew) verdict.failures.push(`${name}: open file descriptors grew by ${verdict.fds.growth} (${verdict.fds.first} → ${verdict.fds.last}; allowed ${verdict.fds.allowed})`);
  }
  const eldHead = values(head, 'eldP99Ms');
  const eldTail = values(tail, 'eldP99Ms');
  if (eldHead.length && eldTail.length) {
    const first = median(eldHead);
    const last = median(eldTail);
    verdict.eldP99Ms = compare(first, last, (limits.eldFactor - 1) * first + limits.eldMarginMs);
    if (verdict.eldP99Ms.grew) verdict.failures.push(`${name}: event-loop delay p99 grew ${verdict.eldP99Ms.first} → ${verdict.eldP99Ms.last} ms (allowed ${limits.eldFactor}× + ${limits.eldMarginMs} ms)`);
  }
  const maxes = values(samples, 'eldMaxMs');
  if (maxes.length) verdict.eldMaxMs = round(Math.max(...maxes));
  return verdict;
}
