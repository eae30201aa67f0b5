/** Microphone track → WebCodecs Opus (20 ms frames) → encoded frames. Client-only. */
import { readTrackFrames } from './track-processor';
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

export class AudioEncodeLoop {
  private encoder: AudioEncoder | undefined;
  private info: AudioTrackInfo | undefined;
  private closed = false;
  private reader: ReadableStreamDefaultReader<AudioData> | undefined;
  /** Page clock − the track's clock, µs (see EncodedFrame.timestampUs). */
  private clockOffsetUs: number | undefined;
  readonly counters = { frames: 0, bytes: 0 };

  constructor(
    track: MediaStreamTrack,
    private readonly options: AudioEncodeOptions,
  ) {
    void this.run(track);
  }

  get trackInfo(): AudioTrackInfo | undefined {
    return this.info;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.reader?.cancel().catch(() => undefined);
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
  }

  private async run(track: MediaStreamTrack): Promise<void> {
    try {
      // Audio is never dropped: a gap is heard. The reader keeps up easily (50 buffers/s).
      this.reader = readTrackFrames<AudioData>(track, 10);
      for (;;) {
        const { value: data, done } = await this.reader.read();
        if (done || !data) return;
        if (this.closed) {
          data.close();
          return;
        }
        this.clockOffsetUs ??= performance.now() * 1000 - data.timestamp;
        try {
          if (!this.encoder || !this.info || this.info.sampleRate !== data.sampleRate || this.info.numberOfChannels !== data.numberOfChannels) this.configure(data);
          this.encoder!.encode(data);
        } finally {
          data.close();
        }
      }
    } catch (error) {
      if (!this.closed) this.options.onError(error instanceof Error ? error : new Error(String(error)));
    }
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
        this.options.onFrame({ timestampUs: chunk.timestamp + (this.clockOffsetUs ?? 0), keyframe: true, data: bytes }, info);
      },
      error: (error) => {
        if (!this.closed) this.options.onError(error);
      },
    });
    // 20 ms frames, as WebRTC sends them (RFC 7587 §4.2 allows 2.5–120 ms; 20 is the norm).
    encoder.configure({ codec: 'opus', sampleRate: info.sampleRate, numberOfChannels: info.numberOfChannels, bitrate: info.bitrate, opus: { frameDuration: 20_000 } } as AudioEncoderConfig);
    this.encoder = encoder;
    this.info = info;
  }
}
