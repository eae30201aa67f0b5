/**
 * Camera/screen track → WebCodecs H.264 (Constrained Baseline, Annex B with SPS/PPS in band,
 * realtime) → encoded frames. Keyframes every `keyframeIntervalMs` and whenever asked
 * (`requestKeyframe`: a new subscriber, or the ingest's back channel when a viewer joins).
 * Client-only.
 */
import { constrainedBaselineCodec } from './h264-level';
import { TrackEncodeLoop } from './track-encode-loop';

export interface EncodedFrame {
  /** Capture time on the page's clock (`performance.now()`), µs, whatever the track's own clock (TrackEncodeLoop). */
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

export class VideoEncodeLoop extends TrackEncodeLoop<VideoFrame> {
  private info: VideoTrackInfo | undefined;
  private lastKeyframeUs = -Infinity;
  private keyframeWanted = true;
  /** Frames encoded and dropped (encoder behind), for the page's figures. */
  readonly counters = { frames: 0, bytes: 0, dropped: 0 };

  constructor(
    private readonly track: MediaStreamTrack,
    private readonly options: VideoEncodeOptions,
  ) {
    super(options.onError);
    // One frame kept: a live encoder that falls behind drops old frames rather than add latency.
    void this.run(track, 1);
  }

  get trackInfo(): VideoTrackInfo | undefined {
    return this.info;
  }

  requestKeyframe(): void {
    this.keyframeWanted = true;
  }

  protected handle(frame: VideoFrame): void {
    this.encode(frame, this.track);
  }

  private encode(frame: VideoFrame, track: MediaStreamTrack): void {
    // H.264 needs even dimensions (4:2:0); a screen can be any size.
    const width = frame.displayWidth & ~1;
    const height = frame.displayHeight & ~1;
    if (width < 16 || height < 16) return;
    if (!this.encoder || !this.info || this.info.width !== width || this.info.height !== height) this.configure(width, height, track);
    const encoder = this.encoder as VideoEncoder;
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
        this.options.onFrame({ timestampUs: this.pageTimeUs(chunk.timestamp), keyframe: chunk.type === 'key', data }, info);
      },
      error: (error) => this.fail(error),
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
