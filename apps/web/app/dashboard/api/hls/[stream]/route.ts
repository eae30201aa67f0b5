/** The stream's HLS multivariant playlist as the transcoder serves it (shown next to the ladder). */
import { dashboardRoute } from '../../../../../lib/server/session';
import { transcoderClient } from '../../../../../lib/server/transcoder-client';

export const dynamic = 'force-dynamic';

export const GET = dashboardRoute<{ params: Promise<{ stream: string }> }>(
  async (_request, { params }) => new Response(await transcoderClient.masterPlaylist((await params).stream), { headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } }),
);
