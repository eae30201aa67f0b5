/** One dashboard snapshot: the ingest's streams and the transcoder's jobs, or why either is unreachable. */
import 'server-only';
import { toProblem } from '@onair/shared/errors';
import type { ServiceStatus, Snapshot } from '../../components/dashboard/types';
import { ingestClient } from './ingest-client';
import { dashboardRuntime } from './runtime-config';
import { transcoderClient } from './transcoder-client';

async function status<T>(work: () => Promise<T>): Promise<ServiceStatus<T>> {
  try {
    return { ok: true, data: await work() };
  } catch (error) {
    const problem = toProblem(error);
    return { ok: false, error: { code: problem.code, detail: problem.detail ?? problem.title } };
  }
}

export async function snapshot(): Promise<Snapshot> {
  const runtime = dashboardRuntime();
  const [ingest, transcoder] = await Promise.all([status(() => ingestClient.listStreams()), status(() => transcoderClient.listJobs())]);
  return { at: Date.now(), ingest, transcoder, ingestUrl: runtime.ingestUrl, transcoderUrl: runtime.transcoderUrl };
}

