/**
 * What the video and audio encode loops share: read a capture track's raw frames
 * (MediaStreamTrackProcessor), map their timestamps onto the page's clock, hand each to the
 * subclass's encoder, close frames and encoder, report a failure once. Client-only.
 */
import { readTrackFrames } from './track-processor';

export abstract class TrackEncodeLoop<Raw extends VideoFrame | AudioData> {
  protected closed = false;
  protected encoder: VideoEncoder | AudioEncoder | undefined;
  private reader: ReadableStreamDefaultReader<Raw> | undefined;
  /**
   * Page clock − the track's clock, µs, set at the first frame read. Chromium stamps camera frames
   * on the system's monotonic clock and microphone buffers on the page's (measured: 6 669 s vs
   * 2 s); the ingest's A/V sync needs both kinds on one clock (EncodedFrame.timestampUs).
   */
  private clockOffsetUs: number | undefined;

  constructor(private readonly reportError: (error: Error) => void) {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.reader?.cancel().catch(() => undefined);
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
  }

  /** Encodes one raw frame (the caller closes it). */
  protected abstract handle(raw: Raw): void;

  /** An encoder's output timestamp (the track's clock) on the page's clock, µs. */
  protected pageTimeUs(trackTimestampUs: number): number {
    return trackTimestampUs + (this.clockOffsetUs ?? 0);
  }

  protected fail(error: Error): void {
    if (!this.closed) this.reportError(error);
  }

  /** Starts reading; `maxBufferSize` frames are kept when the encoder falls behind (the oldest dropped). */
  protected async run(track: MediaStreamTrack, maxBufferSize: number): Promise<void> {
    try {
      this.reader = readTrackFrames<Raw>(track, maxBufferSize);
      for (;;) {
        const { value: raw, done } = await this.reader.read();
        if (done || !raw) return;
        if (this.closed) {
          raw.close();
          return;
        }
        this.clockOffsetUs ??= performance.now() * 1000 - raw.timestamp;
        try {
          this.handle(raw);
        } finally {
          raw.close();
        }
      }
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
