/**
 * Which stream a stream key goes live on, for the /broadcast page opened from a link with
 * `?key=`: the person sees where their camera will go before pressing Go live. Looked up
 * server-side in the ingest's admin API (the key never travels further than it already has);
 * the key is compared in constant time.
 */
import 'server-only';
import { ingestClient } from './ingest-client';
import { constantTimeEqual } from './session-token';

export type KeyTarget = { status: 'found'; stream: string } | { status: 'unknown' } | { status: 'unavailable' };

export async function streamForKey(key: string): Promise<KeyTarget> {
  const wanted = key.trim();
  if (!wanted || wanted.length > 256) return { status: 'unknown' };
  try {
    const streams = await ingestClient.listStreams();
    let found: string | null = null;
    // Every stream is compared, so the time taken does not say how far the list was walked.
    for (const stream of streams) if (constantTimeEqual(stream.streamKey, wanted)) found = stream.name;
    return found ? { status: 'found', stream: found } : { status: 'unknown' };
  } catch {
    // The ingest is down, or the web has no admin token: the page still works, it just cannot say.
    return { status: 'unavailable' };
  }
}
