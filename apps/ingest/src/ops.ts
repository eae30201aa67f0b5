import type { Router } from '@onair/service/http';
import { createMetricsRegistry, registerOpsRoutes } from '@onair/service/ops';
import { registerIngestMetrics, type IngestStatsSource, type WebTransportStatsSource } from './metrics';
import type { StreamStore } from './streams/stream-store';

/** `/healthz` and `/metrics` of the ingest. */
export function registerIngestOps(
  router: Router,
  { store, media, viewerEngine, nativeSend, webTransport }: { store: StreamStore; media: IngestStatsSource; viewerEngine: string; nativeSend: boolean; webTransport?: WebTransportStatsSource },
): void {
  const registry = createMetricsRegistry('ingest');
  registerIngestMetrics(registry, media, { viewerEngine, nativeSend, streamName: async (id) => (await store.findById(id))?.name }, webTransport);
  registerOpsRoutes(
    router,
    'ingest',
    [
      {
        name: 'database',
        check: async () => {
          await store.list();
          return null;
        },
      },
    ],
    registry,
  );
}
