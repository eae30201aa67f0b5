/**
 * Reconnect delays: exponential from `baseMs`, capped at `maxMs`, with ±`jitter` spread so that a
 * crowd of viewers dropped by the same ingest restart does not come back in lockstep.
 */
export interface BackoffOptions {
  /** First delay, ms. Default 500. */
  baseMs?: number;
  /** Largest delay, ms. Default 10 000. */
  maxMs?: number;
  /** Relative spread, 0–1. Default 0.2. */
  jitter?: number;
}

export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 500;
  const max = options.maxMs ?? 10_000;
  const jitter = options.jitter ?? 0.2;
  const raw = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (1 - jitter + 2 * jitter * random()));
}
