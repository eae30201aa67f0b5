/**
 * The rate controller replayed on real Chromium feedback while the link changes in other ways
 * than a drop (recorded by scripts/record-feedback-traces.ts in the shaped-link scenario: the
 * source at 1.2 Mbit/s, rungs at 600 and 200 kbit/s): the limit lifted under a viewer on 180p,
 * and a 3 Mbit/s link that collapses for 300 ms (a fade: ~3/4 of the packets lost while it lasts;
 * the trace ends at the live controller's move, since what follows depends on it). The viewer's
 * rendition follows the controller's decisions as the replay goes (a move takes effect at once).
 * No RTT-rise trace: this machine's kernel has no netem (rate-controller.test.ts covers the rule
 * on a simulated link).
 */
import { describe, expect, it } from 'vitest';
import collapse6 from './fixtures/chromium-collapse-bursts-300ms-load6.json';
import collapse7 from './fixtures/chromium-collapse-bursts-300ms-load7.json';
import stepUp5 from './fixtures/chromium-step-up-600-3000-load5.json';
import { RateController } from './rate-controller';
import { SHAPED_LADDER, traceFeedback, type FeedbackTrace } from './recorded-trace';

type Trace = FeedbackTrace & { limitAt: number };

function replay(trace: Trace, start: string): Array<{ at: number; to: string; reason: string }> {
  const controller = new RateController();
  const moves: Array<{ at: number; to: string; reason: string }> = [];
  let active = start;
  for (const entry of trace.entries) {
    const { at, feedback, sentBytes } = traceFeedback(entry);
    const decision = controller.process({ feedback, sentBytes, ladder: SHAPED_LADDER, active, pending: undefined }, at);
    if (decision.target !== active) {
      moves.push({ at, to: decision.target, reason: decision.reason });
      active = decision.target;
    }
  }
  return moves;
}

describe('RateController on recorded Chromium traces of other link changes', () => {
  it('a viewer on 180p whose 600 kbit/s limit is lifted comes back up one rung at a time by trials that hold (load 5)', () => {
    const trace = stepUp5 as unknown as Trace;
    const moves = replay(trace, '180p');
    // Two trials up, neither sent back down: the link carried each (the one before the lift had failed live).
    expect(moves.map((m) => `${m.to} ${m.reason}`)).toEqual(['360p probe', 'source probe']);
    // Recorded: 360p 3.9 s after the lift, the source 7.9 s after (a 4 s trial each).
    expect(moves[1]!.at - trace.limitAt).toBeLessThanOrEqual(12_000);
  });

  it.each([
    ['load 6', collapse6 as unknown as Trace],
    ['load 7', collapse7 as unknown as Trace],
  ])('a 300 ms collapse of a 3 Mbit/s link (%s) steps down one rung on its loss, not to the bottom', (_name, trace) => {
    const moves = replay(trace, 'source');
    // Chromium's REMB sat under the 1.2 Mbit/s it received on the loaded machine (~390 and ~205
    // kbit/s): the burst's loss confirms it, and the controller steps down one rung, after the
    // collapse (it comes back by trials).
    expect(moves.map((m) => `${m.to} ${m.reason}`)).toEqual(['360p loss']);
    expect(moves[0]!.at).toBeGreaterThan(trace.limitAt);
  });
});
