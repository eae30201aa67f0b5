/** The ingest admin API (streams and keys, live state), called server-side with the admin token. */
import 'server-only';
import { z } from 'zod';
import { streamSchema, type Stream } from '@onair/shared/api';
import { dashboardRuntime } from './runtime-config';
import { upstreamJson, type UpstreamTarget } from './upstream';

function ingest(): UpstreamTarget {
  const runtime = dashboardRuntime();
  return { service: 'ingest', baseUrl: runtime.ingestUrl, adminToken: runtime.adminToken };
}

const id = (idOrName: string) => encodeURIComponent(idOrName);

export const ingestClient = {
  target: ingest,
  listStreams: (): Promise<Stream[]> => upstreamJson(ingest(), '/api/streams', { schema: z.array(streamSchema) }),
  createStream: (name: string): Promise<Stream> => upstreamJson(ingest(), '/api/streams', { method: 'POST', body: { name }, schema: streamSchema }),
  renameStream: (idOrName: string, name: string): Promise<Stream> => upstreamJson(ingest(), `/api/streams/${id(idOrName)}`, { method: 'PATCH', body: { name }, schema: streamSchema }),
  rotateKey: (idOrName: string): Promise<Stream> => upstreamJson(ingest(), `/api/streams/${id(idOrName)}/rotate-key`, { method: 'POST', schema: streamSchema }),
  deleteStream: (idOrName: string): Promise<void> => upstreamJson(ingest(), `/api/streams/${id(idOrName)}`, { method: 'DELETE' }),
};
