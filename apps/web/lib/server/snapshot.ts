/** One dashboard snapshot: the ingest's streams and the transcoder's jobs, or why either is unreachable. */
import 'server-only';
import { toProblem } from '@onair/shared/errors';
import type { HealthReport, ServiceStatus, Snapshot } from '../../components/dashboard/types';
import { ingestClient } from './ingest-client';
import { withViewers } from './stream-viewers';
import { dashboardRuntime } from './runtime-config';
import { transcoderClient } from './transcoder-client';
import { UPSTREAM_TIMEOUT_MS } from './upstream';

async function status<T>(work: () => Promise<T>): Promise<ServiceStatus<T>> {
  try {
    return { ok: true, data: await work() };
  } catch (error) {
    const problem = toProblem(error);
    return { ok: false, error: { code: problem.code, detail: problem.detail ?? problem.title } };
  }
}

/** `/healthz` answers 200 when ready and 503 with the reasons when not: both are a report. */
async function health(baseUrl: string): Promise<HealthReport | null> {
  try {
    const res = await fetch(`${baseUrl}/healthz`, { cache: 'no-store', signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
    const body = (await res.json()) as Partial<HealthReport>;
    return body && typeof body === 'object' && body.checks && typeof body.checks === 'object' ? { ready: body.ready === true, service: String(body.service ?? ''), checks: body.checks } : null;
  } catch {
    return null;
  }
}

export async function snapshot(): Promise<Snapshot> {
  const runtime = dashboardRuntime();
  const [ingest, transcoder, ingestHealth, transcoderHealth] = await Promise.all([
    status(() => ingestClient.listStreams()),
    status(() => transcoderClient.listJobs()),
    health(runtime.ingestUrl),
    health(runtime.transcoderUrl),
  ]);
  // Each stream carries its viewers by protocol: WebRTC from the ingest, HLS from the transcoder.
  const streams: Snapshot['ingest'] = ingest.ok ? { ok: true, data: withViewers(ingest.data, transcoder) } : ingest;
  return { at: Date.now(), ingest: streams, transcoder, health: { ingest: ingestHealth, transcoder: transcoderHealth }, ingestUrl: runtime.ingestUrl, transcoderUrl: runtime.transcoderUrl };
}

