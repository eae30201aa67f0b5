/**
 * Failed sign-in attempts per client, in a sliding window held in memory (one web process; a
 * restart forgets, which is acceptable for a brute-force brake on a ≥16-character secret).
 */
export interface RateLimitOptions {
  /** Failures allowed per window. Default 10. */
  limit?: number;
  /** Window length in ms. Default 60 000. */
  windowMs?: number;
  /** Clients remembered at most (oldest forgotten first). Default 10 000. */
  maxClients?: number;
}

export class FailureLimiter {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxClients: number;
  private readonly failures = new Map<string, number[]>();

  constructor(options: RateLimitOptions = {}) {
    this.limit = options.limit ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxClients = options.maxClients ?? 10_000;
  }

  /** Whether `client` may try now; if not, how many ms until it may. */
  check(client: string, now = Date.now()): { allowed: true } | { allowed: false; retryAfterMs: number } {
    const recent = this.recent(client, now);
    if (recent.length < this.limit) return { allowed: true };
    return { allowed: false, retryAfterMs: Math.max(1, recent[0]! + this.windowMs - now) };
  }

  recordFailure(client: string, now = Date.now()): void {
    const recent = this.recent(client, now);
    recent.push(now);
    this.failures.delete(client);
    this.failures.set(client, recent);
    while (this.failures.size > this.maxClients) this.failures.delete(this.failures.keys().next().value!);
  }

  reset(client: string): void {
    this.failures.delete(client);
  }

  private recent(client: string, now: number): number[] {
    const times = (this.failures.get(client) ?? []).filter((t) => t > now - this.windowMs);
    if (times.length === 0) this.failures.delete(client);
    else this.failures.set(client, times);
    return times;
  }
}
