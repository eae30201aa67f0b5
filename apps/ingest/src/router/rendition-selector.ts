/**
 * Which video each viewer of one stream gets (the StreamRouter's rendition control plane): the
 * stream's rendition catalog, a viewer's pin, and for an unpinned WHEP viewer the choice of its
 * rate controller, fed with that viewer's own RTCP feedback. The data plane reads back what it
 * needs per packet: each viewer's `video` and `target`, and `wanted` (origins someone receives or
 * awaits: the others' packets are not even queued).
 *
 * Which origins a viewer can play, and where it goes by default, are origin-choice.ts's rules: a
 * viewer in another codec than the source's (a VP8-only browser) is served the renditions in its
 * codec, and waits (NONE) until there is one.
 *
 * A choice never switches at once: the viewer gets a target and switches at the target's next
 * keyframe, inside a flush (stream-router.ts), so the player sees one stream that never stalls.
 */
import type { RenditionState, WhepLayers } from '@onair/shared/api';
import { OnairError } from '@onair/shared/errors';
import type { Logger } from '@onair/service/logger';
import type { ViewerFeedback } from '../webrtc/engine';
import { buildLadder } from './rate-control/ladder';
import type { LinkState } from './rate-control/link-estimator';
import { RateController } from './rate-control/rate-controller';
import { canPlay, desiredOrigin, NONE } from './origin-choice';
import { RenditionCatalog, SOURCE, type VideoOrigin } from './rendition-catalog';
import { renditionStates, viewersPerOrigin, whepLayers } from './rendition-states';
import { holdStartAt, switchNotBefore } from './switch-hold';
import type { ViewerSession } from './sessions';
import type { ViewerState } from './viewer-state';

/** A viewer moving down is held back from the origin it leaves (switch-hold.ts) for at most this long (a rung's GOP is ≤ 1 s on WebRTC; a target that sends no keyframe in time is given up on), ms. */
const MAX_HOLD_MS = 1500;

/** What the selector reads of its stream. */
export interface RenditionSelectorHost {
  readonly log: Logger;
  now(): number;
  isLive(): boolean;
  viewers(): Iterable<ViewerState>;
  /** Sends what was queued under the state it arrived in: every control-plane change runs it first. */
  flush(): void;
  /** Asks for a keyframe of `origin` where one can be asked for (the source, a simulcast layer). */
  requestKeyframe(origin: VideoOrigin, reason: string): void;
  /** When `origin`'s next keyframe should arrive (a transcoded rung's, on its clock: keyframe-cadence.ts); undefined: no prediction. */
  nextKeyframeAt(origin: VideoOrigin, now: number): number | undefined;
  /** A viewer has nothing to play yet (no rendition in its codec): it gets a deadline. */
  awaitRendition(viewer: ViewerState): void;
  /** The publisher's video codec, picture and measured bitrates (0 while unknown). */
  source(): { codec: string | undefined; width: number | null; height: number | null; frameRate: number | null; videoKbps: number; audioKbps: number };
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
   * in a codec the viewer negotiated. `only`: the pin admits nothing else (ViewerState.pinOnly).
   */
  pin(viewer: ViewerState, name: string | undefined, only = false): WhepLayers {
    if (name !== undefined && (name !== SOURCE.name || !this.canPlay(viewer, SOURCE))) {
      const feed = this.catalog.get(name);
      if (!feed || !this.canPlay(viewer, feed)) {
        const names = this.layersOf(viewer).layers.map((layer) => layer.encodingId);
        throw new OnairError('rendition_not_found', `The stream has no rendition "${name}" this session can receive; it has ${names.join(', ')}.`);
      }
    }
    this.host.flush();
    viewer.pin = name;
    viewer.pinOnly = only && name !== undefined;
    this.retarget(viewer);
    this.updateWanted();
    this.host.log.info({ viewer: viewer.session.id, pin: name ?? 'auto', active: viewer.video.name, pending: viewer.target?.name }, 'viewer pinned a rendition');
    return this.layersOf(viewer);
  }

  /**
   * Where the viewer's video should come from: its pin, else the server's choice, while the stream
   * has it in the viewer's codec; else the source; else the largest rendition in its codec; else
   * NONE (origin-choice.ts).
   */
  desiredOrigin(viewer: ViewerState): VideoOrigin {
    const choice = viewer.session.kind !== 'whep' ? undefined : viewer.pin ?? (viewer.auto === SOURCE.name ? undefined : viewer.auto);
    return desiredOrigin({ viewerCodec: viewer.session.codecs.video?.name, sourceCodec: this.host.source().codec, pin: choice, renditions: this.catalog });
  }

  /** Points the viewer at its desired origin: a switch at the origin's next keyframe, or at once when nothing of the current one can come. */
  retarget(viewer: ViewerState): void {
    const desired = this.desiredOrigin(viewer);
    if (this.endsPinOnly(viewer, desired)) return;
    if (desired === viewer.video) {
      viewer.target = undefined;
      return;
    }
    const currentGone = viewer.video === NONE || (viewer.video !== SOURCE && !this.catalog.has(viewer.video));
    if (viewer.waitingForKeyframe || currentGone || desired === NONE) {
      // Nothing of the current origin reached the player since its last start, or it ended:
      // start on the desired one at its keyframe (the rewriter re-bases on its SSRC).
      viewer.video = desired;
      viewer.target = undefined;
      viewer.waitingForKeyframe = true;
      if (desired === NONE) this.host.awaitRendition(viewer);
    } else {
      viewer.target = desired;
    }
    this.host.requestKeyframe(desired, 'viewer-switch');
  }

  /** Ends a viewer whose pin admits nothing else when `desired` is not its pin; returns whether it did. */
  endsPinOnly(viewer: ViewerState, desired: VideoOrigin): boolean {
    if (!viewer.pinOnly || desired.name === viewer.pin) return false;
    this.host.log.info({ viewer: viewer.session.id, pin: viewer.pin }, 'the pinned rendition ended: closing the viewer that takes no other');
    viewer.session.close('rendition_ended');
    return true;
  }

  /** The renditions changed (a set attached, replaced or closed; another simulcast layer is the source): every viewer is pointed again. */
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

  /** Video renditions with their viewers: the source first, then the simulcast layers, then the transcoded ones. */
  states(): RenditionState[] {
    if (!this.host.isLive()) return [];
    return renditionStates({ now: this.host.now(), source: this.host.source(), feeds: this.catalog.feeds, viewers: viewersPerOrigin(this.host.viewers()) });
  }

  /** What a WHEP viewer may receive and what it gets (the WHEP layer extension's GET). */
  layersOf(viewer: ViewerState): WhepLayers {
    const playable = (name: string) => {
      const origin = name === SOURCE.name ? SOURCE : this.catalog.get(name);
      return origin !== undefined && this.canPlay(viewer, origin);
    };
    return whepLayers(this.states(), { pin: viewer.pin, active: viewer.video, pending: viewer.target, audioHoldMs: viewer.audio.currentDelayMs, playable });
  }

  /** A viewer can be served an origin in the codec it negotiated (forwarding keeps the codec). */
  canPlay(viewer: ViewerState, origin: VideoOrigin): boolean {
    return canPlay(viewer.session.codecs.video?.name, origin, this.host.source().codec);
  }

  /** One feedback message of an unpinned viewer: its rate controller may move it along the ladder. */
  private onFeedback(viewer: ViewerState, feedback: ViewerFeedback): void {
    // What the controller hears, for recording traces (scripts/record-feedback-traces.ts).
    if (this.host.log.isLevelEnabled('trace')) this.host.log.trace({ viewer: viewer.session.id, feedback, sentBytes: viewer.session.peer.sent.bytes }, 'viewer feedback');
    const rate = viewer.rate;
    // A pinned viewer stays where it is; its controller starts afresh from what it hears after an unpin.
    if (!rate || viewer.pin !== undefined || viewer.session.closed || !viewer.session.connected || !this.host.isLive()) return;
    const now = this.host.now();
    const current = (viewer.target ?? viewer.video).name;
    const ladder = this.ladderFor(viewer, current);
    const decision = rate.process({ feedback, sentBytes: viewer.session.peer.sent.bytes, ladder, active: viewer.video.name, pending: viewer.target?.name }, now);
    if (decision.target === current) {
      this.timeHold(viewer, decision.link, now);
      return;
    }
    const rank = (name: string) => ladder.findIndex((rung) => rung.name === name);
    const direction = rank(decision.target) > rank(current) ? 'down' : 'up';
    this.switches[direction] += 1;
    const link = decision.link;
    const round = (value: number | undefined) => (value === undefined ? null : Math.round(value));
    this.host.log.info({ viewer: viewer.session.id, from: current, to: decision.target, direction, reason: decision.reason, availableKbps: round(decision.availableKbps), sendKbps: Math.round(link.sendKbps), rttMs: round(link.rttMs), backlogMs: round(link.latestBacklogMs), queueMs: round(link.queueMs), deliveredKbps: round(link.deliveredKbps), loss: link.loss ?? null }, 'rate controller moves the viewer');
    this.host.flush();
    viewer.auto = decision.target;
    this.retarget(viewer);
    viewer.hold = direction === 'down' && viewer.target ? { target: viewer.target, until: now + MAX_HOLD_MS, holding: false, held: false } : undefined;
    this.timeHold(viewer, decision.link, now);
    this.updateWanted();
  }

  /**
   * A viewer moving down stops receiving the origin it leaves (ViewerState.hold) when what is on
   * its path lasts until the target's keyframe has come (switch-hold.ts), timed again with each
   * report (the queue and the prediction move); the data plane starts the hold at that moment.
   */
  private timeHold(viewer: ViewerState, link: LinkState, now: number): void {
    const hold = viewer.hold;
    if (!hold || hold.holding) return;
    hold.startAt = holdStartAt({ now, queueMs: link.queueMs, latestBacklogMs: link.latestBacklogMs, sendKbps: link.sendKbps, deliveredKbps: link.deliveredKbps, nextKeyframeAt: this.host.nextKeyframeAt(hold.target, now) });
    hold.switchAfter = switchNotBefore(hold.startAt, link.queueMs);
    if (hold.startAt !== undefined && hold.startAt <= now) hold.holding = true;
  }

  private ladderFor(viewer: ViewerState, current: string) {
    const now = this.host.now();
    const source = this.host.source();
    // A simulcast layer has no target: what it sends is what it costs.
    const renditions = this.catalog.feeds.filter((feed) => this.canPlay(viewer, feed)).map((feed) => ({ name: feed.name, kbps: Math.max(feed.targetKbps ?? 0, feed.stats(now).bitrateKbps) }));
    return buildLadder({ sourceKbps: source.videoKbps, audioKbps: source.audioKbps, renditions, keep: current, sourcePlayable: this.canPlay(viewer, SOURCE) });
  }
}
