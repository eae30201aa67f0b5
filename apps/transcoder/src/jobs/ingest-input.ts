/**
 * A job's input from the ingest: two local UDP port pairs (video, audio), a forward created on
 * the ingest that sends the stream's RTP there, and the SDP it describes.
 *
 * Keyframes: the ingest sends a PLI upstream when a forward is created, but the keyframe can
 * arrive before ffmpeg has bound its ports (and a WebRTC publisher sends the next one only when
 * asked). So the forward holds its packets until ffmpeg listens; then `requestKeyframe()` calls
 * the forward's keyframe endpoint, and the ingest starts with the packets since that keyframe
 * (or asks for a new one); an ingest without the endpoint gets the forward replaced instead (a
 * new forward sends a PLI at once).
 */
import type { Logger } from '@onair/service/logger';
import type { IngestClient } from '../ingest-client';
import type { PortPair, UdpPortAllocator } from '../net/udp-ports';
import type { InputOpening, InputRequest, InputSource } from './input-source';

export class IngestInput implements InputSource {
  private video: PortPair | undefined;
  private audio: PortPair | undefined;
  private forwardId: string | undefined;
  private sdp: string | undefined;

  constructor(
    private readonly streamId: string,
    private readonly client: IngestClient,
    private readonly ports: UdpPortAllocator,
    private readonly log: Logger,
    private readonly host = '127.0.0.1',
    /** How long open() waits for the ingest to know the picture size, ms. */
    private readonly sizeWaitMs = 1500,
    /**
     * The forward sends nothing until `requestKeyframe()` says ffmpeg listens, at most this long
     * (ms; covers the size wait, spawn and bind), and then starts with the packets since the
     * publisher's last keyframe: ffmpeg decodes at once instead of waiting for a new keyframe.
     */
    private readonly holdUntilReadyMs = 5000,
  ) {}

  get forward(): string | undefined {
    return this.forwardId;
  }

  get description(): string {
    return `ingest forward ${this.forwardId ?? '(none)'} → udp ${this.video?.rtp ?? '?'}/${this.audio?.rtp ?? '?'}`;
  }

  private request: InputRequest = {};

  async open(request: InputRequest = {}): Promise<InputOpening> {
    this.request = request;
    await this.close();
    this.video = await this.ports.allocate();
    this.audio = await this.ports.allocate();
    try {
      const forward = await this.client.createForward(this.streamId, { host: this.host, videoPort: this.video.rtp, audioPort: this.audio.rtp, holdUntilReadyMs: this.holdUntilReadyMs, ...this.request });
      this.forwardId = forward.id;
      this.sdp = forward.sdp;
      return { sdp: forward.sdp, hints: await this.waitForSize() };
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * The ingest learns the picture size from the first keyframe's SPS, which the forward's PLI has
   * just asked for: wait briefly for it, so the ladder is planned on the real size (a ladder
   * planned blind has every rung at its box size until a restart re-plans it).
   */
  private async waitForSize(): Promise<InputOpening['hints']> {
    const deadline = Date.now() + this.sizeWaitMs;
    for (;;) {
      const hints = await this.client.sourceHints(this.streamId);
      if ((hints.width && hints.height) || Date.now() >= deadline) return hints;
      // The size comes with the keyframe the forward's creation asked for: poll closely, every
      // ms here delays ffmpeg's spawn.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  currentHints(): Promise<InputOpening['hints']> {
    return this.client.sourceHints(this.streamId);
  }

  async requestKeyframe(): Promise<{ replayedPackets?: number } | void> {
    if (!this.video || !this.audio || !this.forwardId) return;
    const old = this.forwardId;
    try {
      return await this.client.requestKeyframe(this.streamId, old);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'not_found' && code !== 'method_not_allowed') throw error;
    }
    await this.client.deleteForward(this.streamId, old);
    const forward = await this.client.createForward(this.streamId, { host: this.host, videoPort: this.video.rtp, audioPort: this.audio.rtp, ...this.request });
    this.forwardId = forward.id;
    if (forward.sdp !== this.sdp) this.log.warn({ streamId: this.streamId }, 'the replacement forward describes different RTP than the first; ffmpeg keeps the first SDP');
  }

  async close(): Promise<void> {
    const forwardId = this.forwardId;
    this.forwardId = undefined;
    if (forwardId) {
      await this.client.deleteForward(this.streamId, forwardId).catch((error) => this.log.warn({ err: error, streamId: this.streamId }, 'deleting the forward failed'));
    }
    this.ports.release(this.video);
    this.ports.release(this.audio);
    this.video = undefined;
    this.audio = undefined;
  }
}
