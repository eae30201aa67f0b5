/** The last lines of ffmpeg's log for a stream's job. */
import { json } from '../../../../../../lib/server/body';
import { dashboardRoute } from '../../../../../../lib/server/session';
import { transcoderClient } from '../../../../../../lib/server/transcoder-client';

export const dynamic = 'force-dynamic';

export const GET = dashboardRoute<{ params: Promise<{ stream: string }> }>(async (_request, { params }) => json({ lines: await transcoderClient.logs((await params).stream) }));
