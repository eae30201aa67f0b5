/**
 * Active HLS viewers per stream: distinct clients that asked for a media playlist, a part or a
 * segment of that stream within the last `windowMs`.
 *
 * Why 6 s: the built-in ladders cut 1 s segments (EXT-X-TARGETDURATION:1). An LL-HLS player
 * (hls.js, Safari) reloads the media playlist for every part (200 ms) with a blocking request,
 * and the origin holds such a request at most three target durations (3 s, RFC 8216bis
 * §6.2.5.2) before answering 503, after which the player asks again. So a player that is still
 * there is never silent for more than ~3 s plus its retry delay; a non-LL player reloads every
 * target duration. Twice the longest hold is a window in which no live player drops out, and a
 * closed page stops counting within 6 s. (A CDN in front of the origin is one client per edge.)
 *
 * A client is the hash of (real address, User-Agent), salted per process. The address is the
 * socket's, unless the request comes through a proxy the transcoder believes: one listed in
 * `ONAIR_TRUSTED_PROXIES` (a CDN edge, nginx; the shared rule of @onair/shared/trusted-proxies),
 * or the site's own /hls proxy, which proves itself with a key derived from the admin token
 * (@onair/service/site-proxy). Loopback as such is not trusted: a local process, or the proxy
 * passing on a header a browser wrote, made 300 spoofed requests count as 250 viewers. No raw
 * address is kept.
 *
 * Memory is bounded: one Map in order of last hit (re-inserted on every hit), so with one window
 * for every entry the oldest entries are the first to expire; expired ones are swept from the
 * front on every hit and count, and past `maxEntries` the least recently seen client is evicted.
 * Pure: the clock is injected.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isSiteProxy } from '@onair/service/site-proxy';
import { TrustedProxies } from '@onair/shared/trusted-proxies';

export const DEFAULT_VIEWER_WINDOW_MS = 6_000;
export const DEFAULT_MAX_VIEWER_ENTRIES = 100_000;

export interface ViewerCounterOptions {
  windowMs?: number;
  maxEntries?: number;
  now?: () => number;
  /** Salt of the client hash (tests); random per process by default. */
  salt?: Buffer;
  /** Peers whose `X-Forwarded-For` is believed (`ONAIR_TRUSTED_PROXIES`). Default: none. */
  trustedProxies?: TrustedProxies;
  /** The admin token, from which the site proxy's proof is derived; without it no request is the site proxy. */
  adminToken?: string;
}

/** What identifies a client in an HTTP request. */
export interface ClientRequestInfo {
  /** The socket's peer address (`req.socket.remoteAddress`). */
  remoteAddress: string | undefined;
  /** The `X-Forwarded-For` header, if any. */
  forwardedFor: string | string[] | undefined;
  userAgent: string | string[] | undefined;
  /** The site proxy's proof header (`SITE_PROXY_HEADER`), if any. */
  siteProxy?: string | string[] | undefined;
}

interface Entry {
  stream: string;
  lastSeen: number;
}

export class ViewerCounter {
  readonly windowMs: number;
  readonly maxEntries: number;
  private readonly now: () => number;
  private readonly salt: Buffer;
  private readonly trustedProxies: TrustedProxies;
  private readonly adminToken: string | undefined;
  /** key (stream + NUL + client hash) → entry, least recently seen first. */
  private readonly entries = new Map<string, Entry>();
  private readonly perStream = new Map<string, number>();

  constructor(options: ViewerCounterOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_VIEWER_WINDOW_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_VIEWER_ENTRIES;
    if (!(this.windowMs > 0) || !(this.maxEntries >= 1)) throw new RangeError('windowMs must be > 0 and maxEntries >= 1');
    this.now = options.now ?? Date.now;
    this.salt = options.salt ?? randomBytes(16);
    this.trustedProxies = options.trustedProxies ?? TrustedProxies.none;
    this.adminToken = options.adminToken;
  }

  /** The client's identity as a salted hash of its real address and User-Agent. */
  clientId(info: ClientRequestInfo): string {
    const viaSiteProxy = isSiteProxy(info.siteProxy, this.adminToken);
    const address = this.trustedProxies.clientAddress(info.remoteAddress, info.forwardedFor, viaSiteProxy || undefined);
    const ua = Array.isArray(info.userAgent) ? info.userAgent.join(', ') : (info.userAgent ?? '');
    return createHash('sha256').update(this.salt).update(address).update('\0').update(ua).digest('base64url').slice(0, 22);
  }

  /** Records that `client` (a `clientId`) asked for media of `stream` now. */
  hit(stream: string, client: string): void {
    const now = this.now();
    this.sweep(now);
    const key = `${stream}\0${client}`;
    const existing = this.entries.get(key);
    if (existing) {
      this.entries.delete(key);
      existing.lastSeen = now;
      this.entries.set(key, existing);
      return;
    }
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest);
    }
    this.entries.set(key, { stream, lastSeen: now });
    this.perStream.set(stream, (this.perStream.get(stream) ?? 0) + 1);
  }

  /** Active viewers of `stream`. */
  count(stream: string): number {
    this.sweep(this.now());
    return this.perStream.get(stream) ?? 0;
  }

  /** Active viewers of every stream that has any. */
  counts(): Record<string, number> {
    this.sweep(this.now());
    return Object.fromEntries(this.perStream);
  }

  /** Entries held (for tests and the memory bound). */
  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.entries) {
      if (now - entry.lastSeen < this.windowMs) break;
      this.remove(key);
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const left = (this.perStream.get(entry.stream) ?? 1) - 1;
    if (left > 0) this.perStream.set(entry.stream, left);
    else this.perStream.delete(entry.stream);
  }
}
