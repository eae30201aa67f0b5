/** LL-HLS through the web origin: `/hls/<stream>/…` streamed from `ONAIR_TRANSCODER_URL`. */
import { proxyHls } from '../../../lib/hls-proxy';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ path: string[] }> };

async function forward(request: Request, { params }: Context): Promise<Response> {
  const { path } = await params;
  return proxyHls(request, path);
}

export const GET = forward;
export const HEAD = forward;
/** CORS preflight of a player on another origin: answered by the origin's own rules. */
export const OPTIONS = forward;
