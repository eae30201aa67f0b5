/**
 * A web node's view of the cluster it belongs to (ONAIR_REDIS_URL): which ingest nodes are alive
 * (the WHIP/WHEP proxy picks one per session), which transcoder serves each stream's HLS (the
 * /hls proxy), and the Redis connection the dashboard's session epoch lives in. Nothing is kept
 * here that another web node would need: any web node serves any request.
 *
 * Answers are cached for a second (a blocking playlist reload per viewer every part would
 * otherwise cost a Redis round trip each) and dropped at once when the upstream they named
 * cannot be reached, so a transcoder or ingest that died is looked up afresh on the next request.
 * At most 1024 streams' answers are kept: names come from strangers' URLs.
 *
 * Node-only, server-side (route handlers, proxy.ts): never imported by client components.
 */
import type { Redis } from 'ioredis';
import { type HlsOriginLookup, hlsOriginOf } from '@onair/service/hls-origins';
import { type IngestNode, liveIngestNodes } from '@onair/service/ingest-nodes';
import { createLogger } from '@onair/service/logger';
import { createRedis } from '@onair/service/redis';

export type { HlsOriginLookup } from '@onair/service/hls-origins';
export type { IngestNode } from '@onair/service/ingest-nodes';

/** How long an answer is reused, ms. */
export const CLUSTER_CACHE_MS = 1_000;
const MAX_CACHED_STREAMS = 1_024;

export class ClusterView {
  private nodes: { list: IngestNode[]; at: number } | undefined;
  private readonly origins = new Map<string, { lookup: HlsOriginLookup; at: number }>();

  constructor(
    readonly redis: Redis,
    private readonly now: () => number = Date.now,
  ) {}

  /** The ingest nodes alive now. Throws when Redis cannot be asked and nothing was known a moment ago. */
  async ingestNodes(): Promise<IngestNode[]> {
    if (this.nodes && this.now() - this.nodes.at < CLUSTER_CACHE_MS) return this.nodes.list;
    try {
      this.nodes = { list: await liveIngestNodes(this.redis), at: this.now() };
    } catch (error) {
      // Redis restarting: the last list (at most 30 s old) still names nodes that are likely up.
      if (this.nodes && this.now() - this.nodes.at < 30_000) return this.nodes.list;
      throw error;
    }
    return this.nodes.list;
  }

  async ingestNode(id: string): Promise<IngestNode | undefined> {
    return (await this.ingestNodes()).find((node) => node.id === id);
  }

  /** A node that could not be reached: left out until the list is read again. */
  forgetIngestNode(id: string): void {
    if (this.nodes) this.nodes = { list: this.nodes.list.filter((node) => node.id !== id), at: this.nodes.at };
  }

  async hlsOrigin(stream: string): Promise<HlsOriginLookup> {
    const cached = this.origins.get(stream);
    if (cached && this.now() - cached.at < CLUSTER_CACHE_MS) return cached.lookup;
    const lookup = await hlsOriginOf(this.redis, stream);
    this.origins.delete(stream);
    if (this.origins.size >= MAX_CACHED_STREAMS) this.origins.delete(this.origins.keys().next().value!);
    this.origins.set(stream, { lookup, at: this.now() });
    return lookup;
  }

  forgetHlsOrigin(stream: string): void {
    this.origins.delete(stream);
  }
}

const SLOT = Symbol.for('onair.web.cluster-view');
type Slot = { [SLOT]?: { url: string; view: ClusterView } };

/**
 * The process's view of the cluster, or undefined on one machine (no ONAIR_REDIS_URL). One per
 * process (kept on globalThis: Next may load this module once per bundle).
 */
export function clusterView(env: Record<string, string | undefined> = process.env): ClusterView | undefined {
  const url = env['ONAIR_REDIS_URL']?.trim();
  if (!url) return undefined;
  const slot = globalThis as Slot;
  const existing = slot[SLOT];
  if (existing?.url === url) return existing.view;
  const redis = createRedis({ url, name: 'web', log: createLogger('web').child({ component: 'cluster' }), commandTimeoutMs: 2_000 });
  const view = new ClusterView(redis);
  slot[SLOT] = { url, view };
  return view;
}

/** `nodes` in a random order (each session to any node, spread evenly). */
export function shuffled<T>(items: readonly T[], random: () => number = Math.random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
