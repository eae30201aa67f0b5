/**
 * Camera/screen track → WebCodecs H.264 (Constrained Baseline, Annex B with SPS/PPS in band,
 * realtime) → encoded frames. Keyframes every `keyframeIntervalMs` and whenever asked
 * (`requestKeyframe`: a new subscriber, or the ingest's back channel when a viewer joins).
 * Client-only.
 */
import { constrainedBaselineCodec } from './h264-level';
import { readTrackFrames } from './track-processor';

export interface EncodedFrame {
  /**
   * Capture time on the page's clock (`performance.now()`), µs. Chromium stamps camera frames on
   * the system's monotonic clock and microphone buffers on the page's (measured: 6 669 s vs 2 s
   * apart), so each loop maps its track's timestamps onto the page's clock once, at its first
   * frame; the ingest's A/V sync relies on both kinds sharing one clock.
   */
  timestampUs: number;
  keyframe: boolean;
  data: Uint8Array;
}

export interface VideoTrackInfo {
  codec: string;
  width: number;
  height: number;
  framerate: number;
  bitrate: number;
}

export interface VideoEncodeOptions {
  /** Target bitrate, bit/s. */
  bitrate: number;
  /** Longest time between keyframes, ms (the ingest and the LL-HLS ladder expect 1 s GOPs). */
  keyframeIntervalMs: number;
  onFrame(frame: EncodedFrame, info: VideoTrackInfo): void;
  onError(error: Error): void;
}

/** Frames waiting in the encoder beyond which new ones are dropped (realtime: no backlog). */
const MAX_ENCODE_QUEUE = 2;

export class VideoEncodeLoop {
  private encoder: VideoEncoder | undefined;
  private info: VideoTrackInfo | undefined;
  private lastKeyframeUs = -Infinity;
  private keyframeWanted = true;
  private closed = false;
  private reader: ReadableStreamDefaultReader<VideoFrame> | undefined;
  /** Page clock − the track's clock, µs: set at the first frame read. */
  private clockOffsetUs: number | undefined;
  /** Frames encoded and dropped (encoder behind), for the page's figures. */
  readonly counters = { frames: 0, bytes: 0, dropped: 0 };

  constructor(
    track: MediaStreamTrack,
    private readonly options: VideoEncodeOptions,
  ) {
    void this.run(track);
  }

  get trackInfo(): VideoTrackInfo | undefined {
    return this.info;
  }

  requestKeyframe(): void {
    this.keyframeWanted = true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.reader?.cancel().catch(() => undefined);
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
  }

  private async run(track: MediaStreamTrack): Promise<void> {
    try {
      this.reader = readTrackFrames<VideoFrame>(track, 1);
      for (;;) {
        const { value: frame, done } = await this.reader.read();
        if (done || !frame) return;
        if (this.closed) {
          frame.close();
          return;
        }
        this.clockOffsetUs ??= performance.now() * 1000 - frame.timestamp;
        try {
          this.encode(frame, track);
        } finally {
          frame.close();
        }
      }
    } catch (error) {
      if (!this.closed) this.options.onError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private encode(frame: VideoFrame, track: MediaStreamTrack): void {
    // H.264 needs even dimensions (4:2:0); a screen can be any size.
    const width = frame.displayWidth & ~1;
    const height = frame.displayHeight & ~1;
    if (width < 16 || height < 16) return;
    if (!this.encoder || !this.info || this.info.width !== width || this.info.height !== height) this.configure(width, height, track);
    const encoder = this.encoder!;
    if (encoder.encodeQueueSize > MAX_ENCODE_QUEUE) {
      this.counters.dropped += 1;
      return;
    }
    const due = frame.timestamp - this.lastKeyframeUs >= this.options.keyframeIntervalMs * 1000;
    const keyFrame = this.keyframeWanted || due;
    if (keyFrame) {
      this.keyframeWanted = false;
      this.lastKeyframeUs = frame.timestamp;
    }
    encoder.encode(frame, { keyFrame });
  }

  private configure(width: number, height: number, track: MediaStreamTrack): void {
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
    const framerate = Math.round(track.getSettings().frameRate ?? 30);
    const info: VideoTrackInfo = { codec: constrainedBaselineCodec(width, height, framerate), width, height, framerate, bitrate: this.options.bitrate };
    const encoder = new VideoEncoder({
      output: (chunk) => {
        const data = new Uint8Array(chunk.byteLength);
        chunk.copyTo(data);
        this.counters.frames += 1;
        this.counters.bytes += data.byteLength;
        this.options.onFrame({ timestampUs: chunk.timestamp + (this.clockOffsetUs ?? 0), keyframe: chunk.type === 'key', data }, info);
      },
      error: (error) => {
        if (!this.closed) this.options.onError(error);
      },
    });
    encoder.configure({
      codec: info.codec,
      width,
      height,
      framerate,
      bitrate: info.bitrate,
      bitrateMode: 'variable',
      latencyMode: 'realtime',
      hardwareAcceleration: 'no-preference',
      avc: { format: 'annexb' },
    });
    this.encoder = encoder;
    this.info = info;
    this.keyframeWanted = true;
  }
}
