/**
 * The LL-HLS packager of one live stream. ffmpeg 5.1 cannot write LL-HLS parts, so ffmpeg
 * writes fragmented MP4 per rendition and this class cuts it:
 *
 *   ffmpeg stdout ──push()──▶ Rendition: BoxSplitter → parseMoov/parseMoof → PartCutter
 *                                 └─▶ parts + segments in memory (rolling window), segments on disk
 *   HlsOrigin (HTTP) ──▶ playlists rendered from snapshots; blocking requests wait on `waitFor`
 *
 * Ownership: HlsPackager → Rendition. `close()` is safe twice and closes the renditions.
 *
 * What ffmpeg should write per rendition (one file: H.264, or AAC alone for the audio rendition):
 *   -f mp4 -movflags +frag_keyframe+empty_moov+default_base_moof+frag_every_frame pipe:N
 * with keyframes every `segmentTargetSec` (`-g`/`-force_key_frames`, `-sc_threshold 0`) and no
 * B-frames. Fragments must not be longer than the part target: one per frame is best;
 * `-frag_duration` works when it is at most the part target (a longer fragment becomes a part
 * longer than PART-TARGET, logged once as a warning).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '@onair/service/logger';
import { DiskStore } from './disk-store';
import type { RenditionReport } from './media-playlist';
import { type AudioRenditionInfo, renderMultivariantPlaylist, type VariantInfo } from './multivariant-playlist';
import { type PlaylistPosition, Rendition, type RenditionOptions, type RenditionStats, type RenditionWriter } from './rendition';

export type { PlaylistPosition, RenditionWriter } from './rendition';

export interface HlsPackagerOptions {
  /** Stream name, as in `/hls/<stream>/…`. */
  stream: string;
  /** Disk root for this stream's files; each rendition gets a sub-directory. */
  dir: string;
  /** Longest part, seconds. Default 0.2 (Apple's 1 s segment / 200 ms part pattern). */
  partTargetSec?: number;
  /** Shortest segment, seconds; segments start at the first keyframe past it. Default 1 (one GOP). */
  segmentTargetSec?: number;
  /** Complete segments listed in each media playlist. Default 6. */
  windowSegments?: number;
  /** Complete segments kept (memory and disk) past the playlist window. Default 3. */
  extraSegments?: number;
  /** How long a blocking request may wait, seconds. Default three target durations (§6.2.5.2). */
  blockingTimeoutSec?: number;
  /** Write segments and plain playlists under `dir`. Default true. */
  writeToDisk?: boolean;
  /**
   * Carry on a playlist another producer left (a transcoder that died, in a cluster): media
   * sequence numbers start at `nextMsn` and the first segment is a discontinuity, so a player
   * reloading the same URL sees one playlist going on (RFC 8216bis §6.2.1, §6.2.2).
   */
  continueFrom?: PlaylistPosition;
  log: Logger;
}

export type WaitResult = 'ready' | 'timeout' | 'closed';

/** The GROUP-ID of the stream's one audio rendition. */
const AUDIO_GROUP_ID = 'audio';

interface Waiter {
  check: () => boolean;
  done: (result: WaitResult) => void;
}

export interface HlsPackagerStats {
  stream: string;
  epoch: string;
  ended: boolean;
  waiters: number;
  renditions: RenditionStats[];
}

export class HlsPackager {
  readonly stream: string;
  /** Part of every file name, so a restarted stream never reuses a name a CDN has cached. */
  readonly epoch: string;
  readonly partTargetSec: number;
  readonly segmentTargetSec: number;
  private readonly renditionMap = new Map<string, Rendition>();
  private readonly waiters = new Set<Waiter>();
  private readonly disk: DiskStore | undefined;
  private readonly log: Logger;
  private state: 'live' | 'ended' | 'closed' = 'live';

  constructor(private readonly opts: HlsPackagerOptions) {
    this.stream = opts.stream;
    this.partTargetSec = opts.partTargetSec ?? 0.2;
    this.segmentTargetSec = opts.segmentTargetSec ?? 1;
    if (!(this.partTargetSec > 0) || !(this.segmentTargetSec >= this.partTargetSec)) {
      throw new RangeError(`partTargetSec (${this.partTargetSec}) must be > 0 and at most segmentTargetSec (${this.segmentTargetSec})`);
    }
    this.epoch = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    this.log = opts.log.child({ component: 'hls', stream: opts.stream });
    this.disk = opts.writeToDisk === false ? undefined : new DiskStore(opts.dir, this.log);
  }

  addRendition(r: RenditionOptions): RenditionWriter {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(r.id)) throw new RangeError(`rendition id "${r.id}" must be 1–64 of [A-Za-z0-9_-]`);
    if (this.renditionMap.has(r.id)) throw new RangeError(`rendition "${r.id}" already exists on stream ${this.stream}`);
    if (r.role === 'audio' && this.audioRendition()) throw new RangeError(`stream ${this.stream} has an audio rendition already`);
    const rendition = new Rendition(r, {
      epoch: this.epoch,
      partTargetSec: this.partTargetSec,
      segmentTargetSec: this.segmentTargetSec,
      windowSegments: this.opts.windowSegments ?? 6,
      extraSegments: this.opts.extraSegments ?? 3,
      disk: this.disk,
      log: this.log,
      onChange: () => this.notify(),
      continueFrom: this.opts.continueFrom,
    });
    this.renditionMap.set(r.id, rendition);
    return rendition;
  }

  /**
   * Stops serving a rendition that will get no media (the audio of a publisher that sends none):
   * the multivariant playlist no longer waits for it or names it.
   */
  removeRendition(id: string): void {
    const rendition = this.renditionMap.get(id);
    if (!rendition) return;
    this.renditionMap.delete(id);
    rendition.close();
    this.notify();
  }

  /** ffmpeg restarted: every rendition closes its segment; the next media carries EXT-X-DISCONTINUITY. */
  discontinuity(): void {
    for (const rendition of this.renditionMap.values()) rendition.discontinuity();
  }

  /** The stream ended: EXT-X-ENDLIST everywhere, blocked requests answered. */
  end(): void {
    if (this.state !== 'live') return;
    this.state = 'ended';
    for (const rendition of this.renditionMap.values()) rendition.end();
    this.writeMultivariantToDisk();
    this.notify();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const rendition of this.renditionMap.values()) rendition.close();
    for (const waiter of [...this.waiters]) waiter.done('closed');
    this.waiters.clear();
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  get ended(): boolean {
    return this.state !== 'live';
  }

  rendition(id: string): Rendition | undefined {
    return this.renditionMap.get(id);
  }

  renditions(): Rendition[] {
    return [...this.renditionMap.values()];
  }

  /** Longest a blocking request waits: three target durations unless configured (§6.2.5.2). */
  blockingTimeoutMs(rendition?: Rendition): number {
    const target = rendition?.targetDuration ?? Math.max(1, Math.round(this.segmentTargetSec));
    return (this.opts.blockingTimeoutSec ?? 3 * target) * 1000;
  }

  /**
   * Resolves `ready` as soon as `check()` holds (checked now and after every change), `timeout`
   * after `timeoutMs`, `closed` when the packager closes or `signal` aborts (client went away).
   */
  waitFor(check: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<WaitResult> {
    if (check()) return Promise.resolve('ready');
    if (this.state === 'closed' || signal?.aborted) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const waiter: Waiter = {
        check,
        done: (result) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(waiter);
          resolve(result);
        },
      };
      const onAbort = () => waiter.done('closed');
      const timer = setTimeout(() => waiter.done('timeout'), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Rendition reports for every rendition but `except` (§4.4.5.4), URIs relative to a media playlist. */
  renditionReports(except: string): RenditionReport[] {
    const reports: RenditionReport[] = [];
    for (const rendition of this.renditionMap.values()) {
      if (rendition.id === except) continue;
      const last = rendition.lastPosition;
      if (!last) continue;
      reports.push({ uri: `../${rendition.id}/index.m3u8`, lastMsn: last.msn, lastPart: last.part });
    }
    return reports;
  }

  /**
   * Variants of the renditions whose init segment is known (CODECS needs it), each with the audio
   * rendition once its init segment is known: its codec and bit rate count in the variant's
   * (§4.4.6.2).
   */
  variants(prefix = ''): VariantInfo[] {
    const audio = this.audioRendition();
    const audioInit = audio?.currentInit;
    const variants: VariantInfo[] = [];
    for (const rendition of this.renditionMap.values()) {
      const init = rendition.currentInit;
      if (!init || rendition === audio) continue;
      const video = init.info.tracks.find((track) => track.kind === 'video');
      const { options } = rendition;
      const codecs = init.info.tracks.filter((track) => track.kind !== 'other').map((track) => track.codec);
      let bandwidth = Math.max(options.bandwidth, rendition.bitrate.peak ?? 0);
      let averageBandwidth = rendition.bitrate.average;
      if (audio && audioInit) {
        codecs.push(...audioInit.info.tracks.filter((track) => track.kind === 'audio').map((track) => track.codec));
        bandwidth += Math.max(audio.options.bandwidth, audio.bitrate.peak ?? 0);
        averageBandwidth = averageBandwidth === undefined || audio.bitrate.average === undefined ? undefined : averageBandwidth + audio.bitrate.average;
      }
      variants.push({
        uri: `${prefix}${rendition.id}/index.m3u8`,
        bandwidth,
        averageBandwidth,
        codecs,
        width: options.width ?? video?.width,
        height: options.height ?? video?.height,
        frameRate: video ? (options.frameRate ?? roundFrameRate(rendition.measuredFrameRate)) : undefined,
        ...(audio && audioInit ? { audioGroup: AUDIO_GROUP_ID } : {}),
      });
    }
    return variants;
  }

  renderMultivariant(): string {
    const audio = this.audioRendition();
    const media: AudioRenditionInfo[] = audio?.currentInit ? [{ groupId: AUDIO_GROUP_ID, name: 'Audio', uri: `${audio.id}/index.m3u8`, channels: audio.options.channels }] : [];
    return renderMultivariantPlaylist(this.variants(), media);
  }

  /** The stream's audio rendition, if it has one (there is at most one: `addRendition` checks). */
  private audioRendition(): Rendition | undefined {
    for (const rendition of this.renditionMap.values()) if (rendition.options.role === 'audio') return rendition;
    return undefined;
  }

  getStats(): HlsPackagerStats {
    return { stream: this.stream, epoch: this.epoch, ended: this.ended, waiters: this.waiters.size, renditions: this.renditions().map((rendition) => rendition.getStats()) };
  }

  /**
   * Where a successor carries on (all renditions at once: the furthest of them), or undefined
   * before any rendition has media.
   */
  position(): PlaylistPosition | undefined {
    let out: PlaylistPosition | undefined;
    for (const rendition of this.renditionMap.values()) {
      const { nextMsn, discontinuitySeq } = rendition.position;
      if (nextMsn === 0 && !this.opts.continueFrom) continue;
      out = { nextMsn: Math.max(out?.nextMsn ?? 0, nextMsn), discontinuitySeq: Math.max(out?.discontinuitySeq ?? 0, discontinuitySeq) };
    }
    return out;
  }

  /** Resolves once every disk write queued so far is done (tests, shutdown). */
  flushDisk(): Promise<void> {
    return this.disk?.idle() ?? Promise.resolve();
  }

  private notify(): void {
    // close() answers every waiter itself, as closed.
    if (this.state === 'closed') return;
    if (this.state === 'live' && this.renditions().every((rendition) => rendition.currentInit)) this.writeMultivariantToDisk();
    for (const waiter of [...this.waiters]) {
      if (waiter.check()) waiter.done('ready');
    }
  }

  private multivariantWritten = '';

  private writeMultivariantToDisk(): void {
    if (!this.disk) return;
    const text = this.renderMultivariant();
    if (text === this.multivariantWritten || this.variants().length === 0) return;
    this.multivariantWritten = text;
    this.disk.write('index.m3u8', text);
  }
}

/** 29.97002997 → 29.97; a measured rate within 0.1% of a common one snaps to it. */
function roundFrameRate(rate: number | undefined): number | undefined {
  if (rate === undefined || !Number.isFinite(rate) || rate <= 0) return undefined;
  for (const common of [23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60]) if (Math.abs(rate - common) / common < 0.001) return common;
  return Math.round(rate * 1000) / 1000;
}
