/**
 * The rate controller replayed on real Chromium feedback while the link changes in other ways
 * than a drop (recorded by scripts/record-feedback-traces.ts in the shaped-link scenario: the
 * source at 1.2 Mbit/s, rungs at 600 and 200 kbit/s): the limit lifted under a viewer on 180p,
 * and a 3 Mbit/s link that collapses for 300 ms (a fade: ~1/4 of the packets lost). The viewer's
 * rendition follows the controller's decisions as the replay goes (a move takes effect at once).
 * No RTT-rise trace: this machine's kernel has no netem (rate-controller.test.ts covers the rule
 * on a simulated link).
 */
import { describe, expect, it } from 'vitest';
import type { ViewerFeedback } from '../../webrtc/engine';
import collapse6 from './fixtures/chromium-collapse-bursts-300ms-load6.json';
import collapse7 from './fixtures/chromium-collapse-bursts-300ms-load7.json';
import stepUp5 from './fixtures/chromium-step-up-600-3000-load5.json';
import { RateController, type LadderRung } from './rate-controller';

type Entry = [number, 'remb', number, number] | [number, 'rr', number, number, number | null, number, number | null, number | null, number, number];
interface Trace {
  /** When the link changed (the lift, the first collapse), ms into the trace. */
  limitAt: number;
  entries: Entry[];
}

const LADDER: LadderRung[] = [
  { name: 'source', kbps: 1290 },
  { name: '360p', kbps: 650 },
  { name: '180p', kbps: 250 },
];

function replay(trace: Trace, start: string): Array<{ at: number; to: string; reason: string }> {
  const controller = new RateController();
  const moves: Array<{ at: number; to: string; reason: string }> = [];
  let active = start;
  for (const entry of trace.entries) {
    const at = entry[0];
    let feedback: ViewerFeedback;
    let sentBytes: number;
    if (entry[1] === 'remb') {
      feedback = { type: 'remb', bitrate: entry[2] };
      sentBytes = entry[3];
    } else {
      const [, , cumulativeLost, highestSequence, rttMs, jitterMs, behindMs, deliveredOctets, sentOctets, sent] = entry;
      feedback = { type: 'report', kind: 'video', fractionLost: 0, cumulativeLost, highestSequence, rttMs, jitterMs, behindMs, deliveredOctets, sentOctets };
      sentBytes = sent;
    }
    const decision = controller.process({ feedback, sentBytes, ladder: LADDER, active, pending: undefined }, at);
    if (decision.target !== active) {
      moves.push({ at, to: decision.target, reason: decision.reason });
      active = decision.target;
    }
  }
  return moves;
}

describe('RateController on recorded Chromium traces of other link changes', () => {
  it('a viewer on 180p whose 600 kbit/s limit is lifted comes back up one rung at a time, after the lift (load 5)', () => {
    const trace = stepUp5 as unknown as Trace;
    const moves = replay(trace, '180p');
    expect(moves.map((m) => m.to)).toEqual(['360p', 'source']);
    expect(moves[0]!.at).toBeGreaterThan(trace.limitAt);
    // Recorded: 360p 3.9 s after the lift, the source 7.9 s after (trials of 4 s each).
    expect(moves[0]!.at - trace.limitAt).toBeLessThanOrEqual(6_000);
    expect(moves[1]!.at - trace.limitAt).toBeLessThanOrEqual(12_000);
  });

  it.each([
    ['load 6', collapse6 as unknown as Trace],
    ['load 7', collapse7 as unknown as Trace],
  ])('a 300 ms collapse of a 3 Mbit/s link (%s) costs at most one rung, never the bottom one', (_name, trace) => {
    const moves = replay(trace, 'source');
    // Chromium's REMB sat at ~390 kbit/s on the loaded machine, under the 1.2 Mbit/s it received:
    // the burst's loss confirms it, and the controller steps down one rung (it comes back by trial).
    expect(moves.length).toBeLessThanOrEqual(1);
    for (const move of moves) {
      expect(move.at).toBeGreaterThan(trace.limitAt);
      expect(move.to).toBe('360p');
    }
  });
});
