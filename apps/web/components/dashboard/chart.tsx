'use client';
/**
 * A small time-series chart in plain SVG: a few series over the last minutes, the y range from 0
 * to the largest value seen, the latest value of each series in the legend. Gaps (null) break
 * the line instead of drawing it to zero.
 */
import styles from './dashboard.module.css';

export interface Series {
  label: string;
  color: string;
  /** [time ms, value or null] oldest first. */
  points: ReadonlyArray<readonly [number, number | null]>;
  format?: (value: number) => string;
}

const WIDTH = 320;
const HEIGHT = 90;
const PAD_TOP = 6;

/** Shortest and longest time span shown, ms: the chart widens with the history it has, up to 5 min. */
const MIN_WINDOW_MS = 60_000;
const MAX_WINDOW_MS = 300_000;

export function Chart({ title, series, now, testId }: { title: string; series: Series[]; now: number; testId?: string }) {
  const oldest = Math.min(now, ...series.map((s) => s.points[0]?.[0] ?? now));
  const windowMs = Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, now - oldest));
  const start = now - windowMs;
  let max = 0;
  for (const s of series) for (const [t, v] of s.points) if (t >= start && v !== null && v > max) max = v;
  const top = niceCeiling(max);
  const x = (t: number) => ((t - start) / windowMs) * WIDTH;
  const y = (v: number) => HEIGHT - (v / top) * (HEIGHT - PAD_TOP);
  return (
    <figure className={styles.chart} data-testid={testId}>
      <figcaption className={styles.chartTitle}>
        <span>{title}</span>
        <span className={styles.chartLegend}>
          {series.map((s) => {
            const last = [...s.points].reverse().find(([, v]) => v !== null)?.[1] ?? null;
            return (
              <span key={s.label} style={{ color: s.color }} data-value={last ?? ''}>
                {s.label} {last === null ? '—' : (s.format ?? String)(last)}
              </span>
            );
          })}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" className={styles.chartSvg} role="img" aria-label={title}>
        <line x1="0" x2={WIDTH} y1={y(top / 2)} y2={y(top / 2)} className={styles.chartGrid} />
        <line x1="0" x2={WIDTH} y1={HEIGHT - 0.5} y2={HEIGHT - 0.5} className={styles.chartGrid} />
        {series.map((s) => (
          <path key={s.label} d={pathOf(s.points, start, x, y)} fill="none" stroke={s.color} strokeWidth="1.5" vectorEffect="non-scaling-stroke" />
        ))}
      </svg>
      <div className={styles.chartAxis}>
        <span>{windowMs >= 120_000 ? `${Math.round(windowMs / 60_000)} min ago` : `${Math.round(windowMs / 1000)} s ago`}</span>
        <span>max {series[0]?.format ? series[0].format(top) : top}</span>
        <span>now</span>
      </div>
    </figure>
  );
}

function pathOf(points: Series['points'], start: number, x: (t: number) => number, y: (v: number) => number): string {
  let d = '';
  let pen = false;
  for (const [t, v] of points) {
    if (t < start || v === null) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  }
  return d;
}

/** 1, 2 or 5 times a power of ten, at least `value` (so the axis reads well). */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

export const COLORS = ['#4cc9f0', '#f72585', '#b5e48c', '#ffb703', '#9d4edd', '#06d6a0', '#ef476f', '#8ecae6'];
