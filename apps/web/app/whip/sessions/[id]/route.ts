/** WHIP session resource (RFC 9725 §4.3): PATCH for trickle ICE / ICE restart, DELETE to stop. */
import { proxyToIngest } from '../../../../lib/ingest-proxy';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ id: string }> };

async function forward(request: Request, { params }: Context): Promise<Response> {
  const { id } = await params;
  return proxyToIngest(request, `/whip/sessions/${encodeURIComponent(id)}`);
}

export const PATCH = forward;
export const DELETE = forward;
