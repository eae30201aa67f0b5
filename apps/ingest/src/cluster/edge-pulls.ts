/**
 * This node as an edge: a stream live on another node is pulled from there once (over WHEP,
 * edge-pull-peer.ts) and fanned out here to every local viewer. The pull is this node's
 * publisher of the stream (protocol `edge`), so the StreamRouter serves viewers exactly as it
 * would from a WHIP publisher — including a viewer's keyframe request, which goes upstream as a
 * PLI — and a change of pull is a publisher takeover: viewers keep their sessions and their
 * numbering stays continuous.
 *
 * What follows the directory:
 * - a viewer POSTs for a stream not live here → pull it from the lease holder (or from
 *   ONAIR_EDGE_UPSTREAM, a parent edge), wait until it is connected, then answer the viewer;
 *   concurrent POSTs share the one pull;
 * - the stream's lease moves to another node (its publisher reconnected there) → a new pull from
 *   that node takes over the old one;
 * - the lease is released (the publisher left) → the pull ends; viewers stay, waiting, and the
 *   next lease (on any node) brings a new pull, as a single node keeps viewers across publishers;
 * - no viewer for `idleMs` → the pull ends;
 * - a pull that failed is not tried again for RETRY_MS, whoever asks (a viewer's POST, a
 *   downstream edge, the directory): a POST is answered with that failure and Retry-After. POSTs
 *   skipped it, and every viewer retrying a stream whose origin refused started a pull of its own.
 * `reconcile()` runs every renewal tick and applies the same rules from the directory itself, so
 * a missed event (Redis restarting) or a dead upstream (its pull closed) is repaired within a tick.
 * Each connected pull also brings the stream's renditions (edge-renditions.ts), read again every tick.
 */
import { isOnairError, OnairError } from '@onair/shared/errors';
import type { Logger } from '@onair/service/logger';
import type { IngestConfig } from '../config';
import type { MediaRouter } from '../router/media-router';
import type { PublisherSession } from '../router/sessions';
import type { PublisherPeer } from '../webrtc/engine';
import { edgeHeaders } from './edge-auth';
import type { RenditionSource } from '../router/rendition-catalog';
import { type EdgePullOptions, openConnectedPull } from './edge-pull-peer';
import { EdgeRenditions } from './edge-renditions';
import type { Lease, StreamDirectory } from './stream-directory';

interface Pull {
  streamId: string;
  name: string;
  /** The node pulled from: the lease holder, or the configured upstream. */
  upstreamNode: string;
  /** Resolves once the pull is this stream's connected publisher here; rejects with why not. */
  ready: Promise<void>;
  session: PublisherSession | undefined;
  /** The stream's renditions, pulled along with it (ONAIR_EDGE_RENDITIONS). */
  renditions: EdgeRenditions | undefined;
  /** The lease token the origin holds the stream under now (a publisher reconnecting there takes a new one); undefined from a parent edge. */
  token: number | undefined;
  closed: boolean;
  idleSince: number | undefined;
}

/** What a pull is to EdgePulls: an EdgePullPeer (a fake in the unit tests). */
export type SourcePullPeer = PublisherPeer & { readonly layerUrl: string | null };

export interface EdgePullsOptions {
  directory: Pick<StreamDirectory, 'lookup'>;
  media: Pick<MediaRouter, 'attachPublisher' | 'attachRenditions' | 'audience' | 'activeStreams' | 'isLive' | 'renditionsWanted'>;
  config: IngestConfig;
  node: { id: string };
  /** Whether this node's own publisher holds the stream (then there is nothing to pull). */
  isOrigin(streamId: string): boolean;
  log: Logger;
  now?: () => number;
  /** Opens a connected pull (default: an EdgePullPeer over WHEP). */
  openPull?: (options: EdgePullOptions) => Promise<SourcePullPeer>;
}

/** A pull that failed is not tried again for this long (per stream), ms. */
const RETRY_MS = 1_000;

export class EdgePulls {
  private readonly pulls = new Map<string, Pull>();
  /** The last failed pull per stream, until one connects or RETRY_MS passed (read again). */
  private readonly failures = new Map<string, { at: number; error: OnairError }>();
  private readonly now: () => number;
  private closed = false;
  /** Pulls started, and pulls that replaced another (figures for /metrics and tests). */
  readonly stats = { started: 0, moved: 0, failed: 0, idleClosed: 0 };

  constructor(private readonly options: EdgePullsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Streams pulled here now (connected or connecting). */
  get size(): number {
    return this.pulls.size;
  }

  list(): Array<{ streamId: string; upstream: string; connected: boolean; renditions: string[] }> {
    return [...this.pulls.values()].map((pull) => ({ streamId: pull.streamId, upstream: pull.upstreamNode, connected: pull.session?.connected ?? false, renditions: pull.renditions?.pulled ?? [] }));
  }

  upstreamOf(streamId: string): string | undefined {
    return this.pulls.get(streamId)?.upstreamNode;
  }

  /** A stream pulled here: its renditions' first pulls settled (at most `timeoutMs`); at once otherwise. */
  async renditionsSettled(streamId: string, timeoutMs: number): Promise<void> {
    await this.pulls.get(streamId)?.renditions?.settled(timeoutMs);
  }

  /**
   * A viewer (or a downstream edge, `path`) wants a stream that is not live here: pull it. Resolves
   * once it is live here; throws stream_offline (no lease), loop_detected, upstream_unreachable.
   */
  async reach(streamId: string, name: string, path: string[]): Promise<void> {
    const existing = this.pulls.get(streamId);
    if (existing && !existing.closed) return existing.ready;
    this.refuseWhileBackingOff(streamId);
    let lease: Lease | undefined;
    try {
      lease = await this.options.directory.lookup(streamId);
    } catch (error) {
      throw new OnairError('unavailable', 'The stream directory (Redis) is unreachable right now. Try again shortly.', { cause: error, extensions: { retryAfterS: 2 } });
    }
    if (!lease || lease.node === this.options.node.id) throw new OnairError('stream_offline', `The stream "${name}" is not live.`);
    const again = this.pulls.get(streamId);
    if (again && !again.closed) return again.ready;
    // Another POST's pull may have failed during the lookup.
    this.refuseWhileBackingOff(streamId);
    return this.start(streamId, name, lease, path).ready;
  }

  /** The stream's lease as the event channel or the directory says it now (undefined: offline). */
  follow(streamId: string, lease: Lease | undefined): void {
    if (this.closed) return;
    const pull = this.pulls.get(streamId);
    if (!lease || lease.node === this.options.node.id || this.options.isOrigin(streamId)) {
      if (pull) this.end(pull, lease ? 'origin_here' : 'origin_offline');
      return;
    }
    const upstream = this.options.config.cluster?.edgeUpstream ? 'upstream' : lease.node;
    if (pull && !pull.closed && pull.upstreamNode === upstream) {
      // Same origin, perhaps a new token (its publisher reconnected there): the pull stays, and
      // its rendition pulls present the token the origin holds now.
      if (upstream !== 'upstream') pull.token = lease.token;
      return;
    }
    // Moved, or viewers waiting with no pull (it died, or the stream came back).
    if (!pull && this.options.media.audience(streamId) === 0) return;
    if (this.retryInMs(streamId) > 0) return;
    if (pull) this.stats.moved += 1;
    this.options.log.info({ stream: streamId, from: pull?.upstreamNode, to: lease.node, token: lease.token }, pull ? 'the stream moved: pulling from its new origin' : 'pulling the stream for waiting viewers');
    this.start(streamId, lease.name, lease, []).ready.catch(() => undefined);
  }

  /** Streams to look up in the directory this tick: pulled ones, and ones with viewers waiting here. */
  watched(): string[] {
    const ids = new Set(this.pulls.keys());
    for (const streamId of this.options.media.activeStreams()) {
      if (!this.options.media.isLive(streamId) && this.options.media.audience(streamId) > 0 && !this.options.isOrigin(streamId)) ids.add(streamId);
    }
    return [...ids];
  }

  /** One tick: idle pulls end; `leases` (from the directory, for `watched()`) are followed. */
  reconcile(leases: Map<string, Lease> | undefined, watched: string[]): void {
    const now = this.now();
    const idleMs = this.options.config.cluster?.edgeIdleMs ?? 10_000;
    for (const pull of [...this.pulls.values()]) {
      if (!pull.session) continue;
      if (this.options.media.audience(pull.streamId) > 0) pull.idleSince = undefined;
      else if (pull.idleSince === undefined) pull.idleSince = now;
      else if (now - pull.idleSince >= idleMs) {
        this.stats.idleClosed += 1;
        this.end(pull, 'idle');
      }
    }
    if (leases) for (const streamId of watched) this.follow(streamId, leases.get(streamId));
    for (const pull of this.pulls.values()) if (!pull.closed) void pull.renditions?.refresh();
  }

  close(): void {
    this.closed = true;
    for (const pull of [...this.pulls.values()]) this.end(pull, 'server_closing');
  }

  private start(streamId: string, name: string, lease: Lease, path: string[]): Pull {
    const cluster = this.options.config.cluster!;
    const upstreamUrl = cluster.edgeUpstream ?? lease.url;
    const previous = this.pulls.get(streamId);
    const pull: Pull = { streamId, name, upstreamNode: cluster.edgeUpstream ? 'upstream' : lease.node, ready: Promise.resolve(), session: undefined, renditions: undefined, token: cluster.edgeUpstream ? undefined : lease.token, closed: false, idleSince: undefined };
    this.pulls.set(streamId, pull);
    this.stats.started += 1;
    const log = this.options.log.child({ stream: streamId, upstream: upstreamUrl });
    pull.ready = (async () => {
      const started = performance.now();
      const whepUrl = `${upstreamUrl}/whep/${encodeURIComponent(name)}`;
      const ice = { hosts: this.options.config.ice.hosts, portRange: this.options.config.ice.publisherPorts };
      // The lease token only when pulling from the lease holder itself (a parent edge holds none).
      const headers = () => edgeHeaders(this.options.config.adminToken ?? '', path, this.options.node.id, pull.token);
      const peer = await (this.options.openPull ?? openConnectedPull)({ whepUrl, codecs: lease.codecs, ice, headers: headers(), timeoutMs: cluster.edgeConnectTimeoutMs, log });
      if (pull.closed) {
        await peer.close();
        throw new OnairError('stream_offline', `The stream "${name}" went offline while this node connected to it.`);
      }
      const session = await this.options.media.attachPublisher('edge', streamId, peer);
      pull.session = session;
      this.failures.delete(streamId);
      log.info({ setupMs: Math.round(performance.now() - started), session: session.id, token: lease.token }, 'edge pull connected');
      if (cluster.edgeRenditions && peer.layerUrl) {
        const attach = (set: RenditionSource) => this.options.media.attachRenditions(streamId, set);
        const wantedCodecs = () => this.options.media.renditionsWanted().find((wants) => wants.streamId === streamId)?.codecs ?? [];
        pull.renditions = new EdgeRenditions({ streamId, whepUrl, layerUrl: peer.layerUrl, codecs: lease.codecs, ice, headers, timeoutMs: cluster.edgeConnectTimeoutMs, attach, wantedCodecs, log });
        void pull.renditions.refresh();
      }
      session.once('closed', (reason) => {
        if (this.pulls.get(streamId) === pull) this.pulls.delete(streamId);
        pull.closed = true;
        pull.renditions?.close();
        log.info({ reason }, 'edge pull ended');
      });
    })();
    pull.ready.catch((error: unknown) => {
      this.stats.failed += 1;
      this.failures.set(streamId, { at: this.now(), error: isOnairError(error) ? error : new OnairError('upstream_unreachable', "The edge pull from the stream's origin failed.", { cause: error }) });
      if (this.pulls.get(streamId) === pull) {
        this.pulls.delete(streamId);
        // The old pull (if any) keeps serving until the next tick tries again.
        if (previous && !previous.closed) this.pulls.set(streamId, previous);
      }
      pull.closed = true;
      log.warn({ err: (error as Error).message, code: (error as OnairError).code }, 'edge pull failed');
    });
    return pull;
  }

  /** How long the stream's last failed pull keeps new ones off, ms (0: none). */
  private retryInMs(streamId: string): number {
    const failure = this.failures.get(streamId);
    if (!failure) return 0;
    const waitMs = failure.at + RETRY_MS - this.now();
    if (waitMs > 0) return waitMs;
    this.failures.delete(streamId);
    return 0;
  }

  /** Within RETRY_MS of a failed pull: throws that failure again, with when to come back, instead of asking the upstream again. */
  private refuseWhileBackingOff(streamId: string): void {
    const waitMs = this.retryInMs(streamId);
    const error = this.failures.get(streamId)?.error;
    if (waitMs === 0 || !error) return;
    throw new OnairError(error.code, error.message, { cause: error, extensions: { ...error.extensions, retryAfterS: Math.ceil(waitMs / 1000) } });
  }

  private end(pull: Pull, reason: string): void {
    if (this.pulls.get(pull.streamId) === pull) this.pulls.delete(pull.streamId);
    pull.closed = true;
    pull.session?.close(reason);
  }
}
