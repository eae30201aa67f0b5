/**
 * Builds the ingest (does not listen): stream store, media router (WHIP in, WHEP out), one HTTP
 * router with the WHIP/WHEP and admin routes. `main.ts` adds signals and first-run setup; tests
 * call `createIngest` with a temp data dir and listen on port 0.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { closeServer, createHttpService, listen, Router } from '@onair/service/http';
import { createLogger, type Logger } from '@onair/service/logger';
import type { IngestConfig } from './config';
import { ForwardLeases } from './forward/forward-leases';
import { registerForwardRoutes } from './forward/forward-routes';
import { registerIngestOps } from './ops';
import { registerLayerRoutes } from './renditions/layer-routes';
import { registerRenditionRoutes } from './renditions/rendition-routes';
import { MediaRouter } from './router/media-router';
import { registerAdminRoutes } from './streams/admin-routes';
import { StreamStore } from './streams/stream-store';
import { createMediaEngine } from './webrtc/create-engine';
import { registerWhepRoutes } from './whep/whep-routes';
import { registerWhipRoutes } from './whip/whip-routes';

export interface Ingest {
  server: Server;
  store: StreamStore;
  media: MediaRouter;
  router: Router;
  listen(): Promise<AddressInfo>;
  /** Idempotent: media sessions, then the HTTP server, then the store. */
  close(): Promise<void>;
}

export async function createIngest(config: IngestConfig, log: Logger = createLogger('ingest')): Promise<Ingest> {
  const store = new StreamStore(join(config.dataDir, 'ingest.db'));
  const engine = createMediaEngine(config, log);
  const media = new MediaRouter({
    engine,
    log: log.child({ component: 'media' }),
    connectTimeoutMs: config.limits.connectTimeoutMs,
    keyframeIntervalMs: config.limits.keyframeIntervalMs,
  });
  const leases = new ForwardLeases({ graceMs: config.limits.forwardLeaseGraceMs, log: log.child({ component: 'forward-leases' }) });
  const router = new Router();
  registerWhipRoutes(router, { store, media, config });
  registerWhepRoutes(router, { store, media, config });
  registerAdminRoutes(router, { store, media, config, leases });
  registerForwardRoutes(router, { store, media, config, leases });
  registerRenditionRoutes(router, { store, media, config, leases });
  registerLayerRoutes(router, media);
  registerIngestOps(router, { store, media, viewerEngine: engine.viewerEngine });
  const server = createHttpService({
    router,
    log,
    cors: { allowOrigin: config.corsOrigin, allowHeaders: ['Authorization', 'Content-Type', 'If-Match'], exposeHeaders: ['Location', 'ETag', 'Link', 'Accept-Patch'] },
  });
  let closing: Promise<void> | undefined;
  return {
    server,
    store,
    media,
    router,
    listen: () => listen(server, config.port, config.host),
    close() {
      closing ??= (async () => {
        leases.close();
        await media.close();
        engine.close();
        await closeServer(server);
        store.close();
      })();
      return closing;
    },
  };
}
