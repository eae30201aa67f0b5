/**
 * A MoQ publisher in Node for the ingest's tests: a real @moq/lite client connection that
 * announces a broadcast and serves the tracks the ingest subscribes to, laid out as
 * `<moq-publish>` lays them out (hang): `catalog.json` as snapshots (one group each, sent again
 * to each new subscriber), video as one group per GOP, audio as one group per frame, every frame
 * in hang's legacy container (varint µs timestamp + payload).
 */
import * as Moq from '@moq/lite';
import { pino } from 'pino';
import { encodeHangFrame } from '../../../apps/ingest/src/moq/hang-frame';
import { runWithLibraryLog } from '../../../apps/ingest/src/moq/library-console';

type MoqTrack = ReturnType<Moq.Broadcast['subscribe']>;
type MoqGroup = ReturnType<MoqTrack['appendGroup']>;

export class HangPublisher {
  private readonly tracks = new Map<string, MoqTrack[]>();
  private readonly videoGroups = new Map<MoqTrack, MoqGroup>();
  private readonly waiters: Array<{ name: string; resolve: () => void }> = [];
  private catalog: unknown = {};

  private constructor(
    readonly connection: Awaited<ReturnType<typeof Moq.Connection.connect>>,
    readonly broadcast: Moq.Broadcast,
  ) {
    void this.serve();
  }

  /** Connects over `transport` (the client side of a pair) and announces `name`. */
  static async connect(transport: WebTransport, name = 'onair/test.hang'): Promise<HangPublisher> {
    // The publisher's side of @moq/lite logs through console too; a test's output is not the place.
    const connection = await runWithLibraryLog(pino({ level: 'silent' }), () => Moq.Connection.connect(new URL('https://127.0.0.1:8443/moq'), { transport }));
    const broadcast = new Moq.Broadcast();
    connection.publish(Moq.Path.from(name), broadcast);
    return new HangPublisher(connection, broadcast);
  }

  private async serve(): Promise<void> {
    for (;;) {
      const request = await this.broadcast.requested().catch(() => undefined);
      if (!request) return;
      const { track } = request;
      const list = this.tracks.get(track.name) ?? [];
      list.push(track);
      this.tracks.set(track.name, list);
      void track.closed.then(() => list.splice(list.indexOf(track), 1));
      if (track.name === 'catalog.json') track.writeJson(this.catalog);
      for (const waiter of this.waiters.filter((w) => w.name === track.name)) waiter.resolve();
    }
  }

  /** Resolves once the ingest has subscribed to `name`. */
  subscribed(name: string): Promise<void> {
    if (this.tracks.get(name)?.length) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ name, resolve }));
  }

  /** Names subscribed to right now. */
  get subscriptions(): string[] {
    return [...this.tracks].filter(([, list]) => list.length > 0).map(([name]) => name);
  }

  /** A new catalog snapshot, in a new group of catalog.json. */
  setCatalog(catalog: unknown): void {
    this.catalog = catalog;
    for (const track of this.tracks.get('catalog.json') ?? []) track.writeJson(catalog);
  }

  /** Any bytes as one frame of `name`: in a new group, or in the current one. */
  writeRaw(name: string, data: Uint8Array, newGroup: boolean): void {
    for (const track of this.tracks.get(name) ?? []) {
      let group = this.videoGroups.get(track);
      if (newGroup || !group) {
        group?.close();
        group = track.appendGroup();
        this.videoGroups.set(track, group);
      }
      group.writeFrame(data);
    }
  }

  /** One access unit (Annex B); a keyframe starts a group, as hang does. */
  writeVideo(name: string, timestampUs: number, payload: Uint8Array, keyframe: boolean): void {
    this.writeRaw(name, encodeHangFrame({ timestampUs, payload }), keyframe);
  }

  /** One Opus packet in a group of its own, as <moq-publish> sends audio. */
  writeAudio(name: string, timestampUs: number, payload: Uint8Array): void {
    for (const track of this.tracks.get(name) ?? []) track.writeFrame(encodeHangFrame({ timestampUs, payload }));
  }

  /** Stops publishing the broadcast (announced inactive), the connection stays. */
  unpublish(): void {
    this.broadcast.close();
  }

  close(): void {
    this.broadcast.close();
    this.connection.close();
  }
}

/**
 * A camera and a microphone at their own pace on one µs clock: three video frames every 100 ms
 * (30 fps, `video` looped) and a 20 ms Opus packet every 20 ms, for at most `maxSeconds`.
 * Returns the stop function.
 */
export function paceAudioVideo(
  publisher: HangPublisher,
  media: { video: ReadonlyArray<{ annexB: Uint8Array; keyframe: boolean }>; audio: readonly Uint8Array[]; videoTrack: string; audioTrack: string },
  maxSeconds = 30,
): () => void {
  const startUs = Date.now() * 1000;
  let tick = 0;
  let frame = 0;
  const timer = setInterval(() => {
    const nowUs = startUs + tick * 10_000;
    if (tick % 2 === 0) publisher.writeAudio(media.audioTrack, nowUs, media.audio[(tick / 2) % media.audio.length]!);
    if (tick % 10 === 0 || tick % 10 === 3 || tick % 10 === 7) {
      const unit = media.video[frame % media.video.length]!;
      publisher.writeVideo(media.videoTrack, startUs + Math.round((frame * 1_000_000) / 30), unit.annexB, unit.keyframe);
      frame += 1;
    }
    tick += 1;
    if (tick > maxSeconds * 100) clearInterval(timer);
  }, 10);
  return () => clearInterval(timer);
}
