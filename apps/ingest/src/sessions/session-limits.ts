/**
 * Caps on what a stranger can make the ingest hold. An anonymous WHEP offer costs a UDP socket,
 * ICE and DTLS state and a connect timer until it connects or times out (15 s): 2 500 offers
 * that never did ICE all got 201 (1 759 sockets at once, memory 155 → 476 MiB). So:
 *
 * - POSTs (WHIP and WHEP) per client address: `postsPerClient` per `postWindowMs` (fixed
 *   window), then 429 `too_many_requests` with Retry-After;
 * - sessions not yet connected: `pendingPerClient` per client (429) and `pendingTotal` in all
 *   (503 `unavailable`: the server is busy, not this client's fault), of which anonymous viewers
 *   may hold all but a tenth: offers that never do ICE filled the pool, and a publisher with its
 *   key (reconnecting after a blip) got 503;
 * - WHEP viewers, connected and pending: `maxViewers` (ONAIR_MAX_VIEWERS; 503 `too_many_viewers`),
 *   a slot taken in the step that checks it: counting sessions let twelve concurrent POSTs past a
 *   cap of three while each awaited its offer or its engine (other nodes' edge pulls take none).
 *
 * The client address is the one the HTTP layer resolved (trusted proxies only); an IPv6 client
 * counts by its /64 (one host is routinely given a whole /64: each of its addresses was a new
 * client). Pure: the clock is injected; state is bounded (MAX_TRACKED_CLIENTS rate entries).
 */
import { OnairError } from '@onair/shared/errors';
import { formatIp, parseIp } from '@onair/shared/trusted-proxies';

/** Who a pending slot is for: an authenticated publisher, or an anonymous viewer. */
export type PendingRole = 'publisher' | 'viewer';

/**
 * The key a client is counted under: its IPv4 address, or the /64 of its IPv6 address (an
 * IPv4-mapped one counts as IPv4).
 */
export function clientKey(address: string): string {
  const bytes = parseIp(address);
  if (!bytes) return address;
  const v6 = !bytes.subarray(0, 12).every((byte, i) => byte === (i < 10 ? 0 : 0xff));
  if (!v6) return formatIp(bytes);
  const groups = [0, 2, 4, 6].map((i) => ((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return `${groups.join(':')}::/64`;
}

export interface SessionLimitsOptions {
  pendingPerClient: number;
  pendingTotal: number;
  postsPerClient: number;
  postWindowMs: number;
  /** WHEP viewers, connected and pending (ONAIR_MAX_VIEWERS). */
  maxViewers: number;
  now?: () => number;
}

/** A slot held for a session; `release()` when it no longer counts (idempotent). */
export interface SlotLease {
  release(): void;
}

export class SessionLimits {
  /** Rate-window entries kept at most; past it the oldest are dropped (their clients start afresh). */
  static readonly MAX_TRACKED_CLIENTS = 10_000;
  private readonly windows = new Map<string, { startedAt: number; count: number }>();
  private readonly pendingByClient = new Map<string, number>();
  private pendingCount = 0;
  private viewerCount = 0;
  private readonly now: () => number;

  constructor(private readonly options: SessionLimitsOptions) {
    this.now = options.now ?? Date.now;
  }

  get pending(): number {
    return this.pendingCount;
  }

  /** WHEP viewers holding a slot (admitted, not yet closed). */
  get viewers(): number {
    return this.viewerCount;
  }

  get trackedClients(): number {
    return this.windows.size;
  }

  /** Counts one session POST from `address`; throws 429 past the rate. */
  admitPost(address: string): void {
    const client = clientKey(address);
    const now = this.now();
    let window = this.windows.get(client);
    if (!window || now - window.startedAt >= this.options.postWindowMs) {
      this.windows.delete(client); // re-inserted last: the map stays ordered by window start
      window = { startedAt: now, count: 0 };
      this.windows.set(client, window);
      this.prune(now);
    }
    if (window.count >= this.options.postsPerClient) {
      const retryAfterS = Math.max(1, Math.ceil((window.startedAt + this.options.postWindowMs - now) / 1000));
      throw new OnairError('too_many_requests', `Too many session requests from this address: at most ${this.options.postsPerClient} per ${this.options.postWindowMs / 1000} s. Retry in ${retryAfterS} s.`, { extensions: { retryAfterS } });
    }
    window.count += 1;
  }

  /** Throws 503 at ONAIR_MAX_VIEWERS; takes no slot (refuses a POST before its offer is read). */
  checkViewers(): void {
    const max = this.options.maxViewers;
    if (this.viewerCount >= max) throw new OnairError('too_many_viewers', `This server takes at most ${max} viewers (ONAIR_MAX_VIEWERS), and that many are watching. Try again later.`, { extensions: { retryAfterS: 10 } });
  }

  /** Takes a WHEP viewer slot, in the same step as the check; release it when the session closes or is not made. */
  reserveViewer(): SlotLease {
    this.checkViewers();
    this.viewerCount += 1;
    return once(() => {
      this.viewerCount -= 1;
    });
  }

  /** Holds a not-yet-connected slot for `address`; throws 429 (this client) or 503 (everyone). */
  reservePending(address: string, role: PendingRole): SlotLease {
    const client = clientKey(address);
    const mine = this.pendingByClient.get(client) ?? 0;
    if (mine >= this.options.pendingPerClient) {
      throw new OnairError('too_many_requests', `This address already has ${mine} sessions that have not connected (at most ${this.options.pendingPerClient}). Complete or DELETE them first.`, { extensions: { retryAfterS: 5 } });
    }
    const room = role === 'publisher' ? this.options.pendingTotal : this.options.pendingTotal - Math.max(1, Math.ceil(this.options.pendingTotal / 10));
    if (this.pendingCount >= room) {
      throw new OnairError('unavailable', 'Too many sessions are being set up right now. Try again in a few seconds.', { extensions: { retryAfterS: 5 } });
    }
    this.pendingByClient.set(client, mine + 1);
    this.pendingCount += 1;
    return once(() => {
      this.pendingCount -= 1;
      const left = (this.pendingByClient.get(client) ?? 1) - 1;
      if (left <= 0) this.pendingByClient.delete(client);
      else this.pendingByClient.set(client, left);
    });
  }

  /** Drops expired windows from the front (oldest first), then the oldest beyond the cap. */
  private prune(now: number): void {
    for (const [client, window] of this.windows) {
      if (this.windows.size <= SessionLimits.MAX_TRACKED_CLIENTS && now - window.startedAt < this.options.postWindowMs) break;
      this.windows.delete(client);
    }
  }
}

function once(release: () => void): SlotLease {
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      release();
    },
  };
}
