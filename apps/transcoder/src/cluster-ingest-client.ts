/**
 * The transcoder's link to the ingests of a cluster (ONAIR_REDIS_URL): the same surface as
 * IngestClient, so the job manager cannot tell, but events come from Redis and forwards are
 * made on whichever node is the stream's origin.
 *
 * - Events: the cluster's channel (`stream.live` / `stream.offline`, `stream.deleted`, and the
 *   origin's `stream.renditions-wanted`, told again every renewal while not empty). On
 *   each (re)subscription the live streams are read from the directory's leases and announced
 *   as `stream.live` after `connected`, as the single node's event stream replays them: the app's
 *   reconcile stops jobs of streams not announced again.
 * - The forward lease: instead of holding an event connection to an ingest, this process keeps
 *   `onair:transcoder:<instance>` (its owner) and `onair:transcoder-owner:<owner>` (this
 *   instance) alive with a TTL it renews every second; the origin nodes end its forwards when the
 *   key is gone (the process died) or another instance of the owner announces itself
 *   (`transcoder.replaced`, at start).
 * - Forwards, keyframe requests and source hints go to the origin's URL from its lease; a
 *   forward's own requests go where it was made.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { OnairError, problemFromResponse } from '@onair/shared/errors';
import { type ClusterEvent, parseClusterEvent } from '@onair/service/cluster-events';
import { CLUSTER_EVENTS_CHANNEL, clusterKeys } from '@onair/service/cluster-keys';
import { createRedis } from '@onair/service/redis';
import { type Forward, IngestClient, type IngestClientOptions, type RenditionSetAnswer, type RenditionSetRequest, renditionSetSchema } from './ingest-client';

/** The transcoder's lease lives this long without renewal, ms (the single node's grace is 5 s too). */
const LEASE_TTL_MS = 5_000;
const RENEW_MS = 1_000;

const streamStateSchema = z.object({
  state: z.object({ video: z.object({ width: z.number().nullable().optional(), height: z.number().nullable().optional(), fps: z.number().nullable().optional() }).nullable().optional() }),
});

export interface ClusterIngestClientOptions extends IngestClientOptions {
  redisUrl: string;
}

export class ClusterIngestClient extends IngestClient {
  private readonly cluster: ClusterIngestClientOptions;
  private redis: Redis | undefined;
  private subscriber: Redis | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private subscribed = false;
  private clusterError: string | null = null;
  /** Streams announced live, with their origin's URL. */
  /** Live streams by id: their origin and lease token (a new token is a new publisher there). */
  private readonly live = new Map<string, { name: string; node: string; url: string; token?: number }>();
  /** The node URL each forward was made on. */
  private readonly forwardUrls = new Map<string, string>();
  /** The node URL each rendition set was announced on. */
  private readonly renditionUrls = new Map<string, string>();

  constructor(options: ClusterIngestClientOptions) {
    super(options);
    this.cluster = options;
  }

  override get connected(): boolean {
    return this.subscribed && this.redis?.status === 'ready';
  }

  override get lastError(): string | null {
    return this.clusterError;
  }

  override start(): void {
    if (this.redis) return;
    const log = this.cluster.log.child({ component: 'cluster-ingest-client' });
    this.redis = createRedis({ url: this.cluster.redisUrl, name: `transcoder ${this.cluster.owner}`, log });
    this.subscriber = createRedis({ url: this.cluster.redisUrl, name: `transcoder ${this.cluster.owner} events`, log });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== CLUSTER_EVENTS_CHANNEL) return;
      const event = parseClusterEvent(message);
      if (event) this.onClusterEvent(event);
    });
    this.subscriber.on('ready', () => void this.replay());
    this.subscriber.on('close', () => {
      if (!this.subscribed) return;
      this.subscribed = false;
      this.clusterError = 'Redis connection lost';
      this.emit('disconnected', new Error('Redis connection lost'));
    });
    this.subscriber.subscribe(CLUSTER_EVENTS_CHANNEL).catch((error: unknown) => {
      this.clusterError = (error as Error).message;
    });
    void this.holdLease(true);
    this.renewTimer = setInterval(() => void this.holdLease(false), RENEW_MS);
    this.renewTimer.unref();
  }

  override close(): void {
    clearInterval(this.renewTimer);
    const redis = this.redis;
    this.subscriber?.disconnect();
    if (redis) {
      // A clean stop frees the forwards at once instead of at the TTL.
      void redis
        .del(clusterKeys.transcoder(this.instance))
        .catch(() => undefined)
        .finally(() => redis.disconnect());
    }
    this.redis = undefined;
    this.subscriber = undefined;
  }

  override async createForward(streamId: string, ports: { host: string; videoPort: number; audioPort: number; keyframeIntervalMs?: number; holdUntilReadyMs?: number }): Promise<Forward> {
    const url = await this.originUrl(streamId);
    const body = await this.call(url, 'POST', `/api/streams/${encodeURIComponent(streamId)}/forwards`, { ...ports, instance: this.instance });
    const parsed = z.object({ id: z.string().min(1), sdp: z.string().min(1) }).safeParse(body);
    if (!parsed.success) throw new OnairError('upstream_unreachable', 'The origin ingest answered the forward request with an unexpected body.');
    this.forwardUrls.set(parsed.data.id, url);
    return parsed.data;
  }

  override async requestKeyframe(streamId: string, forwardId: string): Promise<{ replayedPackets?: number }> {
    const url = this.forwardUrls.get(forwardId) ?? (await this.originUrl(streamId));
    const body = await this.call(url, 'POST', `/api/streams/${encodeURIComponent(streamId)}/forwards/${encodeURIComponent(forwardId)}/keyframe`);
    const replayed = (body as { replayedPackets?: unknown } | undefined)?.replayedPackets;
    return typeof replayed === 'number' && Number.isInteger(replayed) && replayed >= 0 ? { replayedPackets: replayed } : {};
  }

  override async deleteForward(streamId: string, forwardId: string): Promise<void> {
    const url = this.forwardUrls.get(forwardId);
    this.forwardUrls.delete(forwardId);
    if (!url) return;
    try {
      await this.call(url, 'DELETE', `/api/streams/${encodeURIComponent(streamId)}/forwards/${encodeURIComponent(forwardId)}`);
    } catch (error) {
      if (error instanceof OnairError && (error.status === 404 || error.code === 'upstream_unreachable')) return;
      throw error;
    }
  }

  /** Renditions go back to the stream's origin, where its WebRTC viewers (and edges' pulls) are served from. */
  override async createRenditions(streamId: string, announcement: RenditionSetRequest): Promise<RenditionSetAnswer> {
    const url = await this.originUrl(streamId);
    const parsed = renditionSetSchema.safeParse(await this.call(url, 'POST', `/api/streams/${encodeURIComponent(streamId)}/renditions`, { ...announcement, instance: this.instance }));
    if (!parsed.success) throw new OnairError('upstream_unreachable', 'The origin ingest answered the renditions request with an unexpected body.');
    this.renditionUrls.set(parsed.data.id, url);
    return parsed.data;
  }

  override async deleteRenditions(streamId: string, setId: string): Promise<void> {
    const url = this.renditionUrls.get(setId);
    this.renditionUrls.delete(setId);
    if (!url) return;
    try {
      await this.call(url, 'DELETE', `/api/streams/${encodeURIComponent(streamId)}/renditions/${encodeURIComponent(setId)}`);
    } catch (error) {
      if (error instanceof OnairError && (error.status === 404 || error.code === 'upstream_unreachable')) return;
      throw error;
    }
  }

  override async sourceHints(streamId: string): Promise<{ width?: number; height?: number; fps?: number }> {
    try {
      const parsed = streamStateSchema.safeParse(await this.call(await this.originUrl(streamId), 'GET', `/api/streams/${encodeURIComponent(streamId)}`));
      const video = parsed.success ? parsed.data.state.video : null;
      return { width: video?.width ?? undefined, height: video?.height ?? undefined, fps: video?.fps ?? undefined };
    } catch {
      return {};
    }
  }

  /** Sets (first: and announces) this instance's lease keys; renewal afterwards. */
  private async holdLease(first: boolean): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    try {
      await redis
        .multi()
        .set(clusterKeys.transcoder(this.instance), this.cluster.owner, 'PX', LEASE_TTL_MS)
        .set(clusterKeys.transcoderOwner(this.cluster.owner), this.instance, 'PX', LEASE_TTL_MS)
        .exec();
      if (first) await redis.publish(CLUSTER_EVENTS_CHANNEL, JSON.stringify({ type: 'transcoder.replaced', owner: this.cluster.owner, instance: this.instance }));
    } catch (error) {
      this.clusterError = `Redis: ${(error as Error).message}`;
      // The first announcement is retried with the next renewal.
      if (first) setTimeout(() => void this.holdLease(true), RENEW_MS).unref();
    }
  }

  /** After (re)subscribing: what is live now, from the leases, as a replay. */
  private async replay(): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    try {
      const leases: Array<{ streamId: string; name: string; node: string; url: string }> = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', clusterKeys.livePattern, 'COUNT', 500);
        cursor = next;
        for (const key of keys) {
          const fields = await redis.hgetall(key);
          if (fields.node && fields.url) leases.push({ streamId: key.slice(clusterKeys.live('').length), name: fields.name ?? '', node: fields.node, url: fields.url, ...(fields.token ? { token: Number(fields.token) } : {}) });
        }
      } while (cursor !== '0');
      this.subscribed = true;
      this.clusterError = null;
      this.emit('connected');
      for (const lease of leases) {
        const before = this.live.get(lease.streamId);
        this.live.set(lease.streamId, lease);
        this.emit('live', { streamId: lease.streamId, name: lease.name || null });
        if (before && newPublisher(before, lease)) this.emit('moved', { streamId: lease.streamId, name: lease.name || null });
      }
    } catch (error) {
      this.clusterError = `Redis: ${(error as Error).message}`;
      setTimeout(() => void this.replay(), RENEW_MS).unref();
    }
  }

  private onClusterEvent(event: ClusterEvent): void {
    switch (event.type) {
      case 'stream.live': {
        const before = this.live.get(event.streamId);
        const now = { name: event.name, node: event.node, url: event.url, token: event.token };
        this.live.set(event.streamId, now);
        this.emit('live', { streamId: event.streamId, name: event.name || null });
        if (before && newPublisher(before, now)) this.emit('moved', { streamId: event.streamId, name: event.name || null });
        break;
      }
      case 'stream.offline':
        this.live.delete(event.streamId);
        this.emit('offline', { streamId: event.streamId, name: event.name || null });
        break;
      case 'stream.deleted':
        this.live.delete(event.streamId);
        this.emit('offline', { streamId: event.streamId, name: null });
        break;
      case 'stream.renditions-wanted': {
        // Only the stream's origin's wants count: its renditions go there.
        const live = this.live.get(event.streamId);
        if (live?.node === event.node) this.emit('renditions-wanted', { streamId: event.streamId, name: live.name || null, codecs: event.codecs });
        break;
      }
      default:
        break;
    }
  }

  private async originUrl(streamId: string): Promise<string> {
    const known = this.live.get(streamId)?.url;
    if (known) return known;
    const url = await this.redis?.hget(clusterKeys.live(streamId), 'url');
    if (!url) throw new OnairError('stream_offline', 'The stream is not live on any ingest node.');
    return url;
  }

  private async call(baseUrl: string, method: string, path: string, json?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...(this.cluster.adminToken ? { Authorization: `Bearer ${this.cluster.adminToken}` } : {}), ...(json === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: AbortSignal.timeout(this.cluster.requestTimeoutMs ?? 5000),
      });
    } catch (cause) {
      throw new OnairError('upstream_unreachable', `The ingest at ${baseUrl} is unreachable (${(cause as Error).message}).`, { cause });
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (!response.ok) throw problemFromResponse(response.status, body);
    return body;
  }
}

/**
 * Whether a stream's lease now names another publisher than before: the origin died or was taken
 * over from another node (the forward there is gone), or a publisher took it over on the same
 * node (a new token: the origin ended the job's renditions with the old publisher, so the job
 * starts a fresh input there and announces them again).
 */
function newPublisher(before: { node: string; token?: number }, now: { node: string; token?: number }): boolean {
  return before.node !== now.node || (before.token !== undefined && now.token !== undefined && before.token !== now.token);
}
