/**
 * Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`
 * with `what` in the message. Tests wait for readiness this way, never by sleeping.
 */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, { timeoutMs = 15_000, intervalMs = 100 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

/**
 * Checks `check` (which throws, e.g. an expect, when the invariant breaks) every `intervalMs`
 * for `forMs`: for "this never happens" claims, which no readiness can be polled for.
 */
export async function holdsFor(check: () => Promise<void> | void, { forMs, intervalMs = 250 }: { forMs: number; intervalMs?: number }): Promise<void> {
  const until = Date.now() + forMs;
  do {
    await check();
    await new Promise((r) => setTimeout(r, intervalMs));
  } while (Date.now() < until);
}
