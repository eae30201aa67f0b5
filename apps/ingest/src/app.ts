/**
 * Builds the ingest (does not listen): stream store, media router (WHIP and WebTransport in,
 * WHEP out), one HTTP router with the WHIP/WHEP, discovery and admin routes, and the
 * WebTransport (Media over QUIC) ingest on its UDP port. `main.ts` adds signals and first-run
 * setup; tests call `createIngest` with a temp data dir and listen on port 0. With
 * ONAIR_REDIS_URL the store is Redis's and the node joins the cluster once it listens
 * (cluster/cluster-node.ts).
 */
import type { Server } from 'node:http';
import { hostname } from 'node:os';
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
import { registerLayerRoutes } from './renditions/layer-routes';
import { registerRenditionRoutes } from './renditions/rendition-routes';
import { MediaRouter } from './router/media-router';
import { registerAdminRoutes } from './streams/admin-routes';
import { SessionAdmission } from './sessions/session-admission';
import type { StreamStore } from './streams/stream-store';
import { SqliteStreamStore } from './streams/sqlite-stream-store';
import { ClusterNode } from './cluster/cluster-node';
import { registerClusterRoutes } from './cluster/cluster-routes';
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
  /** This process as a cluster node (ONAIR_REDIS_URL); undefined on one machine. */
  cluster: ClusterNode | undefined;
  /** Binds HTTP and the WebTransport UDP port(s), joins the cluster; resolves with the HTTP address. */
  listen(): Promise<AddressInfo>;
  /** Idempotent: the WebTransport ingest, media sessions, then the HTTP server, then the store. */
  close(): Promise<void>;
}

export async function createIngest(config: IngestConfig, log: Logger = createLogger('ingest')): Promise<Ingest> {
  const cluster = config.cluster ? await ClusterNode.connect(config, log) : undefined;
  const store: StreamStore = cluster?.store ?? new SqliteStreamStore(join(config.dataDir, 'ingest.db'));
  const engine = createMediaEngine(config, log);
  const media = new MediaRouter({
    engine,
    log: log.child({ component: 'media' }),
    connectTimeoutMs: config.limits.connectTimeoutMs,
    keyframeIntervalMs: config.limits.keyframeIntervalMs,
    renditionWaitMs: config.limits.renditionWaitMs,
  });
  const leases = new ForwardLeases({ graceMs: config.limits.forwardLeaseGraceMs, log: log.child({ component: 'forward-leases' }), remote: cluster?.transcoderLeases });
  const router = new Router();
  const admission = new SessionAdmission(config);
  const webTransport = config.webTransport ? await MoqIngest.create({ config: config.webTransport, streams: store, media, log: log.child({ component: 'moq' }) }) : undefined;
  registerWhipRoutes(router, { store, media, config, admission });
  registerWhepRoutes(router, { store, media, config, admission, cluster });
  registerAdminRoutes(router, { store, media: cluster ? cluster.mediaControl(media) : media, config, leases, cluster });
  registerForwardRoutes(router, { store, media, config, leases });
  registerRenditionRoutes(router, { store, media, config, leases });
  registerLayerRoutes(router, media);
  registerWebTransportDiscovery(router, webTransport);
  if (cluster) registerClusterRoutes(router, { cluster, config });
  registerIngestOps(router, { store, media, viewerEngine: engine.viewerEngine, nativeSend: engine.nativeSend !== undefined, webTransport });
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
    cluster,
    async listen() {
      const address = await listen(server, config.port, config.host);
      await webTransport?.listen();
      if (cluster) await cluster.join(media, nodeIdentity(config, address), leases);
      return address;
    },
    close() {
      closing ??= (async () => {
        leases.close();
        await webTransport?.close();
        await media.close();
        await cluster?.close();
        engine.close();
        await closeServer(server);
        await store.close();
      })();
      return closing;
    },
  };
}

/** ONAIR_NODE_ID (default `<hostname>:<port>`) and the URL other nodes reach this one at. */
export function nodeIdentity(config: IngestConfig, address: AddressInfo): { id: string; url: string } {
  const host = address.family === 'IPv6' ? `[${config.host}]` : config.host;
  return { id: config.cluster?.nodeId ?? `${hostname()}:${address.port}`, url: config.publicUrl ?? `http://${host}:${address.port}` };
}
