/** Where a browser publishes over WebTransport (`WebTransportDiscovery`), forwarded from the ingest. Never cached. */
import { proxyToIngest } from '../../../lib/ingest-proxy';

export const dynamic = 'force-dynamic';

export function GET(request: Request): Promise<Response> {
  return proxyToIngest(request, '/api/webtransport');
}
