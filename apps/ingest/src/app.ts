/**
 * Builds the ingest (does not listen): stream store, media router (WHIP and WebTransport in,
 * WHEP out), one HTTP router with the WHIP/WHEP, discovery and admin routes, and the
 * WebTransport (Media over QUIC) ingest on its UDP port. `main.ts` adds signals and first-run
 * setup; tests call `createIngest` with a temp data dir and listen on port 0.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { closeServer, createHttpService, listen, Router } from '@onair/service/http';
import { createLogger, type Logger } from '@onair/service/logger';
import type { IngestConfig } from './config';
import { ForwardLeases } from './forward/forward-leases';
import { registerForwardRoutes } from './forward/forward-routes';
import { registerWebTransportDiscovery } from './moq/discovery-route';
import { MoqIngest } from './moq/moq-ingest';
import { registerIngestOps } from './ops';
import { MediaRouter } from './router/media-router';
import { registerAdminRoutes } from './streams/admin-routes';
import { SessionAdmission } from './sessions/session-admission';
import { StreamStore } from './streams/stream-store';
import { createMediaEngine } from './webrtc/create-engine';
import { registerWhepRoutes } from './whep/whep-routes';
import { registerWhipRoutes } from './whip/whip-routes';

export interface Ingest {
  server: Server;
  store: StreamStore;
  media: MediaRouter;
  router: Router;
  /** The WebTransport ingest; undefined when ONAIR_WEBTRANSPORT_PORT=off. */
  webTransport: MoqIngest | undefined;
  /** Binds HTTP and the WebTransport UDP port(s); resolves with the HTTP address. */
  listen(): Promise<AddressInfo>;
  /** Idempotent: the WebTransport ingest, media sessions, then the HTTP server, then the store. */
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
  const admission = new SessionAdmission(config, media);
  const webTransport = config.webTransport ? await MoqIngest.create({ config: config.webTransport, streams: store, media, log: log.child({ component: 'moq' }) }) : undefined;
  registerWhipRoutes(router, { store, media, config, admission });
  registerWhepRoutes(router, { store, media, config, admission });
  registerAdminRoutes(router, { store, media, config, leases });
  registerForwardRoutes(router, { store, media, config, leases });
  registerWebTransportDiscovery(router, webTransport);
  registerIngestOps(router, { store, media, viewerEngine: engine.viewerEngine, webTransport });
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
    webTransport,
    async listen() {
      const address = await listen(server, config.port, config.host);
      await webTransport?.listen();
      return address;
    },
    close() {
      closing ??= (async () => {
        leases.close();
        await webTransport?.close();
        await media.close();
        engine.close();
        await closeServer(server);
        store.close();
      })();
      return closing;
    },
  };
}
