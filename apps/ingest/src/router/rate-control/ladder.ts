/**
 * The ladder a viewer's rate controller moves along (pure): the source first — passthrough, the
 * best picture and the lowest latency — then the other renditions it can receive, by bitrate. A
 * rendition that would not save a tenth of the source's bitrate (a 720p rung of a 720p source) is
 * left out: moving there would cost picture and ~40 ms of delay for nothing. Each rung's cost is
 * its video plus the viewer's audio, which it receives whatever the rendition.
 */
import type { LadderRung } from './rate-controller';

export interface LadderInput {
  /** The source's measured video bitrate, kbit/s; 0 while unknown (then nothing is left out). */
  sourceKbps: number;
  /** What the viewer's audio costs, kbit/s. */
  audioKbps: number;
  /** Renditions the viewer can receive (its codec), with their video bitrate, kbit/s. */
  renditions: ReadonlyArray<{ name: string; kbps: number }>;
  /** Kept on the ladder whatever its bitrate (where the viewer is now). */
  keep?: string | undefined;
  /**
   * Whether the viewer can be served the source (its codec). Default true. A VP8 viewer of an
   * H.264 source cannot: with the source on its ladder it was sent trials "up" to a rendition it
   * could never get, each counted as a switch up.
   */
  sourcePlayable?: boolean;
}

export function buildLadder({ sourceKbps, audioKbps, renditions, keep, sourcePlayable = true }: LadderInput): LadderRung[] {
  const rungs = renditions
    .filter((r) => r.name === keep || sourceKbps === 0 || r.kbps < sourceKbps * 0.9)
    .map((r) => ({ name: r.name, kbps: r.kbps + audioKbps }))
    .sort((a, b) => b.kbps - a.kbps);
  if (!sourcePlayable) return rungs;
  // Not measured yet: priced as the dearest rendition, so the ladder stays best-first (the
  // controller reads a rung's successors as cheaper); at its audio alone it looked cheapest.
  const sourceVideoKbps = sourceKbps > 0 ? sourceKbps : Math.max(0, ...renditions.map((r) => r.kbps));
  return [{ name: 'source', kbps: sourceVideoKbps + audioKbps }, ...rungs];
}
