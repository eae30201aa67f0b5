/**
 * The transcoder service: follows the ingest's live streams, runs one supervised ffmpeg per
 * stream (jobs/), packages each rendition as LL-HLS (hls/), and serves the HLS origin, the
 * control API, /healthz and /metrics. `createTranscoder()` builds everything; `listen()` starts
 * the HTTP server and the ingest follower, so tests can start it on a free port.
 */
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { resolveAdminToken } from '@onair/service/admin-token';
import { closeServer, createHttpService, listen, Router } from '@onair/service/http';
import type { Logger } from '@onair/service/logger';
import { createMetricsRegistry, registerOpsRoutes, type HealthCheck } from '@onair/service/ops';
import { streamNameSchema } from '@onair/shared/api';
import { registerControlRoutes } from './api/control-routes';
import type { TranscoderConfig } from './config';
import { warmUpFluent } from './ffmpeg/command';
import { resolveFfmpeg } from './ffmpeg/ffmpeg-binary';
import { HlsOrigin } from './hls/hls-origin';
import { HlsPackager, type PlaylistPosition } from './hls/hls-packager';
import { ClusterIngestClient } from './cluster-ingest-client';
import { JobLeases } from './cluster/job-leases';
import { registerClusterRoutes } from './cluster/cluster-routes';
import { IngestClient } from './ingest-client';
import { IngestInput } from './jobs/ingest-input';
import { IngestRenditions } from './jobs/ingest-renditions';
import { JobManager, type JobManagerOptions } from './jobs/job-manager';
import { OnDemandRenditions } from './jobs/on-demand-renditions';
import { Vp8RenditionJob } from './jobs/vp8-rendition-job';
import { ProfileStore } from './ladder/profile-store';
import { registerTranscoderMetrics } from './metrics';
import { UdpPortAllocator } from './net/udp-ports';

export interface Transcoder {
  server: Server;
  jobs: JobManager;
  profiles: ProfileStore;
  origin: HlsOrigin;
  ingest: IngestClient;
  /** The cluster's job leases (ONAIR_REDIS_URL); undefined on one machine. */
  jobLeases: JobLeases | undefined;
  adminToken: string;
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export interface TranscoderOverrides {
  /** Job timeouts and backoff (tests shorten them). */
  jobDefaults?: JobManagerOptions['jobDefaults'];
  /** After the event stream reconnects, streams not re-announced within this many ms are stopped. Default 5000. */
  reconcileAfterMs?: number;
}

export function createTranscoder(config: TranscoderConfig, log: Logger, overrides: TranscoderOverrides = {}): Transcoder {
  const adminToken = resolveAdminToken(config.dataDir, config.adminToken).token;
  const profiles = new ProfileStore(config.dbPath);
  const origin = new HlsOrigin({ trustedProxies: config.trustedProxies, adminToken });
  const ports = new UdpPortAllocator({ host: config.rtpHost, min: config.rtpPorts[0], max: config.rtpPorts[1] });
  const ingest = config.redisUrl
    ? new ClusterIngestClient({ baseUrl: config.ingestUrl, adminToken, owner: config.id, log, redisUrl: config.redisUrl })
    : new IngestClient({ baseUrl: config.ingestUrl, adminToken, owner: config.id, log });
  // In a cluster one transcoder runs each stream's job (its URL known once listening).
  let publicUrl = config.publicUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  const jobLeases = config.redisUrl
    ? new JobLeases({ redisUrl: config.redisUrl, owner: config.id, instance: ingest.instance, get url() { return publicUrl; }, log, auto: config.policy === 'auto' })
    : undefined;

  /** Where each stream's last closed packager left its playlist (cluster mode: the next run carries on from it). */
  const lastPositions = new Map<string, PlaylistPosition>();
  const jobs = new JobManager({
    policy: config.policy,
    profiles,
    ffmpegPath: config.ffmpegPath,
    inputHost: config.rtpHost,
    log,
    jobDefaults: overrides.jobDefaults,
    claims: jobLeases,
    createInput: (live) => new IngestInput(live.streamId, ingest, ports, log.child({ stream: live.name }), config.rtpHost),
    createRenditions: (live) => new IngestRenditions(live.streamId, ingest, log.child({ stream: live.name })),
    createPackager: (stream) => {
      // In a cluster a new run carries the playlist on: from a dead predecessor's position when
      // this transcoder took the job over, else from this transcoder's own previous run (whose
      // packager the job closes, taking it out of the origin, before it asks for a new one).
      const previous = lastPositions.get(stream);
      lastPositions.delete(stream);
      const continueFrom = jobLeases ? (jobLeases.takeContinuation(stream) ?? origin.get(stream)?.position() ?? previous) : undefined;
      const packager = new HlsPackager({ stream, dir: join(config.hlsDir, stream), log, continueFrom });
      // A new run replaces the previous run's packager in the origin.
      origin.register(packager);
      return {
        addRendition: (r) => packager.addRendition(r),
        removeRendition: (id) => packager.removeRendition(id),
        discontinuity: () => packager.discontinuity(),
        end: () => packager.end(),
        close: () => {
          const position = jobLeases ? packager.position() : undefined;
          if (position) lastPositions.set(stream, position);
          if (origin.get(stream) === packager) origin.unregister(stream);
          packager.close();
        },
      };
    },
  });

  // Follow the ingest. After a reconnect, the replayed `stream.live` events are the truth.
  let announced: Set<string> | null = null;
  let reconcileTimer: NodeJS.Timeout | null = null;
  ingest.on('live', ({ streamId, name }) => {
    // Names become directories and URL segments: only the ingest's own name rules pass.
    if (!name || !streamNameSchema.safeParse(name).success) {
      log.warn({ streamId, name }, 'ignoring a live stream without a valid name');
      return;
    }
    announced?.add(name);
    jobs.streamLive({ streamId, name });
  });
  ingest.on('offline', ({ streamId, name }) => {
    jobs.streamOffline(streamId, name);
    onDemand.offline(streamId);
  });
  ingest.on('moved', ({ streamId }) => jobs.streamMoved(streamId));
  // A VP8 rendition while a viewer that cannot decode the source watches (the ingest says when).
  const onDemand = new OnDemandRenditions({
    log: log.child({ component: 'on-demand-renditions' }),
    // Cluster wants are told again every lease renewal (1 s): three missed, and the want is gone.
    ...(config.redisUrl ? { wantTtlMs: 3_000 } : {}),
    createJob: (streamId, name) => new Vp8RenditionJob({ streamId, input: new IngestInput(streamId, ingest, ports, log.child({ stream: name ?? streamId, rendition: 'vp8' })), client: ingest, ffmpegPath: config.ffmpegPath, log: log.child({ stream: name ?? streamId, rendition: 'vp8' }) }),
  });
  ingest.on('renditions-wanted', (event) => {
    // In a cluster every transcoder hears the origin's wants: the one running the stream's job makes the rendition.
    if (config.redisUrl && !(event.name && jobs.get(event.name)?.active)) return;
    onDemand.wanted(event);
  });
  ingest.on('connected', () => {
    announced = new Set();
    if (reconcileTimer) clearTimeout(reconcileTimer);
    reconcileTimer = setTimeout(() => {
      if (announced) jobs.reconcileLive(announced);
      announced = null;
    }, overrides.reconcileAfterMs ?? 5000);
    reconcileTimer.unref();
  });

  const registry = createMetricsRegistry('transcoder');
  registerTranscoderMetrics(registry, jobs, () => origin.viewers.counts());
  const checks: HealthCheck[] = [
    {
      name: 'ffmpeg',
      check: async () => ((await resolveFfmpeg(config.ffmpegPath)) ? null : `ffmpeg not found at ${config.ffmpegPath} (apt-get install ffmpeg, or set ONAIR_FFMPEG_PATH)`),
    },
    {
      name: 'ingest',
      check: () => (ingest.connected ? null : `${config.redisUrl ? 'cluster events (Redis)' : `ingest events at ${config.ingestUrl}/api/events`} not connected${ingest.lastError ? `: ${ingest.lastError}` : ''}`),
    },
  ];

  const router = new Router();
  registerOpsRoutes(router, 'transcoder', checks, registry);
  registerControlRoutes(router, { jobs, profiles, adminToken, hlsViewers: (stream) => origin.viewers.count(stream) });
  if (jobLeases) registerClusterRoutes(router, { adminToken, jobLeases, id: config.id, url: () => publicUrl });
  origin.routes(router);
  const server = createHttpService({
    router,
    log,
    cors: { allowOrigin: config.corsOrigin, allowHeaders: ['Authorization', 'Content-Type'], exposeHeaders: [] },
  });

  let closed = false;
  return {
    server,
    jobs,
    profiles,
    origin,
    ingest,
    jobLeases,
    adminToken,
    async listen() {
      const address = await listen(server, config.port, config.host);
      if (!config.publicUrl) publicUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
      jobLeases?.start(jobs, (stream) => origin.get(stream)?.position());
      log.info({ host: address.address, port: address.port, policy: config.policy, ingest: config.ingestUrl }, 'transcoder listening');
      await warmUpFluent(config.ffmpegPath);
      ingest.start();
      return address;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (reconcileTimer) clearTimeout(reconcileTimer);
      ingest.close();
      await Promise.all([jobs.close(), onDemand.close()]);
      await jobLeases?.close();
      await closeServer(server);
      profiles.close();
    },
  };
}
