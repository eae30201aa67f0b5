/**
 * One rendition of a live stream: takes ffmpeg's fMP4 bytes, keeps the init segment, parts and
 * segments of a rolling window in memory (and segments on disk), and answers the questions the
 * origin asks: what the playlist says now, whether a blocking request can be answered, which
 * bytes a file name refers to.
 *
 * Names are CDN-safe: every URI carries the packager's epoch (a new packager for the same
 * stream never reuses a name), and parts are numbered by one running counter so the preload
 * hint is right whether or not the next part starts a new segment.
 */
import type { Logger } from '@onair/service/logger';
import type { DiskStore } from './disk-store';
import { renderMediaPlaylist, type MediaPlaylistModel, type PlaylistSegment, type RenditionReport } from './media-playlist';
import { BoxSplitter, type TopLevelBox } from './mp4-boxes';
import { parseMoof } from './mp4-fragment';
import { parseMoov, type InitInfo, type TrackInfo } from './mp4-init';
import { PartCutter, type CutEvent } from './part-cutter';

/** What the ffmpeg side feeds: bytes of one fragmented MP4 stream, cut anywhere. */
export interface RenditionWriter {
  push(chunk: Buffer): void;
}

export interface RenditionOptions {
  /** Rendition name as it appears in URLs, e.g. `720p`. */
  id: string;
  /** Declared peak bit rate, bits per second. */
  bandwidth: number;
  width?: number;
  height?: number;
  frameRate?: number;
  /**
   * `audio`: the stream's audio alone, which every variant plays (EXT-X-MEDIA, not a variant of
   * its own). Default `variant`.
   */
  role?: 'variant' | 'audio';
  /** Audio channels (an audio rendition's CHANNELS). */
  channels?: number;
}

export interface RenditionContext {
  epoch: string;
  partTargetSec: number;
  segmentTargetSec: number;
  /** Completed segments listed in the playlist. */
  windowSegments: number;
  /** Completed segments kept beyond the playlist window for clients still fetching them. */
  extraSegments: number;
  disk: DiskStore | undefined;
  log: Logger;
  /** Called after anything a waiter may be waiting for changed. */
  onChange: () => void;
  /** Carry on another packager's playlist (see HlsPackagerOptions.continueFrom). */
  continueFrom?: PlaylistPosition;
}

/** Where a playlist stands: the next media sequence number and the discontinuities so far. */
export interface PlaylistPosition {
  nextMsn: number;
  discontinuitySeq: number;
}

export interface StoredInit {
  version: number;
  data: Buffer;
  info: InitInfo;
}

export interface StoredPart {
  /** Running number over the rendition's life; names the part file. */
  seq: number;
  msn: number;
  index: number;
  data: Buffer;
  duration: number;
  independent: boolean;
  /** `performance.now()` when the part became available. */
  availableAt: number;
}

export interface StoredSegment {
  msn: number;
  parts: StoredPart[];
  duration: number;
  discontinuity: boolean;
  /** Discontinuity tags on this and every earlier segment. */
  discontinuitySeq: number;
  initVersion: number;
  programDateTime: number | undefined;
  complete: boolean;
  /** The whole segment, set when complete. */
  data: Buffer | undefined;
}

export interface RenditionStats {
  id: string;
  initVersion: number | undefined;
  segments: number;
  parts: number;
  lastMsn: number | undefined;
  lastPart: number | undefined;
  bytesIn: number;
  parseErrors: number;
  averageBitrate: number | undefined;
  peakBitrate: number | undefined;
}

export class Rendition implements RenditionWriter {
  private readonly splitter = new BoxSplitter();
  private cutter: PartCutter;
  private readonly log: Logger;
  private ftyp: Buffer | undefined;
  private init: StoredInit | undefined;
  private readonly inits = new Map<number, StoredInit>();
  private timelineTrack: TrackInfo | undefined;
  /** Boxes such as `prft`/`emsg` seen before the next `moof`, and the `moof` awaiting its `mdat`. */
  private preamble: Buffer[] = [];
  private pendingMoof: { data: Buffer; info: ReturnType<typeof parseMoof> } | undefined;
  private dropping = false;
  private mediaSinceInit = false;

  private readonly segments: StoredSegment[] = [];
  private nextMsn = 0;
  private nextPartSeq = 0;
  private pendingDiscontinuity = false;
  private anchor: { wallMs: number; media: number } | undefined;
  private maxSegmentDuration = 0;
  private state: 'live' | 'ended' | 'closed' = 'live';
  /** Bumped on every change a playlist can show (changed()): the key of the rendered playlist below. */
  private version = 0;
  /** The last rendered low-latency playlist, as sent: every blocked reload a part releases gets these bytes. */
  private rendered: { version: number; reports: string; body: Buffer } | undefined;

  private bytesIn = 0;
  private parseErrors = 0;
  private segmentCount = 0;
  private partCount = 0;
  private bitrateBytes = 0;
  private bitrateSeconds = 0;
  private peakBitrate: number | undefined;
  private partOverruns = 0;
  private sampleRate: number | undefined;

  constructor(
    readonly options: RenditionOptions,
    private readonly ctx: RenditionContext,
  ) {
    this.log = ctx.log.child({ rendition: options.id });
    this.cutter = this.newCutter();
    if (ctx.continueFrom) {
      // The first segment follows another producer's last one: a discontinuity (RFC 8216bis §6.2.2).
      this.nextMsn = ctx.continueFrom.nextMsn;
      this.pendingDiscontinuity = true;
    }
  }

  // ---- write side ------------------------------------------------------------------------

  push(chunk: Buffer): void {
    if (this.state !== 'live') return;
    this.bytesIn += chunk.length;
    let input = chunk;
    // Bounded: each failed round drops at least one byte, and a round that succeeds ends it.
    for (let round = 0; round < 64; round++) {
      let boxes: TopLevelBox[];
      try {
        boxes = this.splitter.push(input);
      } catch (error) {
        this.parseErrors++;
        const dropped = this.splitter.resync();
        this.log.warn({ err: error, dropped }, 'hls: malformed fMP4 stream; skipping to the next fragment');
        this.pendingMoof = undefined;
        this.preamble = [];
        input = Buffer.alloc(0);
        continue;
      }
      for (const box of boxes) this.handleBox(box);
      return;
    }
  }

  /** The producer restarted: close what is in progress; the next media starts a discontinuity. */
  discontinuity(): void {
    if (this.state !== 'live') return;
    this.apply(this.cutter.flush());
    this.splitter.reset();
    this.cutter = this.newCutter();
    this.pendingMoof = undefined;
    this.preamble = [];
    this.ftyp = undefined;
    this.anchor = undefined;
    this.dropping = false;
    this.mediaSinceInit = false;
    if (this.segments.length > 0) this.pendingDiscontinuity = true;
    this.changed();
  }

  end(): void {
    if (this.state !== 'live') return;
    this.apply(this.cutter.flush());
    this.state = 'ended';
    this.writePlaylistToDisk();
    this.changed();
  }

  close(): void {
    if (this.state === 'closed') return;
    if (this.state === 'live') this.apply(this.cutter.flush());
    this.state = 'closed';
    this.changed();
  }

  private newCutter(): PartCutter {
    return new PartCutter({ partTargetSec: this.ctx.partTargetSec, segmentTargetSec: this.ctx.segmentTargetSec, audio: this.options.role === 'audio' });
  }

  private handleBox(box: TopLevelBox): void {
    switch (box.type) {
      case 'ftyp':
        if (this.mediaSinceInit) this.implicitDiscontinuity();
        this.ftyp = box.data;
        return;
      case 'moov':
        if (this.mediaSinceInit) this.implicitDiscontinuity();
        this.handleMoov(box.data);
        return;
      case 'moof':
        this.pendingMoof = undefined;
        if (!this.init || this.dropping) return;
        try {
          this.pendingMoof = { data: box.data, info: parseMoof(box.data, this.init.info) };
        } catch (error) {
          this.parseErrors++;
          this.log.warn({ err: error }, 'hls: dropping a malformed fragment');
          this.preamble = [];
        }
        return;
      case 'mdat':
        if (this.pendingMoof) this.handleFragment(this.pendingMoof.data, this.pendingMoof.info, box.data);
        this.pendingMoof = undefined;
        return;
      case 'prft':
      case 'emsg':
        if (this.init) this.preamble.push(box.data);
        return;
      default:
        // mfra (written when ffmpeg ends), free, sidx, ...: nothing a live origin serves.
        return;
    }
  }

  private implicitDiscontinuity(): void {
    this.log.info('hls: a new init segment arrived mid-stream; treating it as a discontinuity');
    const ftyp = this.ftyp;
    this.discontinuity();
    this.ftyp = ftyp;
  }

  private handleMoov(moov: Buffer): void {
    let info: InitInfo;
    try {
      info = parseMoov(moov);
    } catch (error) {
      this.parseErrors++;
      this.dropping = true;
      this.log.error({ err: error }, 'hls: unreadable init segment; dropping media until the next one');
      return;
    }
    this.dropping = false;
    const timeline = info.tracks.find((track) => track.kind === 'video') ?? info.tracks.find((track) => track.kind === 'audio');
    if (!timeline) {
      this.dropping = true;
      this.log.error({ tracks: info.tracks.map((track) => track.sampleEntry) }, 'hls: init segment has neither video nor audio');
      return;
    }
    this.timelineTrack = timeline;
    const data = this.ftyp ? Buffer.concat([this.ftyp, moov]) : moov;
    if (this.init && this.init.data.equals(data)) return;
    const version = (this.init?.version ?? -1) + 1;
    this.init = { version, data, info };
    this.inits.set(version, this.init);
    this.ctx.disk?.write(`${this.options.id}/${this.initName(version)}`, data);
    this.log.info({ version, codecs: info.tracks.map((track) => track.codec) }, 'hls: init segment');
    this.changed();
  }

  private handleFragment(moof: Buffer, info: ReturnType<typeof parseMoof>, mdat: Buffer): void {
    const timeline = this.timelineTrack!;
    const track = info.tracks.find((candidate) => candidate.trackId === timeline.id && candidate.sampleCount > 0);
    const data = [...this.preamble, moof, mdat];
    this.preamble = [];
    if (track && timeline.kind === 'video' && track.duration > 0) this.sampleRate = (track.sampleCount * timeline.timescale) / track.duration;
    this.mediaSinceInit = true;
    this.apply(
      this.cutter.push({
        data,
        timeline: track !== undefined,
        duration: track ? track.duration / timeline.timescale : 0,
        startTime: track?.baseMediaDecodeTime !== undefined ? track.baseMediaDecodeTime / timeline.timescale : undefined,
        sync: track?.startsWithSync ?? false,
      }),
    );
  }

  private apply(events: CutEvent[]): void {
    for (const event of events) {
      if (event.type === 'part') this.addPart(event.data, event.duration, event.independent, event.startTime);
      else this.completeSegment();
    }
  }

  private addPart(data: Buffer, duration: number, independent: boolean, startTime: number | undefined): void {
    const now = Date.now();
    let segment = this.segments.at(-1);
    if (!segment || segment.complete) {
      if (!this.anchor && startTime !== undefined) this.anchor = { wallMs: now - duration * 1000, media: startTime };
      const previous = this.segments.at(-1);
      const discontinuity = this.pendingDiscontinuity;
      this.pendingDiscontinuity = false;
      segment = {
        msn: this.nextMsn++,
        parts: [],
        duration: 0,
        discontinuity,
        discontinuitySeq: (previous?.discontinuitySeq ?? this.ctx.continueFrom?.discontinuitySeq ?? 0) + (discontinuity ? 1 : 0),
        initVersion: this.init?.version ?? 0,
        programDateTime: this.anchor && startTime !== undefined ? this.anchor.wallMs + (startTime - this.anchor.media) * 1000 : now - duration * 1000,
        complete: false,
        data: undefined,
      };
      this.segments.push(segment);
    }
    if (duration > this.ctx.partTargetSec + 0.001) {
      this.partOverruns++;
      if (this.partOverruns === 1) this.log.warn({ duration, partTarget: this.ctx.partTargetSec }, 'hls: a fragment is longer than the part target; ask ffmpeg for shorter fragments');
    }
    segment.parts.push({ seq: this.nextPartSeq++, msn: segment.msn, index: segment.parts.length, data, duration, independent, availableAt: performance.now() });
    segment.duration += duration;
    this.partCount++;
    this.changed();
  }

  private completeSegment(): void {
    const segment = this.segments.at(-1);
    if (!segment || segment.complete) return;
    segment.complete = true;
    const data = Buffer.concat(segment.parts.map((part) => part.data));
    // Parts become views into the segment, so memory holds each byte once.
    let offset = 0;
    for (const part of segment.parts) {
      const length = part.data.length;
      part.data = data.subarray(offset, offset + length);
      offset += length;
    }
    segment.data = data;
    this.segmentCount++;
    this.maxSegmentDuration = Math.max(this.maxSegmentDuration, segment.duration);
    if (segment.duration > 0) {
      const bitrate = (data.length * 8) / segment.duration;
      this.peakBitrate = Math.max(this.peakBitrate ?? 0, bitrate);
      this.bitrateBytes += data.length;
      this.bitrateSeconds += segment.duration;
    }
    this.ctx.disk?.write(`${this.options.id}/${this.segmentName(segment.msn)}`, data);
    this.trim();
    this.writePlaylistToDisk();
    this.changed();
  }

  private trim(): void {
    const keep = this.ctx.windowSegments + this.ctx.extraSegments;
    let complete = this.segments.filter((segment) => segment.complete).length;
    while (complete > keep && this.segments[0]?.complete) {
      const old = this.segments.shift()!;
      complete--;
      this.ctx.disk?.remove(`${this.options.id}/${this.segmentName(old.msn)}`);
    }
    // Forget init versions no kept segment refers to (the current one always stays).
    const used = new Set(this.segments.map((segment) => segment.initVersion));
    for (const version of this.inits.keys()) {
      if (version !== this.init?.version && !used.has(version)) {
        this.inits.delete(version);
        this.ctx.disk?.remove(`${this.options.id}/${this.initName(version)}`);
      }
    }
  }

  private writePlaylistToDisk(): void {
    if (!this.ctx.disk || !this.init) return;
    this.ctx.disk.write(`${this.options.id}/index.m3u8`, renderMediaPlaylist(this.playlistModel({ lowLatency: false, renditionReports: [] })));
  }

  // ---- read side -------------------------------------------------------------------------

  get id(): string {
    return this.options.id;
  }

  get ended(): boolean {
    return this.state !== 'live';
  }

  get currentInit(): StoredInit | undefined {
    return this.init;
  }

  /** EXT-X-TARGETDURATION: the segment target, raised if a segment ever ran longer (§4.4.3.1). */
  get targetDuration(): number {
    return Math.max(1, Math.round(this.ctx.segmentTargetSec), Math.round(this.maxSegmentDuration));
  }

  /** Where the newest part is: the segment holding it and its index there. */
  get lastPosition(): { msn: number; part: number } | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const segment = this.segments[i]!;
      if (segment.parts.length > 0) return { msn: segment.msn, part: segment.parts.length - 1 };
    }
    return undefined;
  }

  /** Where a successor would carry on: the next media sequence number and the discontinuities so far. */
  get position(): PlaylistPosition {
    return { nextMsn: this.nextMsn, discontinuitySeq: this.segments.at(-1)?.discontinuitySeq ?? this.ctx.continueFrom?.discontinuitySeq ?? 0 };
  }

  get lastCompleteMsn(): number | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) if (this.segments[i]!.complete) return this.segments[i]!.msn;
    return undefined;
  }

  get hasMedia(): boolean {
    return this.lastPosition !== undefined;
  }

  /** Sequence number the next part will get (what EXT-X-PRELOAD-HINT names). */
  get nextPartSequence(): number {
    return this.nextPartSeq;
  }

  /**
   * Whether a playlist now satisfies `_HLS_msn=msn[&_HLS_part=part]` (RFC 8216bis §6.2.5.2):
   * segment `msn` complete, or part `part` of segment `msn` (or any later part) present.
   */
  satisfies(msn: number, part: number | undefined): boolean {
    if (this.state !== 'live') return true;
    if (part === undefined) return (this.lastCompleteMsn ?? -1) >= msn;
    const last = this.lastPosition;
    if (!last) return false;
    return last.msn > msn || (last.msn === msn && last.part >= part);
  }

  /**
   * A directive too far ahead to wait for (§6.2.5.2): `msn` more than two past the last segment,
   * or `part` beyond the Advance Part Limit (3 / part target parts when the target is under 1 s).
   */
  isTooFarAhead(msn: number, part: number | undefined): boolean {
    const last = this.lastPosition ?? { msn: -1, part: -1 };
    if (msn > last.msn + 2) return true;
    if (part === undefined) return false;
    const limit = this.ctx.partTargetSec < 1 ? Math.ceil(3 / this.ctx.partTargetSec) : 3;
    if (msn === last.msn) return part - last.part > limit;
    if (msn > last.msn) return part >= limit;
    return false;
  }

  playlistModel(options: { lowLatency: boolean; renditionReports: RenditionReport[] }): MediaPlaylistModel {
    const targetDuration = this.targetDuration;
    const listed = this.listedSegments();
    // Parts are listed for segments ending within three target durations of the live edge
    // (§4.4.4.9 lets servers drop older ones).
    let fromEnd = 0;
    const withParts = new Set<number>();
    for (let i = listed.length - 1; i >= 0; i--) {
      if (fromEnd >= 3 * targetDuration) break;
      withParts.add(listed[i]!.msn);
      fromEnd += listed[i]!.duration;
    }
    const segments: PlaylistSegment[] = listed.map((segment, i) => {
      const previous = listed[i - 1];
      const out: PlaylistSegment = {
        msn: segment.msn,
        duration: segment.duration,
        discontinuity: segment.discontinuity,
        programDateTime: segment.programDateTime,
      };
      if (segment.complete) out.uri = this.segmentName(segment.msn);
      // Repeated after a discontinuity even when unchanged: some clients reset their state there.
      if (!previous || previous.initVersion !== segment.initVersion || segment.discontinuity) out.map = this.initName(segment.initVersion);
      if (withParts.has(segment.msn)) out.parts = segment.parts.map((part) => ({ duration: part.duration, uri: this.partName(part.seq), independent: part.independent }));
      return out;
    });
    const first = listed[0];
    return {
      lowLatency: options.lowLatency,
      targetDuration,
      partTarget: this.ctx.partTargetSec,
      mediaSequence: first?.msn ?? this.nextMsn,
      discontinuitySequence: first ? first.discontinuitySeq - (first.discontinuity ? 1 : 0) : (this.segments.at(-1)?.discontinuitySeq ?? this.ctx.continueFrom?.discontinuitySeq ?? 0),
      segments,
      preloadHintUri: this.state === 'live' ? this.partName(this.nextPartSeq) : undefined,
      renditionReports: options.renditionReports,
      ended: this.state !== 'live',
    };
  }

  renderPlaylist(lowLatency: boolean, renditionReports: RenditionReport[]): string {
    return renderMediaPlaylist(this.playlistModel({ lowLatency, renditionReports }));
  }

  /**
   * The low-latency playlist as UTF-8, rendered once per change (and per rendition reports):
   * when a part lands, every blocked reload for it is answered at once, with the same text, and
   * rendering it per request was most of what an answer cost beyond HTTP itself.
   */
  playlistBody(renditionReports: RenditionReport[]): Buffer {
    const reports = renditionReports.map((r) => `${r.uri} ${r.lastMsn} ${r.lastPart}`).join('\n');
    const cached = this.rendered;
    if (cached && cached.version === this.version && cached.reports === reports) return cached.body;
    const body = Buffer.from(this.renderPlaylist(true, renditionReports), 'utf8');
    this.rendered = { version: this.version, reports, body };
    return body;
  }

  /** Every change a reader may see goes through here: it invalidates the rendered playlist and wakes blocked requests. */
  private changed(): void {
    this.version++;
    this.ctx.onChange();
  }

  /** The last `windowSegments` complete segments and the one in progress. */
  private listedSegments(): StoredSegment[] {
    const complete = this.segments.filter((segment) => segment.complete);
    const first = complete.length > this.ctx.windowSegments ? complete[complete.length - this.ctx.windowSegments]! : this.segments[0];
    return first ? this.segments.filter((segment) => segment.msn >= first.msn) : [];
  }

  findInit(version: number): StoredInit | undefined {
    return this.inits.get(version);
  }

  findSegment(msn: number): StoredSegment | undefined {
    return this.segments.find((segment) => segment.msn === msn);
  }

  findPart(seq: number): StoredPart | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const segment = this.segments[i]!;
      const first = segment.parts[0];
      if (first && first.seq <= seq) return segment.parts[seq - first.seq];
    }
    return undefined;
  }

  initName(version: number): string {
    return `init-${this.ctx.epoch}-${version}.mp4`;
  }

  segmentName(msn: number): string {
    return `seg-${this.ctx.epoch}-${msn}.m4s`;
  }

  partName(seq: number): string {
    return `part-${this.ctx.epoch}-${seq}.m4s`;
  }

  /** Frames per second of the video track, as the newest fragment's sample durations say. */
  get measuredFrameRate(): number | undefined {
    return this.sampleRate;
  }

  /** Average and peak bit rate of completed segments, bits per second. */
  get bitrate(): { average: number | undefined; peak: number | undefined } {
    return { average: this.bitrateSeconds > 0 ? (this.bitrateBytes * 8) / this.bitrateSeconds : undefined, peak: this.peakBitrate };
  }

  getStats(): RenditionStats {
    const last = this.lastPosition;
    return {
      id: this.options.id,
      initVersion: this.init?.version,
      segments: this.segmentCount,
      parts: this.partCount,
      lastMsn: last?.msn,
      lastPart: last?.part,
      bytesIn: this.bytesIn,
      parseErrors: this.parseErrors,
      averageBitrate: this.bitrate.average,
      peakBitrate: this.bitrate.peak,
    };
  }
}
