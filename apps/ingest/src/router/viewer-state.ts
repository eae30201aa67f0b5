/** What the StreamRouter keeps per viewer session (its data plane and its rendition choice). */
import type { MediaKind } from '../webrtc/engine';
import type { AudioAlignment } from './audio-alignment';
import type { VideoOrigin } from './rendition-catalog';
import type { RateController } from './rate-control/rate-controller';
import type { RtpRewriter } from './rtp-rewriter';
import type { ViewerSession } from './sessions';

export interface ViewerState {
  session: ViewerSession;
  rewriters: Partial<Record<MediaKind, RtpRewriter>>;
  /** Holds its audio back by the transcode delay of the video it gets (lip sync). */
  audio: AudioAlignment;
  /** Video is held back until a keyframe starts, so the decoder never starts mid-GOP. */
  waitingForKeyframe: boolean;
  /** Where the viewer's video comes from now. */
  video: VideoOrigin;
  /** The origin it switches to at that origin's next keyframe (it keeps `video` until then). */
  target: VideoOrigin | undefined;
  /**
   * Set when the rate controller moves the viewer down: once the backlog in front of it is deep
   * (`holding`), no more video of the origin it leaves is sent until the target's keyframe (or
   * `until`, the router's clock), so the queue drains instead of overflowing and the target's
   * keyframe arrives whole behind what is already on the way. `startAt` (router clock): when
   * `holding` starts, timed to the target's predicted keyframe (switch-hold.ts); undefined: not
   * known yet; `switchAfter`: the target's keyframes before it are passed over (the queue it
   * would join is full). `held`: something was held back.
   */
  hold: { target: VideoOrigin; until: number; holding: boolean; held: boolean; startAt?: number | undefined; switchAfter?: number | undefined } | undefined;
  /** The rendition the viewer pinned by name; undefined: the server chooses (`auto`). */
  pin: string | undefined;
  /**
   * The pin admits nothing else: when the stream no longer has it, the session ends
   * (`rendition_ended`) instead of falling back to the source. Another node's edge pull of one
   * rendition asks for this: it serves its own viewers that rendition under its name.
   */
  pinOnly: boolean;
  /** The server's choice for an unpinned viewer, by name (`source` until its feedback says otherwise). */
  auto: string;
  /** Chooses `auto` from the viewer's feedback; only WHEP viewers whose engine reports feedback have one. */
  rate: RateController | undefined;
  /** It negotiated a video codec the source was not in: renditions in its codec serve it. */
  crossCodec: boolean;
  /** Closes the viewer when no origin in its codec comes in time (renditionWaitMs). */
  waitTimer: NodeJS.Timeout | undefined;
}
