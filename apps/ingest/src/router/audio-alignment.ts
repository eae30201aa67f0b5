/**
 * Lip sync across the transcode, per viewer (pure: the caller passes the clock).
 *
 * A transcoded rendition's frames reach the ingest a transcode later (~110 ms for 720p here)
 * than the source frame they show, while a viewer's audio is always the publisher's. A player
 * syncs audio and video of one CNAME by the sender reports (RFC 3550 §6.4.1): each maps a
 * track's RTP clock to the wall time its packets left. Dating the rendition's frames a transcode
 * earlier in the video reports would line them up, but makes the video mapping step at every
 * switch, and libwebrtc fits its mapping through the last 20 reports (one a second:
 * RtpToNtpEstimator), so Chromium took ~20 s to follow a step (measured: −120 ms at the switch,
 * still −39…−84 ms 24 s later). Instead each viewer's audio is held back by the transcode delay of
 * the video it gets: both mappings stay "the time the packet left", continuous, and the sound of
 * an instant leaves with its picture.
 *
 * A change of delay (past the drift it lets be) starts a new regime. Growing, the audio pauses
 * for the difference; shrinking, the audio that would now be overdue is dropped (the picture
 * jumps forward by as much at the same switch). The first packet of a regime is flagged `rebase`: the viewer's audio rewriter
 * starts a new source there (RtpRewriter: timestamps advance by the wall time between sends), so
 * the player sees a pause or a splice, never packets arriving late or early against their
 * timestamps — which would grow its jitter buffer.
 */
import type { InboundRtp } from '../webrtc/engine';

/**
 * How far the video may drift from the held sound before the hold follows (ms). Every change is
 * heard — a pause when the hold grows, a skip when it shrinks — so drift of the measured transcode
 * delay is let be while it stays where people do not notice it (ITU-R BT.1359: sound early from
 * +45 ms, sound late from −125 ms): the hold grows once the video is 25 ms later than the sound,
 * and shrinks once the sound is 60 ms later than the video (or at once to 0: back on the source).
 */
export const AUDIO_GROW_STEP_MS = 25;
export const AUDIO_SHRINK_STEP_MS = 60;
/** The longest the audio is held (ms): a larger delay is a measuring fault. */
export const MAX_AUDIO_DELAY_MS = 1000;
/** Packets held at most per viewer (twice the longest delay at 20 ms packets): the oldest go first. */
export const MAX_HELD_PACKETS = (2 * MAX_AUDIO_DELAY_MS) / 20;

export interface DueAudio {
  packet: InboundRtp;
  /** The first packet of a new delay: the rewriter starts a new source here. */
  rebase: boolean;
  /** When it was due (router clock): its send time as far as its timestamp goes, whenever the timer ran. */
  dueAt: number;
}

export class AudioAlignment {
  private delayMs = 0;
  /** Held packets in arrival order; each leaves at arrivedAt + delayMs. */
  private queue: Array<{ packet: InboundRtp; arrivedAt: number }> = [];
  private rebaseNext = false;

  /** The delay audio is held by now, ms. */
  get currentDelayMs(): number {
    return this.delayMs;
  }

  get held(): number {
    return this.queue.length;
  }

  /**
   * The viewer's video now leaves `delayMs` after the source frame it shows (0 on the source).
   * Drift inside AUDIO_GROW_STEP_MS / AUDIO_SHRINK_STEP_MS is let be; the delay is clamped to
   * 0…MAX_AUDIO_DELAY_MS.
   */
  setDelay(delayMs: number, now: number): void {
    if (delayMs === this.delayMs || !Number.isFinite(delayMs)) return;
    const next = Math.min(MAX_AUDIO_DELAY_MS, Math.max(0, Math.round(delayMs)));
    const change = next - this.delayMs;
    if (change < AUDIO_GROW_STEP_MS && -change < AUDIO_SHRINK_STEP_MS && !(next === 0 && this.delayMs > 0)) return;
    this.delayMs = next;
    this.rebaseNext = true;
    // What the shorter delay makes overdue is skipped, not sent in a burst.
    let overdue = 0;
    while (overdue < this.queue.length && this.queue[overdue]!.arrivedAt + next < now) overdue += 1;
    if (overdue > 0) this.queue.splice(0, overdue);
  }

  /**
   * One audio packet that arrived at `now`: `send` it at once (no delay, nothing held; `rebase`:
   * the first of a new regime), or it is `held` — the packet object is kept (its payload is never
   * written), so the caller must not reuse it.
   */
  offer(packet: InboundRtp, now: number): 'send' | 'rebase' | 'held' {
    if (this.delayMs === 0 && this.queue.length === 0) {
      if (!this.rebaseNext) return 'send';
      this.rebaseNext = false;
      return 'rebase';
    }
    this.queue.push({ packet, arrivedAt: now });
    if (this.queue.length > MAX_HELD_PACKETS) this.queue.shift();
    return 'held';
  }

  /** The held packets due by `now`, in order; the first of a new regime flagged `rebase`. */
  takeDue(now: number): DueAudio[] {
    let due = 0;
    // A packet that arrived "after now" means the clock stepped back: it is due, not held for the step.
    while (due < this.queue.length && (this.queue[due]!.arrivedAt + this.delayMs <= now || this.queue[due]!.arrivedAt > now)) due += 1;
    if (due === 0) return [];
    return this.queue.splice(0, due).map(({ packet, arrivedAt }, i) => {
      const rebase = i === 0 && this.rebaseNext;
      if (rebase) this.rebaseNext = false;
      return { packet, rebase, dueAt: Math.min(now, arrivedAt + this.delayMs) };
    });
  }

  /** When the next held packet is due (router clock); undefined when nothing is held. */
  nextDueAt(): number | undefined {
    const first = this.queue[0];
    return first && first.arrivedAt + this.delayMs;
  }

  /** Forgets what is held and the delay (a new publisher: its audio starts afresh, on the source). */
  clear(): void {
    this.queue = [];
    this.delayMs = 0;
    this.rebaseNext = false;
  }
}
