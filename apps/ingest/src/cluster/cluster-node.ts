/**
 * An ingest process as a node of a cluster (ONAIR_REDIS_URL): streams and keys in Redis, this
 * node's publishers as leases in the stream directory (origin-leases.ts), other nodes' streams
 * pulled here for local viewers (edge-pulls.ts), and the event channel that ties them together.
 *
 * Two Redis connections: commands, and a subscriber (pub/sub needs its own). One timer, every
 * `leaseRenewMs`: renew this node's leases, look up the streams it pulls or has viewers waiting
 * for, end idle pulls. After the subscriber reconnects (Redis restarted) the tick runs at once,
 * since events published meanwhile were lost.
 */
import type { IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';
import type { LiveState } from '@onair/shared/api';
import { OnairError } from '@onair/shared/errors';
import { type ClusterEvent, parseClusterEvent } from '@onair/service/cluster-events';
import { CLUSTER_EVENTS_CHANNEL, clusterKeys } from '@onair/service/cluster-keys';
import type { Logger } from '@onair/service/logger';
import { registerIngestNode, unregisterIngestNode } from '@onair/service/ingest-nodes';
import { createRedis, durabilityWarning } from '@onair/service/redis';
import type { ClusterConfig, IngestConfig } from '../config';
import type { ForwardLeases, RemoteLeases } from '../forward/forward-leases';
import type { MediaRouter } from '../router/media-router';
import type { MediaControl } from '../streams/admin-routes';
import type { StreamRecord } from '../streams/stream-store';
import { type EdgeRequest, readEdgeRequest } from './edge-auth';
import { EdgePulls } from './edge-pulls';
import { OriginLeases } from './origin-leases';
import { RedisStreamStore } from './redis-stream-store';
import { remoteLiveState, StreamDirectory } from './stream-directory';

/** What the WHEP route asks of the cluster (see whep-routes.ts). */
export interface ClusterGateway {
  /** An authenticated pull by another node, or undefined for a viewer. Throws 508 loop_detected, 400. */
  edgeRequest(req: IncomingMessage): EdgeRequest | undefined;
  /** In redirect mode, for a viewer (not an edge) of a stream not live here: the origin's WHEP URL (307). */
  redirectFor(record: StreamRecord, edge: EdgeRequest | undefined): Promise<string | undefined>;
  /** A stream not live here: pull it from its origin; resolves once it is live here. */
  reach(record: StreamRecord, edge: EdgeRequest | undefined): Promise<void>;
  /** An edge expects this node to be the origin with `token`: throws 409 not_origin unless Redis confirms it. */
  confirmOrigin(streamId: string, token: number): Promise<void>;
  /** A stream pulled here: resolves once its renditions' first pulls settled (at most `timeoutMs`). */
  renditionsSettled(streamId: string, timeoutMs: number): Promise<void>;
}

export class ClusterNode implements ClusterGateway {
  readonly store: RedisStreamStore;
  readonly directory: StreamDirectory;
  private origin: OriginLeases | undefined;
  private edges: EdgePulls | undefined;
  private media: MediaRouter | undefined;
  private forwardLeases: ForwardLeases | undefined;
  private node: { id: string; url: string } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly cluster: ClusterConfig,
    private readonly config: IngestConfig,
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly log: Logger,
  ) {
    this.store = new RedisStreamStore(redis);
    this.directory = new StreamDirectory(redis, cluster.leaseTtlMs);
  }

  /** Connects to Redis (the store works from here on); the node joins with `join()` once listening. */
  static async connect(config: IngestConfig, log: Logger): Promise<ClusterNode> {
    const cluster = config.cluster!;
    const clusterLog = log.child({ component: 'cluster' });
    const redis = createRedis({ url: cluster.redisUrl, name: 'ingest', log: clusterLog });
    const subscriber = createRedis({ url: cluster.redisUrl, name: 'ingest events', log: clusterLog });
    const node = new ClusterNode(cluster, config, redis, subscriber, clusterLog);
    try {
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      subscriber.disconnect();
      throw new Error(`Redis at ONAIR_REDIS_URL did not answer: ${(error as Error).message}`, { cause: error });
    }
    const warning = await durabilityWarning(redis);
    if (warning) clusterLog.warn(warning);
    return node;
  }

  /** Transcoders' forward leases as Redis holds them (see forward-leases.ts). */
  readonly transcoderLeases: RemoteLeases = {
    ownerOf: async (instance) => {
      const owner = await this.redis.get(clusterKeys.transcoder(instance));
      if (owner === null) return undefined;
      // A newer process of the same transcoder replaced this one.
      const newest = await this.redis.get(clusterKeys.transcoderOwner(owner));
      return newest === null || newest === instance ? owner : undefined;
    },
  };

  get nodeId(): string | undefined {
    return this.node?.id;
  }

  /** What `GET /api/cluster` shows: this node, the streams it is the origin of, pulls, edges served. */
  describe(): unknown {
    return {
      node: this.node ?? null,
      edgeMode: this.cluster.edgeMode,
      edgeUpstream: this.cluster.edgeUpstream ?? null,
      origin: this.origin?.list() ?? [],
      pulls: this.edges?.list() ?? [],
      pullStats: this.edges?.stats ?? null,
      edgesServed: Object.fromEntries(this.media?.edgeViewers() ?? []),
    };
  }

  /** Starts taking leases, following events and pulling, as `id` reachable at `url`. */
  async join(media: MediaRouter, node: { id: string; url: string }, forwardLeases?: ForwardLeases): Promise<void> {
    this.media = media;
    this.forwardLeases = forwardLeases;
    this.node = node;
    this.origin = new OriginLeases({ directory: this.directory, media, store: this.store, node, log: this.log });
    this.edges = new EdgePulls({ directory: this.directory, media, config: this.config, node, isOrigin: (id) => this.origin!.holds(id), log: this.log });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== CLUSTER_EVENTS_CHANNEL) return;
      const event = parseClusterEvent(message);
      if (event) this.dispatch(event);
      else this.log.warn({ message: message.slice(0, 200) }, 'ignoring a message on the event channel that is not an onair event');
    });
    let subscribedOnce = false;
    this.subscriber.on('ready', () => {
      // ioredis subscribes again by itself; what was published meanwhile is read from the directory.
      if (subscribedOnce) void this.tick();
      subscribedOnce = true;
    });
    await this.subscriber.subscribe(CLUSTER_EVENTS_CHANNEL);
    // The codecs this node's viewers need from an on-demand rendition, for the cluster's transcoders.
    media.on('renditions-wanted', (streamId, codecs) => this.announceWanted(streamId, codecs));
    await registerIngestNode(this.redis, node, this.cluster.leaseTtlMs).catch(() => undefined);
    this.timer = setInterval(() => void this.tick(), this.cluster.leaseRenewMs);
    this.timer.unref();
    this.log.info({ node: node.id, url: node.url, edgeMode: this.cluster.edgeMode, edgeUpstream: this.cluster.edgeUpstream }, 'joined the cluster');
  }

  edgeRequest(req: IncomingMessage): EdgeRequest | undefined {
    return readEdgeRequest(req.headers, this.config.adminToken ?? '', this.requireNode().id, this.cluster.maxEdgeHops);
  }

  async redirectFor(record: StreamRecord, edge: EdgeRequest | undefined): Promise<string | undefined> {
    const node = this.requireNode();
    if (this.cluster.edgeMode !== 'redirect' || edge) return undefined;
    const lease = await this.directory.lookup(record.id).catch((error: unknown) => {
      throw new OnairError('unavailable', 'The stream directory (Redis) is unreachable right now. Try again shortly.', { cause: error, extensions: { retryAfterS: 2 } });
    });
    if (!lease || lease.node === node.id) throw new OnairError('stream_offline', `The stream "${record.name}" is not live.`);
    // RFC 9725 §4.1 lets a WHEP endpoint redirect the POST (307 keeps method and body).
    return `${lease.url}/whep/${encodeURIComponent(record.name)}`;
  }

  async renditionsSettled(streamId: string, timeoutMs: number): Promise<void> {
    await this.edges?.renditionsSettled(streamId, timeoutMs);
  }

  async reach(record: StreamRecord, edge: EdgeRequest | undefined): Promise<void> {
    this.requireNode();
    await this.edges!.reach(record.id, record.name, edge?.path ?? []);
  }

  async confirmOrigin(streamId: string, token: number): Promise<void> {
    const node = this.requireNode();
    let confirmed: boolean;
    try {
      confirmed = this.origin!.holds(streamId) && (await this.directory.confirms(streamId, node.id, token));
    } catch (error) {
      throw new OnairError('unavailable', 'This node cannot confirm its lease (Redis unreachable) and serves no edge until it can. Try again shortly.', { cause: error, extensions: { retryAfterS: 2 } });
    }
    if (!confirmed) throw new OnairError('not_origin', `Node ${node.id} does not hold this stream's lease ${token}: look the stream up again.`);
  }

  /** Streams live on other nodes, as the admin API shows them. */
  async remoteLive(streamIds: string[]): Promise<Map<string, LiveState>> {
    const out = new Map<string, LiveState>();
    try {
      for (const [id, lease] of await this.directory.lookupMany(streamIds)) if (lease.node !== this.node?.id) out.set(id, remoteLiveState(lease));
    } catch (error) {
      // Lists still answer with what this node knows.
      this.log.debug({ err: (error as Error).message }, 'directory lookup failed for a list');
    }
    return out;
  }

  /**
   * The admin API's hold on media, cluster-wide: a rotated key or a deleted stream closes the
   * publisher on whichever node holds it (and a deleted stream's viewers on every node).
   */
  mediaControl(media: MediaRouter): MediaControl {
    const publish = (event: ClusterEvent) => this.announce(event);
    return {
      liveState: (id) => media.liveState(id),
      isLive: (id) => media.isLive(id),
      renditionsWanted: () => media.renditionsWanted(),
      on: (event: 'live' | 'offline' | 'renditions-wanted', listener: (...args: never[]) => void) => media.on(event, listener as never),
      off: (event: 'live' | 'offline' | 'renditions-wanted', listener: (...args: never[]) => void) => media.off(event, listener as never),
      disconnectPublisher: (streamId, reason) => {
        media.disconnectPublisher(streamId, reason);
        publish({ type: 'stream.key-rotated', streamId });
      },
      closeStream: (streamId) => {
        media.closeStream(streamId);
        publish({ type: 'stream.deleted', streamId });
      },
    };
  }

  private announce(event: ClusterEvent): void {
    this.redis.publish(CLUSTER_EVENTS_CHANNEL, JSON.stringify(event)).catch((error: unknown) => this.log.warn({ err: (error as Error).message, event: event.type }, 'could not announce to the cluster'));
  }

  /**
   * A stream's viewers here need these codecs from an on-demand rendition: told to the cluster when
   * this node is the stream's origin (the transcoder sends renditions to the origin; an edge's
   * viewers are served what its pull brings).
   */
  private announceWanted(streamId: string, codecs: string[]): void {
    if (!this.node || !this.origin?.holds(streamId)) return;
    this.announce({ type: 'stream.renditions-wanted', streamId, node: this.node.id, codecs });
  }

  /** After the media router closed (its publishers' leases are released on the way). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      this.edges?.close();
      await this.origin?.close();
      // Web proxies stop sending publishers and viewers here at once.
      if (this.node) await unregisterIngestNode(this.redis, this.node.id).catch(() => undefined);
      await Promise.allSettled([this.subscriber.quit(), this.redis.quit()]);
      this.subscriber.disconnect();
      this.redis.disconnect();
    })();
    return this.closing;
  }

  private dispatch(event: ClusterEvent): void {
    const media = this.media;
    if (!media || this.closing) return;
    switch (event.type) {
      case 'stream.live':
        this.origin!.heardLive(event.streamId, event.node, event.token);
        // The full lease (codecs, URL) is read when a pull starts; the event says who and which token.
        if (event.node !== this.node!.id) {
          void this.directory
            .lookup(event.streamId)
            .then((lease) => this.edges!.follow(event.streamId, lease))
            .catch(() => undefined);
        }
        break;
      case 'stream.offline':
        this.origin!.heardOffline(event.streamId);
        if (event.node !== this.node!.id) this.edges!.follow(event.streamId, undefined);
        break;
      case 'stream.key-rotated': {
        const publisher = media.publisherOf(event.streamId);
        if (publisher && publisher.kind !== 'edge') media.disconnectPublisher(event.streamId, 'stream key rotated');
        break;
      }
      case 'stream.deleted':
        media.closeStream(event.streamId);
        break;
      case 'transcoder.replaced':
        this.forwardLeases?.replaced(event.owner, event.instance);
        break;
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.closing || !this.origin || !this.edges) return;
    this.ticking = true;
    try {
      // This node is alive and where it is (the web's proxies pick ingests from this list).
      const alive = registerIngestNode(this.redis, this.node!, this.cluster.leaseTtlMs).catch(() => undefined);
      await Promise.all([this.origin.renewAll(), this.forwardLeases?.sweep(), alive]);
      // Pub/sub keeps nothing: a want is told again at every renewal (cluster-events.ts).
      for (const { streamId, codecs } of this.media?.renditionsWanted() ?? []) this.announceWanted(streamId, codecs);
      const watched = this.edges.watched();
      const leases = watched.length > 0 ? await this.directory.lookupMany(watched).catch(() => undefined) : new Map();
      this.edges.reconcile(leases, watched);
    } finally {
      this.ticking = false;
    }
  }

  private requireNode(): { id: string; url: string } {
    if (!this.node) throw new OnairError('unavailable', 'This node has not joined the cluster yet.', { extensions: { retryAfterS: 1 } });
    return this.node;
  }
}
