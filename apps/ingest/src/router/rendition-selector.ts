/**
 * Which video each viewer of one stream gets (the StreamRouter's rendition control plane): the
 * stream's rendition catalog, a viewer's pin, and for an unpinned WHEP viewer the choice of its
 * rate controller, fed with that viewer's own RTCP feedback. The data plane reads back what it
 * needs per packet: each viewer's `video` and `target`, and `wanted` (origins someone receives or
 * awaits: the others' packets are not even queued).
 *
 * A choice never switches at once: the viewer gets a target and switches at the target's next
 * keyframe, inside a flush (stream-router.ts), so the player sees one stream that never stalls.
 */
import type { RenditionState, WhepLayers } from '@onair/shared/api';
import { OnairError } from '@onair/shared/errors';
import type { Logger } from '@onair/service/logger';
import type { ViewerFeedback } from '../webrtc/engine';
import { buildLadder } from './rate-control/ladder';
import { RateController } from './rate-control/rate-controller';
import { RenditionCatalog, SOURCE, type RenditionFeed, type VideoOrigin } from './rendition-catalog';
import type { ViewerSession } from './sessions';
import type { ViewerState } from './viewer-state';

/** What the selector reads of its stream. */
export interface RenditionSelectorHost {
  readonly log: Logger;
  now(): number;
  isLive(): boolean;
  viewers(): Iterable<ViewerState>;
  /** Sends what was queued under the state it arrived in: every control-plane change runs it first. */
  flush(): void;
  /** Asks the publisher for a keyframe (only the source's can be asked for). */
  requestKeyframe(reason: string): void;
  /** The publisher's picture and measured bitrates (0 while unknown). */
  source(): { width: number | null; height: number | null; frameRate: number | null; videoKbps: number; audioKbps: number };
}

/** Automatic moves per stream since it was routed (for /metrics). */
export interface RenditionSwitches {
  up: number;
  down: number;
}

export class RenditionSelector {
  readonly catalog = new RenditionCatalog();
  /** Origins some viewer receives or switches to (the source is always wanted, and not listed). */
  wanted = new Set<VideoOrigin>();
  readonly switches: RenditionSwitches = { up: 0, down: 0 };

  constructor(private readonly host: RenditionSelectorHost) {}

  /**
   * The rate controller for a new viewer: people watching over WHEP whose engine reports their
   * feedback. Other nodes' edge pulls and forwards get the source, whatever their path.
   */
  attachRate(viewer: ViewerState): void {
    const session: ViewerSession = viewer.session;
    const peer = session.peer;
    if (session.kind !== 'whep' || session.edgeNode !== undefined || !peer.onFeedback) return;
    viewer.rate = new RateController();
    peer.onFeedback((feedback) => this.onFeedback(viewer, feedback));
  }

  /**
   * Pins a viewer's video to a rendition by name (`source` included), or gives the choice back to
   * the server (`undefined`). Throws 404 rendition_not_found for a name the stream does not have
   * in a codec the viewer negotiated.
   */
  pin(viewer: ViewerState, name: string | undefined): WhepLayers {
    if (name !== undefined && name !== SOURCE.name) {
      const feed = this.catalog.get(name);
      if (!feed || !this.canPlay(viewer, feed)) {
        const names = this.layersOf(viewer).layers.map((layer) => layer.encodingId);
        throw new OnairError('rendition_not_found', `The stream has no rendition "${name}" this session can receive; it has ${names.join(', ')}.`);
      }
    }
    this.host.flush();
    viewer.pin = name;
    this.retarget(viewer);
    this.updateWanted();
    this.host.log.info({ viewer: viewer.session.id, pin: name ?? 'auto', active: viewer.video.name, pending: viewer.target?.name }, 'viewer pinned a rendition');
    return this.layersOf(viewer);
  }

  /** Where the viewer's video should come from: its pin, else the server's choice, while the stream has it; else the source. */
  desiredOrigin(viewer: ViewerState): VideoOrigin {
    if (viewer.session.kind !== 'whep') return SOURCE;
    const name = viewer.pin ?? viewer.auto;
    if (name === SOURCE.name) return SOURCE;
    const feed = this.catalog.get(name);
    return feed && this.canPlay(viewer, feed) ? feed : SOURCE;
  }

  /** Points the viewer at its desired origin: a switch at the origin's next keyframe, or at once when nothing of the current one can come. */
  retarget(viewer: ViewerState): void {
    const desired = this.desiredOrigin(viewer);
    if (desired === viewer.video) {
      viewer.target = undefined;
      return;
    }
    const currentGone = viewer.video !== SOURCE && !this.catalog.has(viewer.video);
    if (viewer.waitingForKeyframe || currentGone) {
      // Nothing of the current origin reached the player since its last start, or it ended:
      // start on the desired one at its keyframe (the rewriter re-bases on its SSRC).
      viewer.video = desired;
      viewer.target = undefined;
      viewer.waitingForKeyframe = true;
    } else {
      viewer.target = desired;
    }
    if (desired === SOURCE) this.host.requestKeyframe('viewer-switch');
  }

  /** The rendition set changed (attached, replaced, closed): every viewer is pointed again. */
  changed(): void {
    this.host.flush();
    for (const viewer of this.host.viewers()) this.retarget(viewer);
    this.updateWanted();
  }

  updateWanted(): void {
    const wanted = new Set<VideoOrigin>();
    for (const viewer of this.host.viewers()) {
      if (viewer.video !== SOURCE) wanted.add(viewer.video);
      if (viewer.target && viewer.target !== SOURCE) wanted.add(viewer.target);
    }
    this.wanted = wanted;
  }

  /** Video renditions with their viewers: the source first, then the transcoded ones. */
  states(): RenditionState[] {
    if (!this.host.isLive()) return [];
    const now = this.host.now();
    const counts = new Map<VideoOrigin, number>();
    for (const viewer of this.host.viewers()) {
      if (viewer.session.kind === 'whep' && viewer.session.connected) counts.set(viewer.video, (counts.get(viewer.video) ?? 0) + 1);
    }
    const source = this.host.source();
    const states: RenditionState[] = [
      { name: SOURCE.name, kind: 'source', width: source.width, height: source.height, frameRate: source.frameRate, bitrateKbps: source.videoKbps, targetKbps: null, viewers: counts.get(SOURCE) ?? 0 },
    ];
    for (const feed of this.catalog.feeds) {
      const stats = feed.stats(now);
      states.push({ name: feed.name, kind: 'transcoded', width: feed.width, height: feed.height, frameRate: stats.frameRate, bitrateKbps: stats.bitrateKbps, targetKbps: feed.targetKbps, viewers: counts.get(feed) ?? 0 });
    }
    return states;
  }

  /** What a WHEP viewer may receive and what it gets (the WHEP layer extension's GET). */
  layersOf(viewer: ViewerState): WhepLayers {
    const playable = (name: string) => name === SOURCE.name || (this.catalog.get(name) !== undefined && this.canPlay(viewer, this.catalog.get(name)!));
    return {
      pinned: viewer.pin ?? null,
      active: viewer.video.name,
      pending: viewer.target?.name ?? null,
      layers: this.states()
        .filter((state) => playable(state.name))
        .map((state) => ({ encodingId: state.name, kind: state.kind, width: state.width, height: state.height, frameRate: state.frameRate, bitrateKbps: state.bitrateKbps, targetKbps: state.targetKbps })),
    };
  }

  /** A viewer can be served a rendition in the codec it negotiated (the transcoder sends H.264). */
  canPlay(viewer: ViewerState, feed: RenditionFeed): boolean {
    return viewer.session.codecs.video?.name.toLowerCase() === feed.codec.toLowerCase();
  }

  /** One feedback message of an unpinned viewer: its rate controller may move it along the ladder. */
  private onFeedback(viewer: ViewerState, feedback: ViewerFeedback): void {
    const rate = viewer.rate;
    // A pinned viewer stays where it is; its controller starts afresh from what it hears after an unpin.
    if (!rate || viewer.pin !== undefined || viewer.session.closed || !viewer.session.connected || !this.host.isLive()) return;
    const now = this.host.now();
    const current = (viewer.target ?? viewer.video).name;
    const ladder = this.ladderFor(viewer, current);
    const decision = rate.process({ feedback, sentBytes: viewer.session.peer.sent.bytes, ladder, active: viewer.video.name, pending: viewer.target?.name }, now);
    if (decision.target === current) return;
    const rank = (name: string) => ladder.findIndex((rung) => rung.name === name);
    const direction = rank(decision.target) > rank(current) ? 'down' : 'up';
    this.switches[direction] += 1;
    this.host.log.info({ viewer: viewer.session.id, from: current, to: decision.target, direction, reason: decision.reason, availableKbps: decision.availableKbps === undefined ? null : Math.round(decision.availableKbps), sendKbps: Math.round(decision.link.sendKbps), rttMs: decision.link.rttMs === undefined ? null : Math.round(decision.link.rttMs), loss: decision.link.loss ?? null }, 'rate controller moves the viewer');
    this.host.flush();
    viewer.auto = decision.target;
    this.retarget(viewer);
    this.updateWanted();
  }

  private ladderFor(viewer: ViewerState, current: string) {
    const now = this.host.now();
    const source = this.host.source();
    const renditions = this.catalog.feeds.filter((feed) => this.canPlay(viewer, feed)).map((feed) => ({ name: feed.name, kbps: Math.max(feed.targetKbps, feed.stats(now).bitrateKbps) }));
    return buildLadder({ sourceKbps: source.videoKbps, audioKbps: source.audioKbps, renditions, keep: current });
  }
}
