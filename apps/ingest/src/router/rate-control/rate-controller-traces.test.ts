/**
 * The rate controller replayed on what real Chromium viewers sent (recorded in the shaped-link
 * e2e test, with the engine's backlog fields): each trace ends where the viewer was moved, since
 * what follows depends on the move. A shaped viewer must move down soon after the limit, to the
 * rung that fits; an unshaped one (on the same loaded machine) must not move at all.
 */
import { describe, expect, it } from 'vitest';
import burst17 from './fixtures/chromium-backlog-tbf-600-burst-load17.json';
import load17 from './fixtures/chromium-backlog-tbf-600-load17.json';
import load20 from './fixtures/chromium-backlog-tbf-600-load20.json';
import load7 from './fixtures/chromium-backlog-tbf-600-load7.json';
import load9 from './fixtures/chromium-backlog-tbf-600-load9.json';
import unshaped7 from './fixtures/chromium-backlog-unshaped-load7.json';
import loss20 from './fixtures/chromium-backlog-unshaped-loss-load20.json';
import stall17 from './fixtures/chromium-backlog-unshaped-stall-load17.json';
import type { ViewerFeedback } from '../../webrtc/engine';
import { RateController } from './rate-controller';
import { SHAPED_LADDER, traceFeedback, type FeedbackTrace } from './recorded-trace';

type Trace = FeedbackTrace;

function replay(trace: Trace): Array<{ at: number; to: string; reason: string }> {
  const controller = new RateController();
  const moves: Array<{ at: number; to: string; reason: string }> = [];
  let pending: string | undefined;
  for (const entry of trace.entries) {
    const { at, feedback, sentBytes } = traceFeedback(entry);
    const decision = controller.process({ feedback, sentBytes, ladder: SHAPED_LADDER, active: 'source', pending }, at);
    if (decision.target !== (pending ?? 'source')) {
      moves.push({ at, to: decision.target, reason: decision.reason });
      pending = decision.target;
    }
  }
  return moves;
}

describe('RateController on recorded Chromium traces with the backlog', () => {
  it.each([
    // [trace, how soon after the limit it must move (the trace's own move came at)]
    // The bounds are the first report at which what is on the path (octets sent and not yet
    // received, at the rate delivered) is ≥ 400 ms: by the backlog alone these moved at 579,
    // 1097 and 826 ms, after the 600 ms queue had started dropping (the switch froze for as long).
    ['3 → 0.6 Mbit/s, load 7 (REMB fell with the backlog)', load7 as unknown as Trace, 600],
    ['3 → 0.6 Mbit/s, load 9', load9 as unknown as Trace, 400],
    // The REMB never fell; the delivery ratio jumped to 1.5 for one report (uneven frames).
    ['3 → 0.6 Mbit/s, load 17 (REMB stuck at 1331 kbit/s)', load17 as unknown as Trace, 650],
    // One report's window measured a burst (677 kbit/s of video): the lowest measure since the queue showed decides.
    ['3 → 0.6 Mbit/s, load 17 (a burst through the queue)', burst17 as unknown as Trace, 700],
    // Reports 300 ms apart: two reports behind must be enough (a third came too late: lost keyframe, 850 ms frozen).
    ['3 → 0.6 Mbit/s, load 20', load20 as unknown as Trace, 500],
  ])('%s: moves down to 180p (the rung under 600 kbit/s) in one step, soon after the limit', (_name, trace, withinMs) => {
    const moves = replay(trace);
    expect(moves.length).toBeGreaterThan(0);
    expect(moves[0]!.to).toBe('180p');
    expect(moves[0]!.at).toBeGreaterThan(trace.limitAt!);
    expect(moves[0]!.at - trace.limitAt!).toBeLessThanOrEqual(withinMs);
  });

  it.each([
    ['an unshaped viewer on a machine at load 7, another viewer\'s link limited meanwhile', unshaped7 as unknown as Trace],
    ['an unshaped viewer whose reports stalled 400 ms, then came 233 ms behind beside a fallen REMB (load 17)', stall17 as unknown as Trace],
    ['an unshaped viewer losing 5 % in its own socket buffer beside a fallen REMB, receiving what was sent (load 20)', loss20 as unknown as Trace],
  ])('%s: no move', (_name, trace) => {
    expect(replay(trace)).toEqual([]);
  });
});

describe('RateController deciding early in a limit', () => {
  it('a move on the path\'s queue picks the rung the path carries now, not the delivery window\'s average that still counts the time before the limit', () => {
    // Reports every 100 ms, 1.2 Mbit/s of video sent (15 KB a report) and all of it delivered;
    // at 6 s the path drops to ~540 kbit/s (6.8 KB a report) just as a 30 KB keyframe goes out.
    // (The shaped-link e2e once saw 792 kbit/s over the window here, chose 360p and froze 633 ms.)
    const controller = new RateController();
    let sent = 0;
    let delivered = 0;
    const sentAt: Array<{ at: number; octets: number }> = [];
    let move: { at: number; to: string } | undefined;
    for (let at = 0; at <= 7000 && !move; at += 100) {
      const burst = at === 6000 ? 30_000 : 0;
      sent += 15_000 + burst;
      sentAt.push({ at, octets: sent });
      delivered = at <= 6000 ? sent - burst : Math.min(sent, delivered + 6_800);
      // How far behind our sending the newest packet it got is: when the octets it has were sent.
      const newest = sentAt.find((s) => s.octets >= delivered)!;
      const feedback: ViewerFeedback = { type: 'report', kind: 'video', fractionLost: 0, cumulativeLost: 0, highestSequence: Math.round(delivered / 1200), rttMs: 5, jitterMs: 1, behindMs: at - newest.at, deliveredOctets: delivered, sentOctets: sent };
      const decision = controller.process({ feedback, sentBytes: Math.round(sent * 1.08), ladder: SHAPED_LADDER, active: 'source' }, at);
      if (decision.target !== 'source') move = { at, to: decision.target };
    }
    expect(move?.to).toBe('180p');
    expect(move!.at - 6000).toBeLessThanOrEqual(400);
  });
});
