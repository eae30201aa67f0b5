/** Streams: list with live state, create. */
import { createStreamRequestSchema } from '@onair/shared/api';
import { json, readBody } from '../../../../lib/server/body';
import { ingestClient } from '../../../../lib/server/ingest-client';
import { dashboardRoute } from '../../../../lib/server/session';

export const dynamic = 'force-dynamic';

export const GET = dashboardRoute(async () => json(await ingestClient.listStreams()));

export const POST = dashboardRoute(async (request) => {
  const { name } = await readBody(request, createStreamRequestSchema);
  return json(await ingestClient.createStream(name), 201);
});
