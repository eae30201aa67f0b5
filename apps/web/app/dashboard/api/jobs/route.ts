/** Transcoder jobs, as the dashboard shows them. */
import { json } from '../../../../lib/server/body';
import { dashboardRoute } from '../../../../lib/server/session';
import { transcoderClient } from '../../../../lib/server/transcoder-client';

export const dynamic = 'force-dynamic';

export const GET = dashboardRoute(async () => json(await transcoderClient.listJobs()));
