/** WHIP endpoint on the web origin (RFC 9725 §4.2), forwarded to the ingest's `POST /whip`. */
import { proxyToIngest } from '../../lib/ingest-proxy';

export const dynamic = 'force-dynamic';

export function POST(request: Request): Promise<Response> {
  return proxyToIngest(request, '/whip');
}

export function OPTIONS(request: Request): Promise<Response> {
  return proxyToIngest(request, '/whip');
}
