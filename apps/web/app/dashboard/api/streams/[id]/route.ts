/** One stream: rename, delete. */
import { renameStreamRequestSchema } from '@onair/shared/api';
import { json, readBody } from '../../../../../lib/server/body';
import { ingestClient } from '../../../../../lib/server/ingest-client';
import { dashboardRoute } from '../../../../../lib/server/session';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ id: string }> };

export const PATCH = dashboardRoute<Context>(async (request, { params }) => {
  const { name } = await readBody(request, renameStreamRequestSchema);
  return json(await ingestClient.renameStream((await params).id, name));
});

export const DELETE = dashboardRoute<Context>(async (_request, { params }) => {
  await ingestClient.deleteStream((await params).id);
  return new Response(null, { status: 204 });
});
