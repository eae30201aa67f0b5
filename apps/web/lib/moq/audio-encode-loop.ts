/** Microphone track → WebCodecs Opus (20 ms frames) → encoded frames. Client-only. */
import { TrackEncodeLoop } from './track-encode-loop';
import type { EncodedFrame } from './video-encode-loop';

export interface AudioTrackInfo {
  codec: 'opus';
  sampleRate: number;
  numberOfChannels: number;
  bitrate: number;
}

export interface AudioEncodeOptions {
  /** Target bitrate, bit/s. */
  bitrate: number;
  onFrame(frame: EncodedFrame, info: AudioTrackInfo): void;
  onError(error: Error): void;
}

export class AudioEncodeLoop extends TrackEncodeLoop<AudioData> {
  private info: AudioTrackInfo | undefined;
  readonly counters = { frames: 0, bytes: 0 };

  constructor(
    track: MediaStreamTrack,
    private readonly options: AudioEncodeOptions,
  ) {
    super(options.onError);
    // Audio is never dropped: a gap is heard. The reader keeps up easily (50 buffers/s).
    void this.run(track, 10);
  }

  get trackInfo(): AudioTrackInfo | undefined {
    return this.info;
  }

  protected handle(data: AudioData): void {
    if (!this.encoder || !this.info || this.info.sampleRate !== data.sampleRate || this.info.numberOfChannels !== data.numberOfChannels) this.configure(data);
    (this.encoder as AudioEncoder).encode(data);
  }

  private configure(data: AudioData): void {
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
    const info: AudioTrackInfo = { codec: 'opus', sampleRate: data.sampleRate, numberOfChannels: data.numberOfChannels, bitrate: this.options.bitrate };
    const encoder = new AudioEncoder({
      output: (chunk) => {
        const bytes = new Uint8Array(chunk.byteLength);
        chunk.copyTo(bytes);
        this.counters.frames += 1;
        this.counters.bytes += bytes.byteLength;
        this.options.onFrame({ timestampUs: this.pageTimeUs(chunk.timestamp), keyframe: true, data: bytes }, info);
      },
      error: (error) => this.fail(error),
    });
    // 20 ms frames, as WebRTC sends them (RFC 7587 §4.2 allows 2.5–120 ms; 20 is the norm).
    encoder.configure({ codec: 'opus', sampleRate: info.sampleRate, numberOfChannels: info.numberOfChannels, bitrate: info.bitrate, opus: { frameDuration: 20_000 } } as AudioEncoderConfig);
    this.encoder = encoder;
    this.info = info;
  }
}
