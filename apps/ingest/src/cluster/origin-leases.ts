/**
 * This node as an origin: a stream whose publisher (WHIP, WebTransport) connects here takes the
 * stream's lease in the directory; the lease is renewed while the publisher is live and released
 * when it leaves. A takeover on another node (a `stream.live` with a higher token, or a renewal
 * that finds another token) makes this node let its publisher go, as the single node closes the
 * older session when a newer one connects.
 *
 * Lease operations of one stream run one after another (acquire, renew, release never cross).
 * A local takeover (an OBS reconnect to the same node) emits `offline` then `live` in the same
 * turn; the release of the old session is deferred to the end of that turn and skipped when a
 * newer session holds the stream by then, so other nodes see one `stream.live` with a new token
 * on the same node — their edge pulls stay — instead of offline and live.
 */
import type { Logger } from '@onair/service/logger';
import type { MediaRouter } from '../router/media-router';
import type { PublisherSession } from '../router/sessions';
import type { StreamStore } from '../streams/stream-store';
import type { LeaseClaim, StreamDirectory } from './stream-directory';

interface Held {
  session: PublisherSession;
  claim: LeaseClaim;
  /** Undefined while the acquisition is on its way. */
  token: number | undefined;
}

export interface OriginLeasesOptions {
  directory: StreamDirectory;
  media: MediaRouter;
  store: StreamStore;
  node: { id: string; url: string };
  log: Logger;
}

export class OriginLeases {
  private readonly held = new Map<string, Held>();
  /** Highest token seen announced by another node, per stream (a takeover may be heard before our own acquisition returns). */
  private readonly foreign = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly options: OriginLeasesOptions) {
    options.media.on('live', this.onLive);
    options.media.on('offline', this.onOffline);
  }

  /** The token this node holds for the stream, if it is the stream's origin now. */
  tokenOf(streamId: string): number | undefined {
    return this.held.get(streamId)?.token;
  }

  /** The streams this node is the origin of, with their tokens (undefined while being acquired). */
  list(): Array<{ streamId: string; token: number | undefined; session: string }> {
    return [...this.held].map(([streamId, held]) => ({ streamId, token: held.token, session: held.session.id }));
  }

  /** Whether this node's own publisher (not an edge pull) holds the stream. */
  holds(streamId: string): boolean {
    return this.held.has(streamId);
  }

  /** Another node announced the stream (from the event channel). */
  heardLive(streamId: string, node: string, token: number): void {
    if (node === this.options.node.id) return;
    this.foreign.set(streamId, Math.max(token, this.foreign.get(streamId) ?? 0));
    const held = this.held.get(streamId);
    if (held?.token !== undefined && token > held.token) this.letGo(streamId, held, `taken over on node ${node} (token ${token} > ${held.token})`);
  }

  heardOffline(streamId: string): void {
    this.foreign.delete(streamId);
  }

  /** Renews every held lease (one timer tick); a lease found lost lets its publisher go. */
  async renewAll(): Promise<void> {
    await Promise.all(
      [...this.held.entries()].map(([streamId, held]) =>
        this.serial(streamId, async () => {
          if (this.held.get(streamId) !== held) return;
          if (held.token === undefined) return this.acquire(streamId, held, true);
          try {
            const result = await this.options.directory.renew(held.claim, held.token);
            if (result === 'lost') this.letGo(streamId, held, 'the lease holds another token (taken over while this node was away)');
            else if (result === 'reclaimed') this.options.log.warn({ stream: streamId, token: held.token }, 'the lease had expired (Redis or this node away); reclaimed with the same token');
          } catch (error) {
            // Redis unreachable is not a loss: the publisher goes on; the next renewal decides.
            this.options.log.debug({ stream: streamId, err: (error as Error).message }, 'lease renewal failed; retrying');
          }
        }),
      ),
    );
  }

  /** Waits for lease operations in flight (on shutdown, after the media router closed). */
  async close(): Promise<void> {
    this.closed = true;
    this.options.media.off('live', this.onLive);
    this.options.media.off('offline', this.onOffline);
    for (const [streamId, held] of [...this.held]) this.release(streamId, held);
    await Promise.allSettled([...this.chains.values()]);
  }

  private readonly onLive = (streamId: string, session: PublisherSession): void => {
    if (session.kind === 'edge' || this.closed) return;
    const state = this.options.media.liveState(streamId);
    const codecs = this.options.media.streamCodecs(streamId) ?? {};
    const held: Held = {
      session,
      token: undefined,
      claim: { streamId, name: '', node: this.options.node.id, url: this.options.node.url, protocol: session.kind, session: session.id, since: state.since ?? new Date().toISOString(), codecs },
    };
    this.held.set(streamId, held);
    void this.serial(streamId, () => this.acquire(streamId, held));
  };

  /** `retry`: the first try failed (Redis away); a node that took the stream meanwhile keeps it. */
  private async acquire(streamId: string, held: Held, retry = false): Promise<void> {
    if (this.held.get(streamId) !== held) return;
    try {
      if (retry) {
        const current = await this.options.directory.lookup(streamId);
        if (current && current.node !== this.options.node.id) return this.letGo(streamId, held, `node ${current.node} took the stream while Redis was away`);
      }
      held.claim.name = (await this.options.store.findById(streamId))?.name ?? '';
      held.token = await this.options.directory.acquire(held.claim);
    } catch (error) {
      // Redis away: the next renewal tick tries again.
      this.options.log.warn({ stream: streamId, err: (error as Error).message }, 'could not take the stream lease; retrying');
      return;
    }
    this.options.log.info({ stream: streamId, token: held.token, session: held.session.id }, "this node is the stream's origin (lease taken)");
    const newer = this.foreign.get(streamId) ?? 0;
    if (newer > held.token) this.letGo(streamId, held, `taken over on another node meanwhile (token ${newer} > ${held.token})`);
  }

  private readonly onOffline = (streamId: string): void => {
    const held = this.held.get(streamId);
    if (!held) return;
    // A local takeover announces the new publisher in this same turn: wait for the end of it.
    setImmediate(() => {
      if (this.held.get(streamId) === held) this.release(streamId, held);
    });
  };

  private release(streamId: string, held: Held): void {
    this.held.delete(streamId);
    void this.serial(streamId, async () => {
      if (held.token === undefined) return;
      try {
        const released = await this.options.directory.release(held.claim, held.token);
        this.options.log.info({ stream: streamId, token: held.token, released }, released ? 'stream lease released' : 'stream lease already taken over');
      } catch (error) {
        // It expires by its TTL.
        this.options.log.warn({ stream: streamId, err: (error as Error).message }, 'could not release the stream lease; it expires by itself');
      }
    });
  }

  private letGo(streamId: string, held: Held, why: string): void {
    if (this.held.get(streamId) !== held) return;
    this.held.delete(streamId);
    this.options.log.warn({ stream: streamId, session: held.session.id, token: held.token }, `letting the publisher go: ${why}`);
    held.session.close('taken_over');
  }

  /** Runs `task` after the stream's earlier lease operations. */
  private serial(streamId: string, task: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(streamId) ?? Promise.resolve()).then(task, task);
    this.chains.set(streamId, next);
    void next.finally(() => {
      if (this.chains.get(streamId) === next) this.chains.delete(streamId);
    });
    return next;
  }
}
