/** WHEP endpoint on the web origin: the viewer's offer for `<stream>`, forwarded to the ingest. */
import { proxyToIngest } from '../../../lib/ingest-proxy';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ stream: string }> };

async function forward(request: Request, { params }: Context): Promise<Response> {
  const { stream } = await params;
  return proxyToIngest(request, `/whep/${encodeURIComponent(stream)}`);
}

export const POST = forward;
export const OPTIONS = forward;
