/** Switch a stream's profile (the transcoder restarts a live job with the new ladder). */
import { z } from 'zod';
import { json, readBody } from '../../../../../../lib/server/body';
import { dashboardRoute } from '../../../../../../lib/server/session';
import { transcoderClient } from '../../../../../../lib/server/transcoder-client';

export const dynamic = 'force-dynamic';

const bodySchema = z.object({ profile: z.string().min(1).max(64) }).strict();

export const PUT = dashboardRoute<{ params: Promise<{ stream: string }> }>(async (request, { params }) => {
  const { profile } = await readBody(request, bodySchema);
  return json((await transcoderClient.setProfile((await params).stream, profile)) ?? { ok: true });
});
