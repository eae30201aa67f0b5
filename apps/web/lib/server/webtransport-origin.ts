/**
 * Where the WebTransport ingest is, for the pages' Content-Security-Policy: the origin of the
 * URL the ingest's discovery gives (`GET /api/webtransport`), which the broadcaster connects to.
 * The ingest binds its own addresses and port (ONAIR_ICE_HOSTS, ONAIR_WEBTRANSPORT_PORT; 0 picks
 * one), so guessing it from the page's host misses e.g. a page on `localhost` whose ingest is
 * `127.0.0.1`. Fetched from the ingest at most every 30 s, in the background; until the first
 * answer, or when the ingest is away, the CSP falls back to the page's host and the default port.
 */
import { ingestBaseUrl } from '../ingest-proxy';

const REFRESH_MS = 30_000;
let cached: { origin: string | null; at: number } | undefined;
let refreshing: Promise<void> | undefined;

async function refresh(): Promise<void> {
  try {
    const res = await fetch(new URL('/api/webtransport', ingestBaseUrl()), { signal: AbortSignal.timeout(2_000), cache: 'no-store' });
    const body = res.ok ? ((await res.json()) as { url?: unknown }) : undefined;
    const origin = typeof body?.url === 'string' ? new URL(body.url).origin : null;
    cached = { origin: origin?.startsWith('https://') ? origin : null, at: Date.now() };
  } catch {
    cached = { origin: cached?.origin ?? null, at: Date.now() };
  }
}

/**
 * The discovered origin, waiting at most `waitMs` for the process's first answer (a page's CSP
 * must not wait on the ingest for long, but the first page after a start should not get the
 * guess: on a busy machine the ingest took over 300 ms to answer and /broadcast fell back to
 * WHIP); later calls answer from the cache and refresh it behind.
 */
export async function webTransportOrigin(waitMs = 2_000): Promise<string | null> {
  if (!cached || Date.now() - cached.at > REFRESH_MS) {
    refreshing ??= refresh().finally(() => {
      refreshing = undefined;
    });
    if (!cached) await Promise.race([refreshing, new Promise((resolve) => setTimeout(resolve, waitMs))]);
  }
  return cached?.origin ?? null;
}
