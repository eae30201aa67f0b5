/**
 * The forward's packets since the last keyframe, kept so they can be sent again once the
 * receiver listens.
 *
 * Why: a forward starts sending at the publisher's next keyframe, which the ingest asks for the
 * moment the stream goes live, and it arrives before the transcoder's ffmpeg has bound its UDP
 * ports (spawn → bind ~70–100 ms). The packets go to closed ports and are dropped, and a WebRTC
 * publisher sends the next keyframe only when asked — through the ingest's PLI rate limit, so
 * 300–500 ms later, plus the encoder and pacing. Sending the kept packets again the moment ffmpeg
 * listens gives it a decodable start at once, with nothing asked of the publisher.
 *
 * The replay is the stream exactly as it was forwarded (same sequence numbers and timestamps):
 * to ffmpeg it looks like a burst of packets it simply had not read yet. Audio is kept from the
 * keyframe's arrival on, so both tracks start at the same moment: ffmpeg (no RTCP sender
 * reports on a forward) starts each track's clock at its first packet, and audio from later
 * would be out of sync for the whole run.
 *
 * Bounded in age, packets and bytes: a publisher that sends keyframes only on request can go
 * minutes without one, and replaying seconds of video would only delay ffmpeg's first output.
 * Past a bound the buffer is dropped until the next keyframe; after a replay (once per forward)
 * nothing more is kept.
 */

export interface KeyframeReplayOptions {
  /** A keyframe older than this is not replayed, ms. Default 1500. */
  maxAgeMs?: number;
  /** At most this many packets (video and audio) are kept. Default 400. */
  maxPackets?: number;
  /** At most this many bytes are kept. Default 1 MiB. */
  maxBytes?: number;
}

export interface KeptPacket {
  kind: 'video' | 'audio';
  /** The serialized RTP packet, as it was sent. */
  data: Buffer;
}

export class KeyframeReplay {
  private packets: KeptPacket[] = [];
  private bytes = 0;
  /** When the kept keyframe's first packet was forwarded; undefined = nothing replayable. */
  private keyframeAt: number | undefined;
  private done = false;
  private readonly maxAgeMs: number;
  private readonly maxPackets: number;
  private readonly maxBytes: number;

  constructor(options: KeyframeReplayOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 1500;
    this.maxPackets = options.maxPackets ?? 400;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
  }

  /** Records one forwarded packet. `keyframeStart`: the video packet starts a decodable keyframe. */
  record(kind: 'video' | 'audio', data: Buffer, keyframeStart: boolean, now: number): void {
    if (this.done) return;
    if (kind === 'video' && keyframeStart) {
      this.drop();
      this.keyframeAt = now;
    }
    if (this.keyframeAt === undefined) return;
    if (now - this.keyframeAt > this.maxAgeMs || this.packets.length >= this.maxPackets || this.bytes + data.length > this.maxBytes) {
      this.drop();
      return;
    }
    this.packets.push({ kind, data });
    this.bytes += data.length;
  }

  /**
   * The packets to send again, oldest first, starting with a keyframe; empty when there is none
   * young enough. Once taken (even empty) nothing more is kept: a forward replays at most once.
   */
  take(now: number): KeptPacket[] {
    const replayable = this.keyframeAt !== undefined && now - this.keyframeAt <= this.maxAgeMs;
    const packets = replayable ? this.packets : [];
    this.drop();
    this.done = true;
    return packets;
  }

  /** A replay was taken: nothing is kept any more (the caller can skip its keyframe probe). */
  get finished(): boolean {
    return this.done;
  }

  get size(): { packets: number; bytes: number } {
    return { packets: this.packets.length, bytes: this.bytes };
  }

  private drop(): void {
    this.packets = [];
    this.bytes = 0;
    this.keyframeAt = undefined;
  }
}
