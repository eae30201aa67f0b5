/**
 * A recorded feedback trace (fixtures/, written by scripts/record-feedback-traces.ts or the
 * shaped-link e2e): what a real viewer told the rate controller, entry by entry, with what the
 * ingest had sent by then. Pure; shared by the replay tests.
 */
import type { ViewerFeedback } from '../../webrtc/engine';
import type { LadderRung } from './rate-controller';

/** `[at, 'remb', bitrate, sentBytes]` or `[at, 'rr', cumulativeLost, highestSequence, rttMs, jitterMs, behindMs, deliveredOctets, sentOctets, sentBytes]`, `at` in ms. */
export type TraceEntry = [number, 'remb', number, number] | [number, 'rr', number, number, number | null, number, number | null, number | null, number, number];

export interface FeedbackTrace {
  /** When the link changed (a limit, a lift, a collapse), ms into the trace; null: it did not. */
  limitAt: number | null;
  entries: TraceEntry[];
}

/** The shaped-link scenario's ladder: the source (1.2 Mbit/s video), 360p at 600, 180p at 200, each with Opus and headers. */
export const SHAPED_LADDER: LadderRung[] = [
  { name: 'source', kbps: 1290 },
  { name: '360p', kbps: 650 },
  { name: '180p', kbps: 250 },
];

/** One entry as the controller hears it. */
export function traceFeedback(entry: TraceEntry): { at: number; feedback: ViewerFeedback; sentBytes: number } {
  if (entry[1] === 'remb') return { at: entry[0], feedback: { type: 'remb', bitrate: entry[2] }, sentBytes: entry[3] };
  const [at, , cumulativeLost, highestSequence, rttMs, jitterMs, behindMs, deliveredOctets, sentOctets, sentBytes] = entry;
  return { at, feedback: { type: 'report', kind: 'video', fractionLost: 0, cumulativeLost, highestSequence, rttMs, jitterMs, behindMs, deliveredOctets, sentOctets }, sentBytes };
}
