import type { Router } from '@onair/service/http';
import { createMetricsRegistry, registerOpsRoutes } from '@onair/service/ops';
import { registerIngestMetrics, type IngestStatsSource } from './metrics';
import type { StreamStore } from './streams/stream-store';

/** `/healthz` and `/metrics` of the ingest. */
export function registerIngestOps(router: Router, { store, media, viewerEngine }: { store: StreamStore; media: IngestStatsSource; viewerEngine: string }): void {
  const registry = createMetricsRegistry('ingest');
  registerIngestMetrics(registry, media, { viewerEngine, streamName: (id) => store.findById(id)?.name });
  registerOpsRoutes(
    router,
    'ingest',
    [
      {
        name: 'database',
        check: () => {
          store.list();
          return null;
        },
      },
    ],
    registry,
  );
}
