/**
 * This transcoder's side of the cluster's job leases (job-directory.ts): the JobManager asks
 * here before it runs a stream's job, and a job runs only while this process holds its lease.
 *
 * - claim: a live stream's job is taken if nobody holds it. A transcoder already running jobs
 *   waits a little first (100 ms per job, ≤ 1 s), so new streams go to idle transcoders first.
 *   The successor of a transcoder that died gets the position its playlist stood at, and the
 *   packager carries the playlist on from there (`continuationFor`).
 * - every second: renew each held lease with where its playlist stands; a lease found under
 *   another token means another transcoder took the job while this one was away (paused, cut
 *   off): the job is given up here. Then, with `auto` policy, every live stream whose job nobody
 *   holds is claimed — that is the failover: a dead transcoder's leases expire after 5 s and the
 *   next tick of a survivor takes them.
 * - release: the job ended here (stream offline, operator, failed): the lease and the recorded
 *   position go, so a later run starts a fresh playlist.
 *
 * A renewal that fails (Redis away) changes nothing: the job runs on, the next renewal decides.
 */
import type { Redis } from 'ioredis';
import { OnairError } from '@onair/shared/errors';
import type { Logger } from '@onair/service/logger';
import { createRedis } from '@onair/service/redis';
import type { PlaylistPosition } from '../hls/rendition';
import type { JobClaims, JobManager, LiveStream } from '../jobs/job-manager';
import { type JobClaim, JobDirectory, type RecordedPosition } from './job-directory';

export interface JobLeasesOptions {
  redisUrl: string;
  /** ONAIR_TRANSCODER_ID. */
  owner: string;
  /** This process (a restart is a new instance). */
  instance: string;
  /** Base URL of this transcoder's HLS origin, as players' proxies and caches reach it. */
  url: string;
  log: Logger;
  /** Lease TTL, ms (default 5000). */
  ttlMs?: number;
  /** Renewal and failover tick, ms (default 1000). */
  renewMs?: number;
  /** Shortest segment the packager cuts, ms: how many sequence numbers a dead holder could have used since it recorded its position. Default 1000. */
  segmentMs?: number;
  /** Whether to take jobs nobody holds by itself (ONAIR_TRANSCODE_POLICY=auto). */
  auto: boolean;
}

interface Held {
  stream: LiveStream;
  token: number;
  claim: JobClaim;
}

/**
 * Where a successor's playlist starts: past every sequence number the predecessor could have
 * used after it recorded its position (at most one segment per `segmentMs`), plus one.
 */
export function continuationAfter(previous: RecordedPosition, segmentMs: number): PlaylistPosition {
  return { nextMsn: previous.nextMsn + Math.ceil(previous.ageMs / Math.max(1, segmentMs)) + 1, discontinuitySeq: previous.discontinuitySeq };
}

export class JobLeases implements JobClaims {
  private readonly redis: Redis;
  private readonly directory: JobDirectory;
  private readonly log: Logger;
  private readonly held = new Map<string, Held>();
  private readonly claiming = new Map<string, Promise<void>>();
  private readonly continuations = new Map<string, PlaylistPosition>();
  private readonly stats = { claimed: 0, tookOver: 0, lost: 0, released: 0 };
  private jobs: JobManager | undefined;
  private positionOf: (stream: string) => PlaylistPosition | undefined = () => undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private closed = false;

  constructor(private readonly opts: JobLeasesOptions) {
    this.log = opts.log.child({ component: 'job-leases' });
    this.redis = createRedis({ url: opts.redisUrl, name: `transcoder ${opts.owner} jobs`, log: this.log });
    this.directory = new JobDirectory(this.redis, opts.ttlMs ?? 5_000);
  }

  /** Starts renewing and (auto) taking jobs nobody holds; `positionOf` reads a stream's packager. */
  start(jobs: JobManager, positionOf: (stream: string) => PlaylistPosition | undefined): void {
    this.jobs = jobs;
    this.positionOf = positionOf;
    this.timer = setInterval(() => void this.tick(), this.opts.renewMs ?? 1_000);
    this.timer.unref();
  }

  claim(stream: LiveStream): Promise<void> {
    if (this.closed) return Promise.reject(new OnairError('unavailable', 'The transcoder is shutting down.'));
    if (this.held.has(stream.streamId)) return Promise.resolve();
    let pending = this.claiming.get(stream.streamId);
    if (!pending) {
      pending = this.claimNow(stream).finally(() => this.claiming.delete(stream.streamId));
      this.claiming.set(stream.streamId, pending);
    }
    return pending;
  }

  release(stream: LiveStream): void {
    const held = this.held.get(stream.streamId);
    if (!held) return;
    this.held.delete(stream.streamId);
    this.continuations.delete(stream.name);
    this.stats.released++;
    this.directory.release(stream.streamId, held.token).catch((error: unknown) => this.log.warn({ err: (error as Error).message, stream: stream.name }, 'could not release the job lease (it expires by itself)'));
  }

  /** The position a predecessor's playlist stood at, for the first packager of a job taken over (once). */
  takeContinuation(stream: string): PlaylistPosition | undefined {
    const from = this.continuations.get(stream);
    this.continuations.delete(stream);
    return from;
  }

  /** For /api/cluster and the dashboard: what this transcoder holds. */
  describe(): { held: Array<{ streamId: string; name: string; token: number }>; stats: JobLeases['stats'] } {
    return { held: [...this.held.values()].map(({ stream, token }) => ({ streamId: stream.streamId, name: stream.name, token })), stats: { ...this.stats } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // A clean stop hands the jobs over at once instead of after the TTL.
    await Promise.allSettled([...this.held.values()].map((held) => this.directory.release(held.stream.streamId, held.token)));
    this.held.clear();
    await this.redis.quit().catch(() => undefined);
    this.redis.disconnect();
  }

  private async claimNow(stream: LiveStream): Promise<void> {
    // Busy transcoders let idle ones go first.
    const wait = Math.min(100 * this.held.size, 1_000);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const claim: JobClaim = { streamId: stream.streamId, name: stream.name, owner: this.opts.owner, instance: this.opts.instance, url: this.opts.url, since: new Date().toISOString() };
    let result;
    try {
      result = await this.directory.claim(claim);
    } catch (error) {
      throw new OnairError('unavailable', `The cluster's job leases (Redis) cannot be reached: ${(error as Error).message}`, { cause: error, extensions: { retryAfterS: 2 } });
    }
    if ('heldBy' in result) {
      throw new OnairError('job_elsewhere', `Transcoder "${result.heldBy}" runs the job of stream "${stream.name}".`, { extensions: { transcoder: result.heldBy } });
    }
    if (this.closed) {
      await this.directory.release(stream.streamId, result.token).catch(() => undefined);
      throw new OnairError('unavailable', 'The transcoder is shutting down.');
    }
    this.held.set(stream.streamId, { stream, token: result.token, claim });
    this.stats.claimed++;
    if (result.previous) {
      const from = continuationAfter(result.previous, this.opts.segmentMs ?? 1_000);
      this.continuations.set(stream.name, from);
      this.stats.tookOver++;
      this.log.info({ stream: stream.name, token: result.token, previous: result.previous, continueFrom: from }, 'took the job over; the playlist carries on');
    } else {
      this.continuations.delete(stream.name);
      this.log.info({ stream: stream.name, token: result.token }, 'claimed the job');
    }
  }

  private async tick(): Promise<void> {
    const jobs = this.jobs;
    if (this.ticking || this.closed || !jobs) return;
    this.ticking = true;
    try {
      await Promise.all([...this.held.values()].map((held) => this.renew(jobs, held)));
      if (this.opts.auto) await this.takeOrphans(jobs);
    } finally {
      this.ticking = false;
    }
  }

  private async renew(jobs: JobManager, held: Held): Promise<void> {
    let result;
    try {
      result = await this.directory.renew(held.claim, held.token, this.positionOf(held.stream.name));
    } catch {
      return;
    }
    if (result === 'reclaimed') this.log.info({ stream: held.stream.name, token: held.token }, 'the job lease had expired (Redis or this process away); reclaimed with its token');
    if (result !== 'lost' || this.held.get(held.stream.streamId) !== held) return;
    this.held.delete(held.stream.streamId);
    this.continuations.delete(held.stream.name);
    this.stats.lost++;
    await jobs.relinquish(held.stream.name, 'another transcoder holds the job lease now');
  }

  /** Live streams whose job nobody holds: a transcoder died (its leases expired), or a job was given up. */
  private async takeOrphans(jobs: JobManager): Promise<void> {
    // A job that failed here (its crashes used up) is left to the others, as one machine leaves it failed.
    const candidates = jobs.liveStreams().filter((live) => !this.held.has(live.streamId) && !this.claiming.has(live.streamId) && jobs.get(live.name)?.state !== 'failed');
    if (candidates.length === 0) return;
    let held: Set<string>;
    try {
      held = await this.directory.held(candidates.map((live) => live.streamId));
    } catch {
      return;
    }
    for (const live of candidates) {
      if (held.has(live.streamId) || this.closed) continue;
      jobs.start(live.name).catch((error: unknown) => {
        if (!(error instanceof OnairError && error.code === 'job_elsewhere')) this.log.warn({ err: (error as Error).message, stream: live.name }, 'could not take over the job');
      });
    }
  }
}
