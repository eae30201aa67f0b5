/**
 * Forwards end with the transcoder that asked for them. A transcoder instance (`owner`, a stable
 * name such as `transcoder@host`, and `instance`, new at each process start) holds a lease by
 * keeping the ingest's event stream (`GET /api/events?owner=…&instance=…`) open, and creates its
 * forwards under it. When its last event connection closes (the process died: the kernel closes
 * its sockets), its forwards end after a grace period that covers a reconnect; when a new
 * instance of the same owner registers, the older instance's forwards end at once (that process
 * is gone or replaced, and its forwards point at ports the new one may reuse).
 *
 * Without this a SIGKILLed transcoder's forward went on sending to the dead ffmpeg's ports (629
 * packets in 30 s), across offline → live cycles, keeping the stream's router alive.
 */
import { OnairError } from '@onair/shared/errors';
import type { Logger } from '@onair/service/logger';

/**
 * In a cluster a transcoder holds its lease in Redis instead (a key with a TTL it renews, see
 * @onair/service/cluster-keys): it may create forwards on whichever node is a stream's origin
 * without an event connection to each. The node asks Redis when a forward is created and on every
 * tick (`sweep`); a key gone (the process died: no renewal for the TTL, 5 s, the same grace) or a
 * newer instance of the owner (`transcoder.replaced`) ends its forwards here.
 */
export interface RemoteLeases {
  /** The owner of `instance` while its cluster lease is held and no newer instance replaced it. */
  ownerOf(instance: string): Promise<string | undefined>;
}

/** What a lease ends: a ForwardSession. */
export interface LeasedForward {
  close(reason: string): void;
  once(event: 'closed', listener: (reason: string) => void): unknown;
}

interface Holder {
  owner: string;
  /** Held through the cluster (RemoteLeases), not an event connection to this node. */
  remote: boolean;
  connections: number;
  forwards: Set<LeasedForward>;
  grace: NodeJS.Timeout | undefined;
}

export interface ForwardLeasesOptions {
  /** How long forwards outlive their instance's last event connection, ms (a reconnect fits). */
  graceMs: number;
  log: Logger;
  /** Set in a cluster. */
  remote?: RemoteLeases;
}

export class ForwardLeases {
  private readonly holders = new Map<string, Holder>();

  constructor(private readonly options: ForwardLeasesOptions) {}

  /**
   * An event connection of `instance` opened. Returns the function to call when it closes
   * (calling it twice counts once).
   */
  hold(owner: string, instance: string): () => void {
    this.replaced(owner, instance);
    let holder = this.holders.get(instance);
    if (!holder) {
      holder = { owner, remote: false, connections: 0, forwards: new Set(), grace: undefined };
      this.holders.set(instance, holder);
    }
    clearTimeout(holder.grace);
    holder.grace = undefined;
    holder.connections += 1;
    const held = holder;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held.connections -= 1;
      if (held.connections > 0 || this.holders.get(instance) !== held) return;
      held.grace = setTimeout(() => {
        this.options.log.warn({ owner, instance, forwards: held.forwards.size }, 'transcoder event connection gone past the grace period: ending its forwards');
        this.end(instance, 'lease_expired');
      }, this.options.graceMs);
      held.grace.unref();
    };
  }

  /** Whether forwards may be created for `instance` now (connected, or within the grace period). */
  isHeld(instance: string): boolean {
    return this.holders.has(instance);
  }

  /** isHeld, or held through the cluster (asked of Redis; the instance is then tracked here). */
  async ensureHeld(instance: string): Promise<boolean> {
    if (this.holders.has(instance)) return true;
    const owner = await this.options.remote?.ownerOf(instance);
    if (owner === undefined) return false;
    if (!this.holders.has(instance)) {
      this.replaced(owner, instance);
      this.holders.set(instance, { owner, remote: true, connections: 0, forwards: new Set(), grace: undefined });
    }
    return true;
  }

  /** A new instance of `owner` registered: the forwards of its other instances end at once (it may reuse their ports). */
  replaced(owner: string, instance: string): void {
    for (const [other, holder] of this.holders) {
      if (other !== instance && holder.owner === owner) {
        this.options.log.warn({ owner, instance: other, forwards: holder.forwards.size, newInstance: instance }, 'a new instance of this transcoder registered: ending the forwards of the previous one');
        this.end(other, 'owner_restarted');
      }
    }
  }

  /** Cluster tick: instances held through Redis whose lease is gone lose their forwards. */
  async sweep(): Promise<void> {
    const remote = this.options.remote;
    if (!remote) return;
    await Promise.all(
      [...this.holders].map(async ([instance, holder]) => {
        if (!holder.remote) return;
        let owner: string | undefined;
        try {
          owner = await remote.ownerOf(instance);
        } catch {
          return; // Redis away: not a loss; the next sweep decides.
        }
        if (owner === undefined && this.holders.get(instance) === holder) {
          this.options.log.warn({ owner: holder.owner, instance, forwards: holder.forwards.size }, 'transcoder cluster lease gone: ending its forwards');
          this.end(instance, 'lease_expired');
        }
      }),
    );
  }

  ownerOf(instance: string): string | undefined {
    return this.holders.get(instance)?.owner;
  }

  forwardsOf(instance: string): number {
    return this.holders.get(instance)?.forwards.size ?? 0;
  }

  /** The instance a forward lives under. */
  instanceOf(forward: LeasedForward): string | undefined {
    for (const [instance, holder] of this.holders) if (holder.forwards.has(forward)) return instance;
    return undefined;
  }

  /** Puts a new forward under `instance`'s lease; throws 409 forward_lease_unknown when it holds none. */
  attach(instance: string, forward: LeasedForward): void {
    const holder = this.holders.get(instance);
    if (!holder) {
      throw new OnairError('forward_lease_unknown', `No transcoder instance "${instance}" holds the event stream (GET /api/events?owner=…&instance=…) open; open it first, the forward ends when it closes.`);
    }
    holder.forwards.add(forward);
    forward.once('closed', () => holder.forwards.delete(forward));
  }

  /** Ends every lease and its forwards (the ingest is closing). */
  close(): void {
    for (const instance of [...this.holders.keys()]) this.end(instance, 'server_closing');
  }

  private end(instance: string, reason: string): void {
    const holder = this.holders.get(instance);
    if (!holder) return;
    this.holders.delete(instance);
    clearTimeout(holder.grace);
    for (const forward of [...holder.forwards]) forward.close(reason);
  }
}
