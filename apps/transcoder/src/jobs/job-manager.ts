/**
 * Owns the jobs (one per stream name) and applies the policy: with `auto`, a job starts when the
 * ingest says a stream is live and stops when it goes offline; with `manual`, only the control
 * API starts jobs (stream.offline still stops them: there is nothing left to transcode).
 *
 * Ownership: JobManager → TranscodeJob → (ffmpeg process, OutputSockets, packager, input).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '@onair/service/logger';
import { OnairError } from '@onair/shared/errors';
import type { ProfileStore } from '../ladder/profile-store';
import type { Profile } from '../ladder/profile';
import type { InputSource } from './input-source';
import type { JobState, JobStats, PackagerLike } from './job-types';
import type { RenditionOutput } from './rendition-output';
import { TranscodeJob } from './transcode-job';

export type JobPolicy = 'auto' | 'manual';

export interface JobManagerOptions {
  policy: JobPolicy;
  profiles: ProfileStore;
  ffmpegPath: string;
  /** Where ffmpeg receives input RTP (ONAIR_TRANSCODER_RTP_HOST). Default 127.0.0.1. */
  inputHost?: string;
  log: Logger;
  /** The input of a live stream (an ingest forward in the service; a static SDP in tests). */
  createInput: (live: LiveStream) => InputSource;
  /** Where a live stream's encoded rungs also go as RTP (the ingest, for WebRTC viewers). Optional. */
  createRenditions?: (live: LiveStream) => RenditionOutput;
  /** The packager of one run of a stream (registered with the HLS origin by the caller). */
  createPackager: (stream: string) => PackagerLike;
  /**
   * Who may run a stream's job: in a cluster, the job leases in Redis (one transcoder per
   * stream). Absent on one machine: this transcoder runs every job it is asked to.
   */
  claims?: JobClaims;
  /** Passed to each job (timeouts, backoff). */
  jobDefaults?: Partial<Pick<ConstructorParameters<typeof TranscodeJob>[0], 'startTimeoutMs' | 'stallTimeoutMs' | 'restartBackoff' | 'maxConsecutiveCrashes' | 'replanIntervalMs' | 'maxReplans'>>;
}

export interface LiveStream {
  streamId: string;
  name: string;
}

export interface JobView extends JobStats {
  live: boolean;
}

/** The cluster's say over where a job runs (see cluster/job-leases.ts). */
export interface JobClaims {
  /** Resolves once this transcoder holds the stream's job; throws OnairError `job_elsewhere` when another one does. */
  claim(stream: LiveStream): Promise<void>;
  /** This transcoder has stopped the stream's job for good (offline, operator, failed): another may take it. */
  release(stream: LiveStream): void;
}

export class JobManager extends EventEmitter<{ state: [string, JobState, JobState] }> {
  private readonly jobs = new Map<string, TranscodeJob>();
  private readonly live = new Map<string, LiveStream>();
  private readonly jobStreamIds = new Map<string, string>();
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly opts: JobManagerOptions) {
    super();
    this.log = opts.log.child({ component: 'jobs' });
  }

  get policy(): JobPolicy {
    return this.opts.policy;
  }

  /** The ingest announced a live stream. */
  streamLive(stream: LiveStream): void {
    if (this.closed) return;
    this.live.set(stream.name, stream);
    if (this.opts.policy !== 'auto') return;
    const job = this.jobs.get(stream.name);
    // A job still stopping from the last offline event must not swallow this live event (a
    // publisher that reconnects within ffmpeg's stop time would never get HLS again).
    if (job?.active && !job.isStopping) return;
    this.start(stream.name).catch((error) => {
      if (error instanceof OnairError && error.code === 'job_elsewhere') this.log.debug({ stream: stream.name, detail: error.message }, 'another transcoder runs this job');
      else this.log.error({ err: error, stream: stream.name }, 'could not start the job for a live stream');
    });
  }

  /** The ingest said a stream went offline (by id, since a deleted stream has no name any more). */
  streamOffline(streamId: string, name?: string | null): void {
    const entry = [...this.live.values()].find((s) => s.streamId === streamId) ?? (name ? this.live.get(name) : undefined);
    const streamName = entry?.name ?? name;
    if (!streamName) return;
    this.live.delete(streamName);
    const job = this.jobs.get(streamName);
    if (!job) return;
    void job.stop('stream went offline').finally(() => this.releaseClaim(streamName, streamId));
  }

  /**
   * Another transcoder holds the stream's job now (this one was cut off or paused past its lease):
   * stop here and stop serving the playlist, which the other one carries on.
   */
  async relinquish(stream: string, reason: string): Promise<void> {
    const job = this.jobs.get(stream);
    if (!job) return;
    this.log.warn({ stream, reason }, 'giving the job up');
    await job.close();
  }

  /** The stream's publisher is on another ingest node now (cluster): its job takes a fresh input there. */
  streamMoved(streamId: string): void {
    const entry = [...this.live.values()].find((s) => s.streamId === streamId);
    if (entry) this.jobs.get(entry.name)?.inputMoved('the stream moved to another ingest node');
  }

  /** Live streams as the ingest announced them. */
  liveStreams(): LiveStream[] {
    return [...this.live.values()];
  }

  /** After the event stream reconnects: streams not re-announced are gone. */
  reconcileLive(announced: Set<string>): void {
    for (const name of [...this.live.keys()]) {
      if (!announced.has(name)) this.streamOffline(this.live.get(name)!.streamId, name);
    }
  }

  isLive(stream: string): boolean {
    return this.live.has(stream);
  }

  get(stream: string): TranscodeJob | undefined {
    return this.jobs.get(stream);
  }

  require(stream: string): TranscodeJob {
    const job = this.jobs.get(stream);
    if (!job) throw new OnairError('job_not_found', `No transcode job for stream "${stream}".`);
    return job;
  }

  list(): JobView[] {
    return [...this.jobs.values()].map((job) => ({ ...job.getStats(), live: this.live.has(job.stream) }));
  }

  /** Starts (or returns the already active) job of a live stream with its chosen profile. */
  async start(stream: string, input?: InputSource): Promise<TranscodeJob> {
    if (this.closed) throw new OnairError('unavailable', 'The transcoder is shutting down.');
    const existing = this.jobs.get(stream);
    if (existing?.active && !existing.isStopping) return existing;
    const live = this.live.get(stream);
    if (!input && !live) throw new OnairError('stream_offline', `Stream "${stream}" is not live on the ingest.`);
    const claims = input ? undefined : this.opts.claims;
    if (claims) await claims.claim(live!);
    if (this.closed) throw new OnairError('unavailable', 'The transcoder is shutting down.');
    const profile = this.opts.profiles.profileFor(stream);
    // A job is bound to the stream id it was created for; a stream deleted and re-created under
    // the same name has a new id, so it gets a new job (and input).
    const reusable = existing && !input && this.jobStreamIds.get(stream) === live?.streamId;
    const job = reusable ? existing : this.createJob(stream, profile, input ?? this.opts.createInput(live!), input ? undefined : this.opts.createRenditions?.(live!));
    if (!input && live) this.jobStreamIds.set(stream, live.streamId);
    try {
      await job.start(profile);
    } catch (error) {
      if (claims) claims.release(live!);
      throw error;
    }
    return job;
  }

  async stop(stream: string): Promise<TranscodeJob> {
    const job = this.require(stream);
    await job.stop('stopped by operator');
    this.releaseClaim(stream);
    return job;
  }

  async restart(stream: string): Promise<TranscodeJob> {
    const job = this.jobs.get(stream);
    if (!job?.active) return this.start(stream);
    await job.restart(this.opts.profiles.profileFor(stream));
    return job;
  }

  /** Chooses a stream's profile (persisted); an active job restarts so the playlist shows the new ladder. */
  async setProfile(stream: string, profileName: string): Promise<Profile> {
    const profile = this.opts.profiles.setProfileFor(stream, profileName);
    const job = this.jobs.get(stream);
    if (job?.active) await job.restart(profile);
    return profile;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.jobs.values()].map((job) => job.close()));
  }

  private createJob(stream: string, profile: Profile, input: InputSource, renditions: RenditionOutput | undefined): TranscodeJob {
    const previous = this.jobs.get(stream);
    if (previous) void previous.close();
    const job = new TranscodeJob({
      stream,
      profile,
      input,
      renditions,
      ffmpegPath: this.opts.ffmpegPath,
      inputHost: this.opts.inputHost,
      createPackager: () => this.opts.createPackager(stream),
      log: this.opts.log,
      ...this.opts.jobDefaults,
    });
    job.on('state', (next, previousState) => {
      // Given up after its crashes: another transcoder may have better luck.
      if (next === 'failed') this.releaseClaim(stream);
      this.emit('state', stream, next, previousState);
    });
    this.jobs.set(stream, job);
    return job;
  }

  private releaseClaim(stream: string, streamId = this.jobStreamIds.get(stream)): void {
    if (!this.opts.claims || !streamId) return;
    const job = this.jobs.get(stream);
    // Started again meanwhile (the stream came back): the claim is the new run's.
    if (job?.active && !job.isStopping) return;
    this.opts.claims.release({ streamId, name: stream });
  }
}
