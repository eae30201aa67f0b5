/**
 * Where a problem's `type` (`/problems/<code>`, relative) resolves for clients of the web origin:
 * problems from the proxied ingest and from the site's own routes come with the same paths.
 */
import { problemPage } from '@onair/shared/problem-page';
import { problemResponse } from '../../../lib/ingest-proxy';

type Context = { params: Promise<{ code: string }> };

export async function GET(_request: Request, { params }: Context): Promise<Response> {
  const { code } = await params;
  const page = problemPage(code);
  if (!page) return problemResponse('not_found', `There is no problem code "${code}".`);
  return new Response(page, { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=3600' } });
}
