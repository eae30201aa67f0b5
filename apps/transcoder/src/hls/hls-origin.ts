/**
 * The HTTP origin for every packager, by stream name:
 *
 *   GET /hls/:stream/index.m3u8                      multivariant playlist
 *   GET /hls/:stream/:rendition/index.m3u8           media playlist; `_HLS_msn`/`_HLS_part` block (§6.2.5.2)
 *   GET /hls/:stream/:rendition/init.mp4             current init segment (alias, not cacheable)
 *   GET /hls/:stream/:rendition/init-<epoch>-<v>.mp4 init segment
 *   GET /hls/:stream/:rendition/seg-<epoch>-<msn>.m4s segment
 *   GET /hls/:stream/:rendition/part-<epoch>-<n>.m4s part; the hinted next part blocks until written
 *
 * Caching, for a CDN in front: media files carry the packager's epoch in their names and never
 * change, so they are `immutable`; a playlist without directives is `no-cache`; a blocking
 * response is a stable answer for its exact URL, so it may be cached briefly.
 *
 * Viewers: every request for a media playlist, part or segment counts its client as watching
 * that stream for a while (`viewers`, see viewer-counter.ts); the multivariant playlist and init
 * segments do not (one-off fetches, e.g. the dashboard's ladder preview).
 */
import type { ServerResponse } from 'node:http';
import { sendText, type RequestContext, type Router } from '@onair/service/http';
import { SITE_PROXY_HEADER } from '@onair/service/site-proxy';
import type { TrustedProxies } from '@onair/shared/trusted-proxies';
import { OnairError } from '@onair/shared/errors';
import type { HlsPackager, WaitResult } from './hls-packager';
import type { Rendition } from './rendition';
import { ViewerCounter } from './viewer-counter';

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
const MEDIA_TYPE = 'video/mp4';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const NO_CACHE = 'no-cache';

export class HlsOrigin {
  private readonly packagers = new Map<string, HlsPackager>();
  /** Active HLS viewers per stream. */
  readonly viewers: ViewerCounter;

  /**
   * `viewers`: the counter (default: a new one with `trustedProxies` and `adminToken`, which say
   * whose `X-Forwarded-For` is believed; see viewer-counter.ts).
   */
  constructor(options: { viewers?: ViewerCounter; trustedProxies?: TrustedProxies; adminToken?: string } = {}) {
    this.viewers = options.viewers ?? new ViewerCounter({ trustedProxies: options.trustedProxies, adminToken: options.adminToken });
  }

  /** Serves `p` under its stream name, replacing any packager registered under that name. */
  register(p: HlsPackager): void {
    this.packagers.set(p.stream, p);
  }

  /**
   * Stops serving a stream. With `p`, only if `p` is still the one registered, so a late
   * teardown of an old packager cannot remove its replacement.
   */
  unregister(stream: string, p?: HlsPackager): void {
    if (p && this.packagers.get(stream) !== p) return;
    this.packagers.delete(stream);
  }

  get(stream: string): HlsPackager | undefined {
    return this.packagers.get(stream);
  }

  routes(router: Router): void {
    router.on('GET', '/hls/:stream/index.m3u8', (ctx) => this.multivariant(ctx));
    router.on('GET', '/hls/:stream/:rendition/:file', (ctx) => this.renditionFile(ctx));
  }

  private packagerFor(ctx: RequestContext): HlsPackager {
    // CORS on every answer, errors included, so a player on any page can read why it failed.
    ctx.res.setHeader('Access-Control-Allow-Origin', '*');
    const stream = ctx.params.stream ?? '';
    const packager = this.packagers.get(stream);
    if (!packager || packager.closed) throw new OnairError('stream_not_found', `No HLS stream named "${stream}".`);
    return packager;
  }

  private async multivariant(ctx: RequestContext): Promise<void> {
    const packager = this.packagerFor(ctx);
    // CODECS needs every init segment: wait for them (a player arriving at publish time).
    const allInits = () => packager.ended || packager.renditions().every((rendition) => rendition.currentInit !== undefined);
    const result = await packager.waitFor(() => packager.renditions().length > 0 && allInits(), packager.blockingTimeoutMs(), abortOnClose(ctx.res));
    if (clientGone(ctx.res)) return;
    if (packager.variants().length === 0) throw notYet(result, 'The stream has no media yet.');
    sendText(ctx.res, 200, packager.renderMultivariant(), PLAYLIST_TYPE, { 'Cache-Control': NO_CACHE });
  }

  private async renditionFile(ctx: RequestContext): Promise<void> {
    const packager = this.packagerFor(ctx);
    const id = ctx.params.rendition ?? '';
    const rendition = packager.rendition(id);
    if (!rendition) throw new OnairError('not_found', `Stream "${packager.stream}" has no rendition "${id}".`);
    const file = ctx.params.file ?? '';
    if (file === 'index.m3u8') {
      this.countViewer(ctx, packager.stream);
      return this.mediaPlaylist(ctx, packager, rendition);
    }
    if (file === 'init.mp4') return this.currentInit(ctx, packager, rendition);
    const named = /^(init|seg|part)-([0-9a-z]{1,32})-(\d{1,15})\.(mp4|m4s)$/.exec(file);
    if (!named || named[2] !== packager.epoch) throw new OnairError('not_found', `No file "${file}" in ${packager.stream}/${id}.`);
    const kind = named[1];
    if (kind !== 'init') this.countViewer(ctx, packager.stream);
    const number = Number(named[3]);
    if (kind === 'init' && named[4] === 'mp4') {
      const init = rendition.findInit(number);
      if (!init) throw new OnairError('not_found', `No init segment ${number} in ${packager.stream}/${id}.`);
      return sendMedia(ctx.res, init.data, IMMUTABLE);
    }
    if (kind === 'seg' && named[4] === 'm4s') return this.segment(ctx, packager, rendition, number);
    if (kind === 'part' && named[4] === 'm4s') return this.part(ctx, packager, rendition, number);
    throw new OnairError('not_found', `No file "${file}" in ${packager.stream}/${id}.`);
  }

  private async mediaPlaylist(ctx: RequestContext, packager: HlsPackager, rendition: Rendition): Promise<void> {
    const msn = directive(ctx.url, '_HLS_msn');
    const part = directive(ctx.url, '_HLS_part');
    if (part !== undefined && msn === undefined) throw new OnairError('bad_request', '_HLS_part needs _HLS_msn (RFC 8216bis §6.2.5.2).');
    let cacheControl = NO_CACHE;
    if (msn !== undefined) {
      if (!rendition.ended && rendition.isTooFarAhead(msn, part)) {
        const last = rendition.lastPosition;
        throw new OnairError('bad_request', `_HLS_msn=${msn}${part === undefined ? '' : `&_HLS_part=${part}`} is too far ahead of the live edge (${last ? `msn ${last.msn}, part ${last.part}` : 'no media yet'}).`);
      }
      const result = await packager.waitFor(() => rendition.satisfies(msn, part), packager.blockingTimeoutMs(rendition), abortOnClose(ctx.res));
      if (clientGone(ctx.res)) return;
      stillServed(packager, rendition);
      if (result !== 'ready') throw notYet(result, `Segment ${msn}${part === undefined ? '' : ` part ${part}`} did not appear in time.`);
      // The answer to this exact URL will not get less true; let a CDN share it for a while.
      cacheControl = `public, max-age=${6 * rendition.targetDuration}`;
    } else if (!rendition.hasMedia && !rendition.ended) {
      // A player that arrives at publish time waits for the first part rather than retrying.
      const result = await packager.waitFor(() => rendition.hasMedia || rendition.ended, packager.blockingTimeoutMs(rendition), abortOnClose(ctx.res));
      if (clientGone(ctx.res)) return;
      stillServed(packager, rendition);
      if (result !== 'ready') throw notYet(result, `Rendition "${rendition.id}" has no media yet.`);
    }
    sendText(ctx.res, 200, rendition.playlistBody(packager.renditionReports(rendition.id)), PLAYLIST_TYPE, { 'Cache-Control': cacheControl });
  }

  private async currentInit(ctx: RequestContext, packager: HlsPackager, rendition: Rendition): Promise<void> {
    const result = await packager.waitFor(() => rendition.currentInit !== undefined || rendition.ended, packager.blockingTimeoutMs(rendition), abortOnClose(ctx.res));
    if (clientGone(ctx.res)) return;
    stillServed(packager, rendition);
    const init = rendition.currentInit;
    if (!init) throw notYet(result, `Rendition "${rendition.id}" has no init segment yet.`);
    sendMedia(ctx.res, init.data, NO_CACHE);
  }

  private async segment(ctx: RequestContext, packager: HlsPackager, rendition: Rendition, msn: number): Promise<void> {
    const complete = () => rendition.findSegment(msn)?.data;
    if (!complete()) {
      // The segment in progress (or the next) is worth waiting for; anything else is gone or never was.
      const lastMsn = rendition.lastPosition?.msn ?? -1;
      if (rendition.ended || msn < lastMsn || msn > lastMsn + 1) throw new OnairError('not_found', `No segment ${msn} in ${packager.stream}/${rendition.id}.`);
      const result = await packager.waitFor(() => complete() !== undefined || rendition.ended, packager.blockingTimeoutMs(rendition), abortOnClose(ctx.res));
      if (clientGone(ctx.res)) return;
      stillServed(packager, rendition);
      if (!complete()) throw result === 'ready' ? new OnairError('not_found', `No segment ${msn} in ${packager.stream}/${rendition.id}.`) : notYet(result, `Segment ${msn} is not complete yet.`);
    }
    sendMedia(ctx.res, complete()!, IMMUTABLE);
  }

  private async part(ctx: RequestContext, packager: HlsPackager, rendition: Rendition, seq: number): Promise<void> {
    const next = rendition.nextPartSequence;
    if (seq >= next) {
      // §4.4.5.3: clients request the hinted part early; hold it until written. Further ahead
      // than the Advance Part Limit is not a part we promised.
      const limit = Math.ceil(3 / Math.min(1, packager.partTargetSec));
      if (rendition.ended || seq - next >= limit) throw new OnairError('not_found', `Part ${seq} of ${packager.stream}/${rendition.id} does not exist.`);
      const result = await packager.waitFor(() => rendition.nextPartSequence > seq || rendition.ended, packager.blockingTimeoutMs(rendition), abortOnClose(ctx.res));
      if (clientGone(ctx.res)) return;
      stillServed(packager, rendition);
      if (rendition.nextPartSequence <= seq) {
        throw result === 'ready' ? new OnairError('not_found', `Part ${seq} of ${packager.stream}/${rendition.id} will not exist: the stream ended.`) : notYet(result, `Part ${seq} was not written in time.`);
      }
    }
    const stored = rendition.findPart(seq);
    if (!stored) throw new OnairError('not_found', `Part ${seq} of ${packager.stream}/${rendition.id} is no longer available.`);
    sendMedia(ctx.res, stored.data, IMMUTABLE);
  }

  /** Counts the requesting client as a viewer of `stream` (at arrival: a blocked reload counts before it is answered). */
  private countViewer(ctx: RequestContext, stream: string): void {
    const req = ctx.req as Partial<RequestContext['req']>;
    const headers = req.headers ?? {};
    this.viewers.hit(stream, this.viewers.clientId({ remoteAddress: req.socket?.remoteAddress, forwardedFor: headers['x-forwarded-for'], userAgent: headers['user-agent'], siteProxy: headers[SITE_PROXY_HEADER] }));
  }
}

function sendMedia(res: ServerResponse, data: Buffer, cacheControl: string): void {
  sendText(res, 200, data, MEDIA_TYPE, { 'Cache-Control': cacheControl });
}

/** A non-negative integer query parameter, undefined when absent; 400 when malformed. */
function directive(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw new OnairError('bad_request', `${name} must be a non-negative integer, not "${raw.slice(0, 32)}".`);
  return Number(raw);
}

/**
 * A rendition removed while a request waited on it (the audio of a publisher that stopped sending
 * any) is gone, not ended: 404, so the player reloads the multivariant playlist instead of
 * taking an EXT-X-ENDLIST for the end of the stream.
 */
function stillServed(packager: HlsPackager, rendition: Rendition): void {
  if (packager.rendition(rendition.id) !== rendition) throw new OnairError('not_found', `Stream "${packager.stream}" no longer has rendition "${rendition.id}".`);
}

function notYet(result: WaitResult, detail: string): OnairError {
  // §6.2.5.2: a blocking request not satisfied within three target durations gets 503.
  if (result === 'closed') return new OnairError('stream_not_found', 'The stream was closed.');
  return new OnairError('unavailable', detail);
}

/** An AbortSignal that fires when the client disconnects before we answer. */
function abortOnClose(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

function clientGone(res: ServerResponse): boolean {
  return res.destroyed || res.socket?.destroyed === true;
}
