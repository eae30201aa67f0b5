/**
 * Where the dashboard finds the ingest and the transcoder, and the admin secret: read from the
 * environment on every call (runtime configuration — one build runs anywhere), never at build
 * time and never in a `NEXT_PUBLIC_*` variable.
 */
import 'server-only';

export interface DashboardRuntime {
  ingestUrl: string;
  transcoderUrl: string;
  /** Undefined when the web process was started without ONAIR_ADMIN_TOKEN: nobody can sign in. */
  adminToken: string | undefined;
}

/** Bracket access so that no bundler can inline a value at build time. */
function env(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

export function dashboardRuntime(): DashboardRuntime {
  return {
    ingestUrl: (env('ONAIR_INGEST_URL') ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    transcoderUrl: (env('ONAIR_TRANSCODER_URL') ?? 'http://127.0.0.1:8090').replace(/\/+$/, ''),
    adminToken: env('ONAIR_ADMIN_TOKEN'),
  };
}
