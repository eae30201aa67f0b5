/**
 * Admin API (bearer admin token): create, list, rename, rotate, delete streams, and the event
 * stream other services follow. Public: the list of live streams, without keys.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OnairError } from '@onair/shared/errors';
import { createStreamRequestSchema, renameStreamRequestSchema, type LiveState, type PublicLiveStream, type Stream } from '@onair/shared/api';
import { readJson, sendJson, type Router } from '@onair/service/http';
import type { IngestConfig } from '../config';
import { requireAdmin } from './admin-auth';
import type { StreamRecord, StreamStore } from './stream-store';

/** What the admin API needs from the media router (see router/media-router.ts). */
export interface MediaControl {
  liveState(streamId: string): LiveState;
  isLive(streamId: string): boolean;
  disconnectPublisher(streamId: string, reason: string): void;
  closeStream(streamId: string): void;
  on(event: 'live' | 'offline', listener: (streamId: string) => void): unknown;
  off(event: 'live' | 'offline', listener: (streamId: string) => void): unknown;
  on(event: 'renditions-wanted', listener: (streamId: string, codecs: string[]) => void): unknown;
  off(event: 'renditions-wanted', listener: (streamId: string, codecs: string[]) => void): unknown;
  /** Streams whose viewers need renditions in other codecs (router/on-demand-codecs.ts). */
  renditionsWanted(): Array<{ streamId: string; codecs: string[] }>;
}

/** The forward leases an event connection holds (see forward/forward-leases.ts). */
export interface EventLeases {
  /** Returns the function that ends the hold when the connection closes. */
  hold(owner: string, instance: string): () => void;
}

/** In a cluster: streams live on other nodes (see cluster/stream-directory.ts). */
export interface RemoteLiveStreams {
  /** Live state of those of these streams whose publisher another node holds, by stream id. */
  remoteLive(streamIds: string[]): Promise<Map<string, LiveState>>;
}

export interface AdminRouteDeps {
  store: StreamStore;
  media: MediaControl;
  config: IngestConfig;
  leases: EventLeases;
  /** Set in a cluster: the lists and states then include streams live on other nodes. */
  cluster?: RemoteLiveStreams;
}

/** `owner` and `instance` of a transcoder holding a forward lease: short, printable, no spaces. */
const LEASE_NAME = /^[A-Za-z0-9@._:-]{1,128}$/;

/** Interval of SSE comment lines that keep idle proxies from closing the event stream. */
const EVENT_HEARTBEAT_MS = 15_000;

export function registerAdminRoutes(router: Router, { store, media, config, leases, cluster }: AdminRouteDeps): void {
  const admin = (req: IncomingMessage) => requireAdmin(req, config.adminToken);
  const remote = async (records: StreamRecord[]): Promise<Map<string, LiveState>> => (cluster ? cluster.remoteLive(records.map((record) => record.id)) : new Map());
  /** Live here (a publisher, or a pull from the origin), else live on another node, else the local (offline) state. */
  const stateOf = (streamId: string, elsewhere: Map<string, LiveState>): LiveState => {
    const local = media.liveState(streamId);
    const there = elsewhere.get(streamId);
    return local.live || !there ? local : { ...there, viewers: local.viewers };
  };
  const present = (record: StreamRecord, req: IncomingMessage, elsewhere: Map<string, LiveState>): Stream => {
    const base = publicBaseUrl(config, req);
    return {
      id: record.id,
      name: record.name,
      streamKey: record.streamKey,
      createdAt: record.createdAt,
      whipUrl: `${base}/whip`,
      whepUrl: `${base}/whep/${record.name}`,
      ...(config.webPublicUrl ? { watchUrl: `${config.webPublicUrl}/watch/${record.name}` } : {}),
      state: stateOf(record.id, elsewhere),
    };
  };
  const find = (idOrName: string) => store.requireByIdOrName(idOrName);

  // Registered before /api/streams/:id so that "live" is not taken for an id.
  router.on('GET', '/api/streams/live', async ({ req, res }) => {
    const base = publicBaseUrl(config, req);
    const records = await store.list();
    const elsewhere = await remote(records);
    const live: PublicLiveStream[] = records
      .map((record) => ({ record, state: stateOf(record.id, elsewhere) }))
      .filter(({ state }) => state.live)
      .map(({ record, state }) => ({ name: record.name, since: state.since, video: state.video, audio: state.audio, viewers: state.viewers.total, whepUrl: `${base}/whep/${record.name}`, renditions: state.renditions ?? [], webrtcCodecs: state.webrtcCodecs ?? (state.video ? [state.video.codec] : []) }));
    sendJson(res, 200, live);
  });

  router.on('GET', '/api/streams', async ({ req, res }) => {
    admin(req);
    const records = await store.list();
    const elsewhere = await remote(records);
    sendJson(res, 200, records.map((record) => present(record, req, elsewhere)));
  });

  router.on('POST', '/api/streams', async ({ req, res, log }) => {
    admin(req);
    const { name } = await readJson(req, createStreamRequestSchema);
    const record = await store.create(name);
    log.info({ stream: record.name, streamId: record.id }, 'stream created');
    sendJson(res, 201, present(record, req, new Map()), { Location: `/api/streams/${record.id}` });
  });

  router.on('GET', '/api/streams/:id', async ({ req, res, params }) => {
    admin(req);
    const record = await find(params.id!);
    sendJson(res, 200, present(record, req, await remote([record])));
  });

  router.on('PATCH', '/api/streams/:id', async ({ req, res, params, log }) => {
    admin(req);
    const { name } = await readJson(req, renameStreamRequestSchema);
    const record = await store.rename((await find(params.id!)).id, name);
    log.info({ stream: record.name, streamId: record.id }, 'stream renamed');
    sendJson(res, 200, present(record, req, await remote([record])));
  });

  router.on('POST', '/api/streams/:id/rotate-key', async ({ req, res, params, log }) => {
    admin(req);
    const record = await store.rotateKey((await find(params.id!)).id);
    // The old key is no longer valid, so neither is a session opened with it (on every node of a cluster).
    media.disconnectPublisher(record.id, 'stream key rotated');
    log.info({ stream: record.name, streamId: record.id }, 'stream key rotated');
    sendJson(res, 200, present(record, req, await remote([record])));
  });

  router.on('DELETE', '/api/streams/:id', async ({ req, res, params, log }) => {
    admin(req);
    const record = await store.delete((await find(params.id!)).id);
    media.closeStream(record.id);
    log.info({ stream: record.name, streamId: record.id }, 'stream deleted');
    res.writeHead(204).end();
  });

  // `?owner=…&instance=…` (a transcoder): while this connection is open, the instance holds the
  // lease its forwards are created under; they end a grace period after it closes.
  router.on('GET', '/api/events', async ({ req, res, url, log }) => {
    admin(req);
    const owner = url.searchParams.get('owner');
    const instance = url.searchParams.get('instance');
    if ((owner === null) !== (instance === null) || (owner !== null && !LEASE_NAME.test(owner)) || (instance !== null && !LEASE_NAME.test(instance))) {
      throw new OnairError('bad_request', 'Give both owner and instance (1–128 of A–Z a–z 0–9 @ . _ : -), or neither.');
    }
    await streamEvents(req, res, store, media);
    if (owner !== null && instance !== null) {
      const release = leases.hold(owner, instance);
      log.info({ owner, instance }, 'transcoder following events (forward lease held)');
      res.on('close', () => {
        release();
        log.info({ owner, instance }, 'transcoder event connection closed');
      });
    }
  });
}

/**
 * Server-sent events for other services (the transcoder follows them): `stream.live` and
 * `stream.offline` with `{streamId, name}`, and `renditions.wanted` with `{streamId, name,
 * codecs}` — the video codecs the stream's viewers need as on-demand renditions (`["VP8"]` while a
 * viewer that cannot decode the source watches, `[]` once none does). On connect the current live
 * streams are replayed as `stream.live`, then the current wants as `renditions.wanted`, so a
 * follower that (re)connects needs no separate list call.
 */
async function streamEvents(req: IncomingMessage, res: ServerResponse, store: StreamStore, media: MediaControl): Promise<void> {
  const records = await store.list();
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  const send = (event: 'stream.live' | 'stream.offline' | 'renditions.wanted', streamId: string, name: string | undefined, extra: Record<string, unknown> = {}) => {
    if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify({ streamId, name: name ?? null, ...extra })}\n\n`);
  };
  const names = new Map(records.map((record) => [record.id, record.name]));
  // Lookups resolve in the order they were asked (one store, one connection), so events keep their order.
  const nameOf = async (streamId: string) => (await store.findById(streamId).catch(() => undefined))?.name ?? names.get(streamId);
  for (const record of records) if (media.isLive(record.id)) send('stream.live', record.id, record.name);
  for (const { streamId, codecs } of media.renditionsWanted()) send('renditions.wanted', streamId, names.get(streamId), { codecs });
  const onLive = (streamId: string) => {
    void nameOf(streamId).then((name) => {
      if (name) names.set(streamId, name);
      send('stream.live', streamId, name);
    });
  };
  // A deleted stream's name is gone from the store by the time it goes offline: remember it.
  const onOffline = (streamId: string) => void nameOf(streamId).then((name) => send('stream.offline', streamId, name));
  const onWanted = (streamId: string, codecs: string[]) => void nameOf(streamId).then((name) => send('renditions.wanted', streamId, name, { codecs }));
  media.on('live', onLive);
  media.on('offline', onOffline);
  media.on('renditions-wanted', onWanted);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), EVENT_HEARTBEAT_MS);
  req.socket.setTimeout(0);
  res.on('close', () => {
    clearInterval(heartbeat);
    media.off('live', onLive);
    media.off('offline', onOffline);
    media.off('renditions-wanted', onWanted);
  });
}

/** The base URL clients should use: configured, else derived from the request's Host. */
export function publicBaseUrl(config: IngestConfig, req: IncomingMessage): string {
  if (config.publicUrl) return config.publicUrl;
  const host = req.headers.host ?? `${config.host}:${config.port}`;
  return `http://${host}`;
}
