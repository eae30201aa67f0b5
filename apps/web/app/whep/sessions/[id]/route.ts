/** WHEP session resource: PATCH for trickle ICE / ICE restart, DELETE when the viewer leaves. */
import { proxyToIngest } from '../../../../lib/ingest-proxy';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ id: string }> };

async function forward(request: Request, { params }: Context): Promise<Response> {
  const { id } = await params;
  return proxyToIngest(request, `/whep/sessions/${encodeURIComponent(id)}`);
}

export const PATCH = forward;
export const DELETE = forward;
