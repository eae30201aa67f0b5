/**
 * What the admin API, /metrics and the WHEP layer resource say about a stream's renditions: one
 * entry per rendition (the source first, then the simulcast layers, then the transcoded rungs)
 * with its codec, size, measured rate and viewers; and a live stream's state around them. Pure
 * over the router's state.
 */
import type { LiveState, RenditionState, WhepLayers } from '@onair/shared/api';
import { codecLabel } from '@onair/shared/sdp';
import { SOURCE } from './origin-choice';
import type { RenditionFeed, VideoOrigin } from './rendition-catalog';
import type { PublisherSession } from './sessions';
import type { TrackMeterSnapshot } from './track-meter';

export interface RenditionStatesInput {
  now: number;
  /** The publisher's video codec, its picture and its (source layer's) measured rate. */
  source: { codec: string | undefined; width: number | null; height: number | null; frameRate: number | null; videoKbps: number };
  feeds: readonly RenditionFeed[];
  /** Connected WHEP viewers per origin. */
  viewers: ReadonlyMap<VideoOrigin, number>;
}

/** Connected WHEP viewers (people) per origin. */
export function viewersPerOrigin(viewers: Iterable<{ session: { kind: string; connected: boolean }; video: VideoOrigin }>): Map<VideoOrigin, number> {
  const counts = new Map<VideoOrigin, number>();
  for (const viewer of viewers) if (viewer.session.kind === 'whep' && viewer.session.connected) counts.set(viewer.video, (counts.get(viewer.video) ?? 0) + 1);
  return counts;
}

export function renditionStates({ now, source, feeds, viewers }: RenditionStatesInput): RenditionState[] {
  const states: RenditionState[] = [
    {
      name: SOURCE.name,
      kind: 'source',
      codec: source.codec ? codecLabel({ name: source.codec }) : null,
      width: source.width,
      height: source.height,
      frameRate: source.frameRate,
      bitrateKbps: source.videoKbps,
      targetKbps: null,
      viewers: viewers.get(SOURCE) ?? 0,
    },
  ];
  for (const feed of feeds) {
    const stats = feed.stats(now);
    states.push({ name: feed.name, kind: feed.kind, codec: codecLabel({ name: feed.codec }), width: feed.width, height: feed.height, frameRate: stats.frameRate, bitrateKbps: stats.bitrateKbps, targetKbps: feed.targetKbps, viewers: viewers.get(feed) ?? 0, delayMs: stats.delayMs ?? null });
  }
  return states;
}

/** The WHEP layer resource's view of one session: the renditions it can be served and what it gets. */
export function whepLayers(states: RenditionState[], session: { pin: string | undefined; active: VideoOrigin; pending: VideoOrigin | undefined; audioHoldMs: number; playable: (name: string) => boolean }): WhepLayers {
  return {
    pinned: session.pin ?? null,
    active: session.active.name,
    pending: session.pending?.name ?? null,
    audioHoldMs: Math.round(session.audioHoldMs),
    layers: states
      .filter((state) => session.playable(state.name))
      .map((state) => ({ encodingId: state.name, kind: state.kind, codec: state.codec, width: state.width, height: state.height, frameRate: state.frameRate, bitrateKbps: state.bitrateKbps, targetKbps: state.targetKbps, delayMs: state.delayMs ?? null })),
  };
}

/** A live stream's state: its publisher, the source's picture and measured rates, viewers and renditions. */
export function liveStateOf(input: { publisher: PublisherSession; picture: { width: number; height: number } | undefined; video: TrackMeterSnapshot | undefined; audio: TrackMeterSnapshot | undefined; viewers: number; renditions: RenditionState[] }): LiveState {
  const { publisher, picture, video, audio, viewers, renditions } = input;
  const videoCodec = publisher.peer.codecs.video;
  const audioCodec = publisher.peer.codecs.audio;
  return {
    live: true,
    since: (publisher.connectedAt ?? publisher.createdAt).toISOString(),
    publisher: { protocol: publisher.kind, sessionId: publisher.id },
    video: videoCodec ? { codec: videoCodec.name, width: picture?.width ?? null, height: picture?.height ?? null, fps: video?.fps ?? null, bitrateKbps: video?.bitrateKbps ?? 0, packetsLost: video?.packetsLost ?? 0 } : null,
    audio: audioCodec ? { codec: audioCodec.name, bitrateKbps: audio?.bitrateKbps ?? 0 } : null,
    viewers: { whep: viewers, total: viewers },
    renditions,
  };
}
