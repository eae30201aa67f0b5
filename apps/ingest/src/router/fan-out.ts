/**
 * The data plane's second half (stream-router.ts queues, this sends): a batch of received packets
 * to every viewer, each with its own header (RtpRewriter), viewer by viewer — see StreamRouter's
 * `forward` for why viewer by viewer. A viewer's video comes from one origin at a time; a packet
 * of its switch target that starts a keyframe switches it within the batch. Its audio leaves as
 * late as that origin's frames are (audio-alignment.ts): at once on the source, held back by the
 * transcode on a transcoded rendition (`sendDueAudio` sends what is held).
 */
import type { InboundRtp, OutboundRtp } from '../webrtc/engine';
import { type RenditionFeed, SOURCE, type VideoOrigin } from './rendition-catalog';
import type { ViewerState } from './viewer-state';

/** Counters shared by every stream of a MediaRouter (read by /metrics). */
export interface MediaCounters {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
}

/** A received packet waiting for the flush: media to send, or a probe to number around. */
export interface PendingPacket {
  packet: InboundRtp;
  now: number;
  /** false: not forwarded, but numbered in the source's sequence (RtpRewriter.skip). */
  media: boolean;
  keyframeStart: boolean;
  /** Whose video it is (audio is always the publisher's). */
  origin: VideoOrigin;
}

/** The result of a batch: whether a viewer switched origin, the origins viewers still wait for a keyframe of, and when held audio is next due. */
export interface BatchOutcome {
  switched: boolean;
  /** Origins viewers wait for a keyframe of (or are switching to): the caller asks for those again. */
  waiting: Set<VideoOrigin>;
  /** The earliest time (router clock) a viewer's held audio is due; undefined when none is held. */
  audioDueAt: number | undefined;
}

/** How late a video packet's frame is against its source (the transcode); undefined: not known yet, unchanged. */
function mediaDelayOf(packet: InboundRtp, origin: VideoOrigin): number | undefined {
  if (origin === SOURCE) return 0;
  if (packet.mediaDelayMs !== undefined) return packet.mediaDelayMs;
  // The source and simulcast layers are the publisher's own frames.
  return (origin as Partial<RenditionFeed>).kind === 'transcoded' ? undefined : 0;
}

/** Rewrites and sends one audio packet to a viewer; `now`: its send time (a new regime's timestamps advance by it). */
function sendAudio(viewer: ViewerState, packet: InboundRtp, rebase: boolean, now: number, out: OutboundRtp, counters: MediaCounters): void {
  const rewriter = viewer.rewriters.audio;
  if (!rewriter) return;
  if (rebase) rewriter.reset();
  out.marker = packet.marker;
  out.payload = packet.payload;
  if (!rewriter.rewrite(packet, now, out)) return;
  viewer.session.peer.send('audio', out);
  counters.packetsOut += 1;
  counters.bytesOut += 12 + packet.payload.length;
}

/** Sends every viewer's held audio that is due by `now`; returns when the next is due (undefined: none held). */
export function sendDueAudio(viewers: Iterable<ViewerState>, now: number, counters: MediaCounters): number | undefined {
  let next: number | undefined;
  let out: OutboundRtp | undefined;
  for (const viewer of viewers) {
    if (viewer.audio.held === 0) continue;
    for (const due of viewer.audio.takeDue(now)) {
      if (!viewer.session.connected) {
        // Not sent, but the new regime starts here all the same.
        if (due.rebase) viewer.rewriters.audio?.reset();
        continue;
      }
      out ??= { sequenceNumber: 0, timestamp: 0, ssrc: 0, payloadType: 0, marker: false, payload: due.packet.payload };
      sendAudio(viewer, due.packet, due.rebase, due.dueAt, out, counters);
    }
    const dueAt = viewer.audio.nextDueAt();
    if (dueAt !== undefined && (next === undefined || dueAt < next)) next = dueAt;
  }
  return next;
}

/** Sends `batch` to `viewers` (see BatchOutcome). */
export function sendBatch(batch: readonly PendingPacket[], viewers: Iterable<ViewerState>, counters: MediaCounters): BatchOutcome {
  // One object for every send: engines copy what they keep (OutboundRtp).
  const out: OutboundRtp = { sequenceNumber: 0, timestamp: 0, ssrc: 0, payloadType: 0, marker: false, payload: batch[0]!.packet.payload };
  const waiting = new Set<VideoOrigin>();
  let switched = false;
  let audioDueAt: number | undefined;
  for (const viewer of viewers) {
    const connected = viewer.session.connected;
    let sawVideo = false;
    for (const { packet, now, media, keyframeStart, origin } of batch) {
      const rewriter = viewer.rewriters[packet.kind];
      if (!rewriter) continue;
      if (viewer.hold && (viewer.hold.target !== viewer.target || now >= viewer.hold.until)) {
        // The target never came (or the viewer was pointed elsewhere): what was held back is
        // missing from the current origin, so it starts again at a keyframe.
        if (viewer.hold.held) viewer.waitingForKeyframe = true;
        viewer.hold = undefined;
      }
      // The moment timed to the target's keyframe (switch-hold.ts) has come.
      if (viewer.hold && !viewer.hold.holding && viewer.hold.startAt !== undefined && now >= viewer.hold.startAt) viewer.hold.holding = true;
      // A keyframe of the origin it leaves is the largest frame there is (a 1.2 Mbit/s source's
      // took ~0.5 s through a 600 kbit/s link, and the picture stood still meanwhile): the hold
      // starts there at the latest.
      if (packet.kind === 'video' && origin === viewer.video && viewer.hold && keyframeStart && media) viewer.hold.holding = true;
      if (packet.kind === 'video' && origin === viewer.video && viewer.hold?.holding && media && connected) {
        // Moved down off a congested path: nothing more of the origin it leaves (ViewerState.hold),
        // taken out of the viewer's numbering so that no hole is NACKed.
        rewriter.skip(packet);
        viewer.hold.held = true;
        continue;
      }
      if (packet.kind === 'video' && origin !== viewer.video) {
        // Another origin's video: the viewer's switch target takes over at its keyframe.
        if (origin !== viewer.target || !keyframeStart || !connected) continue;
        // Into a path whose queue is still full, the keyframe would be dropped: the next one (switch-hold.ts).
        if (viewer.hold?.switchAfter !== undefined && now < viewer.hold.switchAfter) continue;
        viewer.video = origin;
        viewer.target = undefined;
        viewer.hold = undefined;
        viewer.waitingForKeyframe = false;
        // A new source to the rewriter even if an SSRC were reused: numbering goes on by one.
        rewriter.reset();
        switched = true;
      }
      if (!media) {
        rewriter.skip(packet);
        continue;
      }
      if (!connected) continue;
      if (packet.kind === 'audio') {
        const offered = viewer.audio.offer(packet, now);
        if (offered !== 'held') sendAudio(viewer, packet, offered === 'rebase', now, out, counters);
        continue;
      }
      sawVideo = true;
      if (viewer.waitingForKeyframe) {
        if (!keyframeStart) continue;
        viewer.waitingForKeyframe = false;
      }
      out.marker = packet.marker;
      out.payload = packet.payload;
      if (!rewriter.rewrite(packet, now, out)) continue;
      const delayMs = mediaDelayOf(packet, origin);
      if (delayMs !== undefined) viewer.audio.setDelay(delayMs, now);
      // No per-viewer copy of the payload here: the engine serializes (and encrypts) into the
      // one buffer it sends, reading the shared payload (OutboundRtp).
      viewer.session.peer.send(packet.kind, out);
      counters.packetsOut += 1;
      counters.bytesOut += 12 + packet.payload.length;
    }
    // Still waiting for its origin after this batch's video (a keyframe later in the batch
    // ends the wait), or switching: the source's and a layer's keyframes can be asked for, a
    // transcoded rendition's come on its own clock.
    if (sawVideo && viewer.waitingForKeyframe) waiting.add(viewer.video);
    if (viewer.target) waiting.add(viewer.target);
    const dueAt = viewer.audio.nextDueAt();
    if (dueAt !== undefined && (audioDueAt === undefined || dueAt < audioDueAt)) audioDueAt = dueAt;
  }
  return { switched, waiting, audioDueAt };
}
