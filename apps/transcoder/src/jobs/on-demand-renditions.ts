/**
 * When the transcoder makes on-demand renditions: the ingest says per stream which codecs its
 * viewers need that nothing else gives them (`renditions.wanted` on /api/events: `["VP8"]` while a
 * viewer that cannot decode H.264 watches, `[]` once none does). A VP8 job starts at the first
 * want, and stops `lingerMs` after the last (a viewer reloading the page keeps it), or at once
 * when the stream goes offline. At most `maxJobs` run at a time: each costs an encode.
 *
 * In a cluster the wants come over pub/sub, which keeps nothing, so the origin tells them again
 * every lease renewal: with `wantTtlMs`, a want not heard again for that long counts as withdrawn
 * (a lost `[]`, an origin that died).
 */
import type { Logger } from '@onair/service/logger';

export interface OnDemandJob {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface OnDemandRenditionsOptions {
  createJob(streamId: string, name: string | null): OnDemandJob;
  log: Logger;
  /** Default 4. */
  maxJobs?: number;
  /** Default 5 000 ms. */
  lingerMs?: number;
  /** A want expires when not repeated within this long (ms); undefined: wants last until withdrawn. */
  wantTtlMs?: number;
}

/** The codec these jobs make (router/on-demand-codecs.ts in the ingest names it). */
const CODEC = 'VP8';

export class OnDemandRenditions {
  private readonly jobs = new Map<string, { job: OnDemandJob; linger: NodeJS.Timeout | undefined; expiry?: NodeJS.Timeout }>();

  constructor(private readonly options: OnDemandRenditionsOptions) {}

  /** Streams with a running job. */
  get streams(): string[] {
    return [...this.jobs.keys()];
  }

  wanted(event: { streamId: string; name: string | null; codecs: readonly string[] }): void {
    const held = this.jobs.get(event.streamId);
    const wants = event.codecs.some((codec) => codec.toUpperCase() === CODEC);
    if (!wants) {
      if (held && !held.linger) {
        held.linger = setTimeout(() => this.end(event.streamId, 'no viewer needs it'), this.options.lingerMs ?? 5000);
        held.linger.unref();
      }
      return;
    }
    if (held) {
      clearTimeout(held.linger);
      held.linger = undefined;
      this.expireLater(event, held);
      return;
    }
    if (this.jobs.size >= (this.options.maxJobs ?? 4)) {
      this.options.log.warn({ streamId: event.streamId, maxJobs: this.options.maxJobs ?? 4 }, 'a VP8 rendition is wanted, but as many run as allowed');
      return;
    }
    const job = this.options.createJob(event.streamId, event.name);
    const entry: { job: OnDemandJob; linger: NodeJS.Timeout | undefined; expiry?: NodeJS.Timeout } = { job, linger: undefined };
    this.jobs.set(event.streamId, entry);
    this.expireLater(event, entry);
    this.options.log.info({ streamId: event.streamId, name: event.name }, 'VP8 rendition wanted: starting');
    job.start().catch((error: unknown) => {
      this.options.log.warn({ err: error, streamId: event.streamId }, 'the VP8 rendition did not start');
      if (this.jobs.get(event.streamId)?.job === job) this.jobs.delete(event.streamId);
    });
  }

  offline(streamId: string): void {
    this.end(streamId, 'stream offline');
  }

  async close(): Promise<void> {
    await Promise.all(this.streams.map((streamId) => this.end(streamId, 'closing')));
  }

  /** With `wantTtlMs`: the want counts as withdrawn unless it is heard again in time. */
  private expireLater(event: { streamId: string; name: string | null }, held: { expiry?: NodeJS.Timeout }): void {
    const ttl = this.options.wantTtlMs;
    if (ttl === undefined) return;
    clearTimeout(held.expiry);
    held.expiry = setTimeout(() => this.wanted({ streamId: event.streamId, name: event.name, codecs: [] }), ttl);
    held.expiry.unref();
  }

  private async end(streamId: string, reason: string): Promise<void> {
    const held = this.jobs.get(streamId);
    if (!held) return;
    this.jobs.delete(streamId);
    clearTimeout(held.linger);
    clearTimeout(held.expiry);
    this.options.log.info({ streamId, reason }, 'VP8 rendition ends');
    await held.job.stop().catch((error: unknown) => this.options.log.warn({ err: error, streamId }, 'stopping the VP8 rendition failed'));
  }
}
