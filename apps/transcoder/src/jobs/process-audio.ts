/**
 * One ffmpeg process's audio on its way to the stream's HLS audio rendition (pure: the clock is
 * passed in).
 *
 * The audio is an output of its own, so it can flow while no rung has a frame (no keyframe yet,
 * a decoder waiting for parameter sets). Media a process writes to one rendition and not the other
 * would put their discontinuity sequences out of step: each new init segment after media is a
 * discontinuity in its own playlist, and the packager marks one in every rendition only when a
 * process that made video ends (RFC 8216bis §4.4.3.3 needs them aligned across renditions;
 * hls.js loads no audio from a sequence the video does not have). So a process's audio is held
 * until its first video and thrown away if none comes.
 */

/** More than a process writes before its video (10 s of 128 kbit/s AAC is ~160 KB). */
export const MAX_HELD_AUDIO_BYTES = 2 * 1024 * 1024;

export class ProcessAudio {
  /** Chunks before the first video; null once the video has started. */
  private held: Buffer[] | null = [];
  private heldBytes = 0;
  /** The held chunks outgrew the cap: this process's audio stream is incomplete and never forwarded. */
  private overflowed = false;
  /** Bytes handed to the rendition. */
  forwardedBytes = 0;
  /** When ffmpeg last wrote audio, ms; null before it has. */
  lastAudioAt: number | null = null;

  /** `sink()`: the audio rendition's writer now (undefined once the rendition is dropped). */
  constructor(private readonly sink: () => { push(chunk: Buffer): void } | undefined) {}

  push(chunk: Buffer, nowMs: number): void {
    this.lastAudioAt = nowMs;
    if (this.overflowed) return;
    if (this.held) {
      this.heldBytes += chunk.length;
      if (this.heldBytes > MAX_HELD_AUDIO_BYTES) {
        this.overflowed = true;
        this.held = [];
        return;
      }
      this.held.push(chunk);
      return;
    }
    this.forward(chunk);
  }

  /** The process wrote its first video: what it held goes to the rendition, and what follows at once. */
  videoStarted(): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    for (const chunk of held) this.forward(chunk);
  }

  /** Audio written once, then nothing for `ms`: the publisher's sound stopped (or ffmpeg's audio did). */
  silentFor(ms: number, nowMs: number): boolean {
    return this.lastAudioAt !== null && nowMs - this.lastAudioAt > ms;
  }

  private forward(chunk: Buffer): void {
    const sink = this.sink();
    if (!sink) return;
    this.forwardedBytes += chunk.length;
    sink.push(chunk);
  }
}
