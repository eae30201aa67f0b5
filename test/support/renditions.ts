/**
 * The ingest's rendition sets of a stream (`GET /api/streams/<id>/renditions`, admin): what the
 * transcoder sends back as RTP, per codec, with each rung's packets so far.
 */
import { pollUntil } from './poll';
import type { Stack } from './stack';

export interface IngestRenditionSet {
  id: string;
  codec: string;
  renditions: Array<{ name: string; width: number; height: number; packets: number; transcodeDelayMs?: number | null }>;
  audio?: unknown;
}

export async function renditionSets(st: Pick<Stack, 'adminFetch'>, streamId: string): Promise<IngestRenditionSet[]> {
  return ((await (await st.adminFetch(`/api/streams/${streamId}/renditions`)).json()) as { sets: IngestRenditionSet[] }).sets;
}

/** The first set once every rung of `names` has sent more than 30 packets into the ingest. */
export function renditionsFlowing(st: Pick<Stack, 'adminFetch'>, streamId: string, names: readonly string[], timeoutMs = 45_000): Promise<IngestRenditionSet> {
  return pollUntil(`the ${names.join(' and ')} renditions flowing into the ingest`, async () => {
    const set = (await renditionSets(st, streamId))[0];
    return set && names.every((name) => (set.renditions.find((r) => r.name === name)?.packets ?? 0) > 30) ? set : undefined;
  }, { timeoutMs, intervalMs: 250 });
}
