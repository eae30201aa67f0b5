/** One profile: read, replace (live jobs using it restart with the new ladder), delete. */
import { z } from 'zod';
import { json, readBody } from '../../../../../lib/server/body';
import { dashboardRoute } from '../../../../../lib/server/session';
import { transcoderClient } from '../../../../../lib/server/transcoder-client';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ name: string }> };

export const GET = dashboardRoute<Context>(async (_request, { params }) => json(await transcoderClient.getProfile((await params).name)));

export const PUT = dashboardRoute<Context>(async (request, { params }) =>
  json(await transcoderClient.replaceProfile((await params).name, await readBody(request, z.record(z.string(), z.unknown())))),
);

export const DELETE = dashboardRoute<Context>(async (_request, { params }) => {
  await transcoderClient.deleteProfile((await params).name);
  return new Response(null, { status: 204 });
});
