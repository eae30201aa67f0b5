/**
 * A WHEP session's video layer selection (the `urn:ietf:params:whep:ext:core:layer` Link of the
 * WHEP answer, relative to this origin): GET lists the renditions, POST pins one. Forwarded to
 * the ingest like the session resource itself.
 */
import { proxyToIngest } from '../../../../../lib/ingest-proxy';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ id: string }> };

async function forward(request: Request, { params }: Context): Promise<Response> {
  const { id } = await params;
  return proxyToIngest(request, `/whep/sessions/${encodeURIComponent(id)}/layer`);
}

export const GET = forward;
export const POST = forward;
