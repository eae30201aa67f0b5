/**
 * Publishes a camera and microphone as one MoQ broadcast in the hang format, the one
 * `<moq-publish>` sends and the ingest reads: a `catalog.json` track (each update a new group
 * whose first frame is the whole catalog), a video track with one group per GOP (a keyframe
 * starts a group) and an audio track with one group per frame; every frame is a QUIC varint
 * timestamp in µs followed by the codec payload (the "legacy" container). Client-only.
 */
import type * as Moq from '@moq/lite';
import { CONTROL_VERSION, ONAIR_CATALOG_SECTION } from '@onair/shared/moq-control';
import type { AudioTrackInfo } from './audio-encode-loop';
import type { EncodedFrame, VideoTrackInfo } from './video-encode-loop';

export const CATALOG_TRACK = 'catalog.json';
export const VIDEO_TRACK = 'video';
export const AUDIO_TRACK = 'audio';

type MoqModule = typeof Moq;

/**
 * The catalog as hang's schema has it (video/audio renditions keyed by track name), plus onair's
 * own section saying that this publisher honours the ingest's keyframe requests (moq-control.ts).
 */
export function hangCatalog(video: VideoTrackInfo | undefined, audio: AudioTrackInfo | undefined): Record<string, unknown> {
  const legacy = { kind: 'legacy' };
  return {
    [ONAIR_CATALOG_SECTION]: { control: CONTROL_VERSION },
    ...(video
      ? { video: { renditions: { [VIDEO_TRACK]: { codec: video.codec, container: legacy, codedWidth: video.width, codedHeight: video.height, framerate: video.framerate, bitrate: video.bitrate, optimizeForLatency: true } } } }
      : {}),
    ...(audio ? { audio: { renditions: { [AUDIO_TRACK]: { codec: audio.codec, container: legacy, sampleRate: audio.sampleRate, numberOfChannels: audio.numberOfChannels, bitrate: audio.bitrate } } } } : {}),
  };
}

export interface HangPublisherEvents {
  /** A subscriber asked for the video track: it starts at the next keyframe, so ask for one. */
  onVideoSubscribed(): void;
}

export class HangPublisher {
  private readonly broadcast: Moq.Broadcast;
  private readonly catalogTracks = new Set<Moq.Track>();
  private readonly videoTracks = new Map<Moq.Track, Moq.Group | undefined>();
  private readonly audioTracks = new Set<Moq.Track>();
  private catalogJson = '';
  private closed = false;
  /** Subtracted from every timestamp (both kinds are on the page's clock, see EncodedFrame). */
  private originUs: number | undefined;

  constructor(
    private readonly moq: MoqModule,
    connection: Moq.Connection.Established,
    path: string,
    private readonly events: HangPublisherEvents,
  ) {
    this.broadcast = new moq.Broadcast();
    connection.publish(moq.Path.from(path), this.broadcast);
    void this.serveRequests();
  }

  /** Publishes a new catalog when what it says changed (resolution, tracks). */
  setCatalog(catalog: Record<string, unknown>): void {
    const json = JSON.stringify(catalog);
    if (json === this.catalogJson) return;
    this.catalogJson = json;
    for (const track of this.catalogTracks) this.writeCatalog(track);
  }

  writeVideo(frame: EncodedFrame): void {
    const payload = this.encodeFrame(frame);
    for (const [track, group] of this.videoTracks) {
      let current = group;
      if (frame.keyframe) {
        current?.close();
        current = track.appendGroup();
        this.videoTracks.set(track, current);
      }
      // A subscriber starts at a keyframe: frames before its first one are not sent.
      current?.writeFrame(payload);
    }
  }

  writeAudio(frame: EncodedFrame): void {
    if (this.audioTracks.size === 0) return;
    const payload = this.encodeFrame(frame);
    for (const track of this.audioTracks) track.writeFrame(payload);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const group of this.videoTracks.values()) group?.close();
    this.broadcast.close();
  }

  private encodeFrame(frame: EncodedFrame): Uint8Array {
    // A second before the first frame written: the other kind's first frame may have been
    // captured a little earlier and encoded later, and timestamps must not go below zero.
    this.originUs ??= frame.timestampUs - 1_000_000;
    const timestamp = this.moq.Varint.encode(Math.max(0, Math.round(frame.timestampUs - this.originUs)));
    const data = new Uint8Array(timestamp.byteLength + frame.data.byteLength);
    data.set(timestamp, 0);
    data.set(frame.data, timestamp.byteLength);
    return data;
  }

  private writeCatalog(track: Moq.Track): void {
    if (this.catalogJson) track.writeString(this.catalogJson);
  }

  private async serveRequests(): Promise<void> {
    for (;;) {
      const request = await this.broadcast.requested();
      if (!request || this.closed) return;
      const { track } = request;
      const forget = () => {
        this.catalogTracks.delete(track);
        this.videoTracks.delete(track);
        this.audioTracks.delete(track);
      };
      void track.closed.then(forget, forget);
      if (track.name === CATALOG_TRACK) {
        this.catalogTracks.add(track);
        this.writeCatalog(track);
      } else if (track.name === VIDEO_TRACK) {
        this.videoTracks.set(track, undefined);
        this.events.onVideoSubscribed();
      } else if (track.name === AUDIO_TRACK) {
        this.audioTracks.add(track);
      } else {
        track.close(new Error(`unknown track ${track.name}`));
      }
    }
  }
}
