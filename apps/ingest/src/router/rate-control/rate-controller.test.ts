import { describe, expect, it } from 'vitest';
import type { ViewerFeedback } from '../../webrtc/engine';
import fixture from './fixtures/chromium-tbf-3000-600.json';
import { RateController, type LadderRung } from './rate-controller';
import { simulate, type LinkPhase, type SimulationOptions } from './simulated-link';

/** A 720p source and the default ladder's shape, with audio in each rung's cost. */
const LADDER: LadderRung[] = [
  { name: 'source', kbps: 2540 },
  { name: '480p', kbps: 1240 },
  { name: '360p', kbps: 640 },
  { name: '240p', kbps: 340 },
];

function run(phases: LinkPhase[], durationMs: number, extra: Partial<SimulationOptions> = {}) {
  return simulate(new RateController(), { ladder: LADDER, start: 'source', phases, durationMs, ...extra });
}

const at = (ms: number) => ms;

describe('RateController on synthetic links (Chrome-like REMB and reports every 200 ms)', () => {
  it.each([
    ['a steady 5 Mbps link', [{ at: 0, capacityKbps: 5000 }]],
    ['a steady 3 Mbps link (the source takes 85 % of it)', [{ at: 0, capacityKbps: 3000 }]],
    ['a steady link with 1 % random loss', [{ at: 0, capacityKbps: 5000, randomLoss: 0.01 }]],
    ['a source whose bitrate wanders ±30 % on a 4 Mbps link', [{ at: 0, capacityKbps: 4000 }], { wobble: (now: number) => 1 + 0.3 * Math.sin(now / 700) }],
  ] as Array<[string, LinkPhase[], Partial<SimulationOptions>?]>)('%s: stays on the source for 60 s', (_name, phases, extra) => {
    expect(run(phases, 60_000, extra).moves).toEqual([]);
  });

  it.each([
    // [name, capacity after the drop, rendition it must land on]
    ['3 Mbps → 600 kbps', 600, '240p'],
    ['3 Mbps → 1 Mbps', 1000, '360p'],
    ['3 Mbps → 2 Mbps', 2000, '480p'],
  ])('%s: moves down within 1 s, in one step, to the best rung that fits (%s)', (_name, capacityKbps, expected) => {
    const result = run([{ at: 0, capacityKbps: 3000 }, { at: at(15_000), capacityKbps }], 30_000);
    const [first, ...rest] = result.moves;
    expect(first).toMatchObject({ from: 'source', to: expected });
    expect(first!.at - 15_000).toBeLessThanOrEqual(1000);
    expect(first!.at).toBeGreaterThan(15_000);
    // One step lands where it fits: nothing goes below it afterwards (trials up may follow and fail).
    const rank = (name: string) => LADDER.findIndex((r) => r.name === name);
    expect(rest.filter((m) => rank(m.to) > rank(expected))).toEqual([]);
  });

  it('3 Mbps → 600 kbps → 5 Mbps: down within 1 s, back on the source one rung at a time within 25 s of the limit lifting', () => {
    const result = run([{ at: 0, capacityKbps: 3000 }, { at: 10_000, capacityKbps: 600 }, { at: 40_000, capacityKbps: 5000 }], 70_000);
    const down = result.moves[0]!;
    expect(down).toMatchObject({ from: 'source', to: '240p' });
    expect(down.at - 10_000).toBeLessThanOrEqual(1000);
    const afterLift = result.moves.filter((m) => m.at >= 40_000);
    expect(afterLift.map((m) => m.to)).toEqual(['360p', '480p', 'source']);
    expect(afterLift.at(-1)!.at - 40_000).toBeLessThanOrEqual(25_000);
    // While limited, trials up fail, go back where they came from and back off (4, 8, 16, 16 s).
    const trials = result.moves.filter((m) => m.at > down.at && m.at < 40_000 && m.reason === 'probe');
    expect(trials.length).toBeGreaterThan(0);
    expect(trials.length).toBeLessThanOrEqual(4);
    for (const trial of trials) expect(result.moves.find((m) => m.at > trial.at)).toMatchObject({ from: trial.to, to: trial.from });
    const holds = trials.slice(1).map((t, i) => t.at - trials[i]!.at);
    for (let i = 1; i < holds.length; i += 1) expect(holds[i]!).toBeGreaterThan(holds[i - 1]!);
  });

  it('a trial up that fails goes back and doubles the hold before the next (4 s, 8 s, 16 s, then 16 s)', () => {
    const controller = new RateController();
    const result = simulate(controller, { ladder: LADDER, start: '240p', phases: [{ at: 0, capacityKbps: 500 }], durationMs: 80_000 });
    expect(controller.holdMs).toBe(16_000);
    const trials = result.moves.filter((m) => m.reason === 'probe');
    expect(trials.every((t) => t.from === '240p' && t.to === '360p')).toBe(true);
    const gaps = trials.slice(1).map((t, i) => t.at - trials[i]!.at);
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
    // The hold, plus the trial itself and two switches (each waits for a keyframe).
    expect(gaps.at(-1)!).toBeLessThanOrEqual(16_000 + 4_000);
  });

  it('a trial up that holds resets the hold', () => {
    const controller = new RateController();
    const result = simulate(controller, { ladder: LADDER, start: '240p', phases: [{ at: 0, capacityKbps: 500 }, { at: 30_000, capacityKbps: 5000 }], durationMs: 70_000 });
    expect(result.moves.at(-1)).toMatchObject({ to: 'source' });
    expect(controller.holdMs).toBe(4000);
  });

  it.each([
    ['short bursts of loss (20 % for 200 ms every 5 s)', (t: number) => (t % 5000 < 200 ? 0.2 : 0)],
    ['5 % random loss all along', () => 0.05],
  ])('%s: no move', (_name, loss) => {
    const phases: LinkPhase[] = Array.from({ length: 300 }, (_, i) => ({ at: i * 200, capacityKbps: 5000, randomLoss: loss(i * 200) }));
    expect(run(phases, 60_000).moves).toEqual([]);
  });

  it('sustained 30 % loss without a bottleneck (a bad radio): moves down at once, and reports loss', () => {
    const result = run([{ at: 0, capacityKbps: 5000 }, { at: 10_000, capacityKbps: 5000, randomLoss: 0.3 }], 14_000);
    expect(result.moves[0]).toMatchObject({ from: 'source', reason: 'loss' });
    expect(result.moves[0]!.at - 10_000).toBeLessThanOrEqual(1500);
  });

  it('REMB falling to under half the send rate with no queue and no loss (a loaded receiver\'s estimator): no move', () => {
    const controller = new RateController();
    const decisions: string[] = [];
    for (let t = 0; t <= 10_000; t += 200) {
      const bitrate = t < 4000 ? 1_600_000 : 650_000;
      const feedback = t % 400 === 0 ? { type: 'remb' as const, bitrate } : { type: 'report' as const, kind: 'video' as const, fractionLost: 0, cumulativeLost: 0, highestSequence: t, jitterMs: 3, rttMs: 8 + (t % 1000) / 100 };
      decisions.push(controller.process({ feedback, sentBytes: Math.round((t / 1000) * 1400 * 125), ladder: LADDER, active: 'source' }, t).target);
    }
    expect(new Set(decisions)).toEqual(new Set(['source']));
  });

  it('a REMB climbing behind the rate after a move, wobbling 7 % beside a keyframe\'s 40 ms queue: no move', () => {
    const controller = new RateController();
    const decisions: string[] = [];
    for (let t = 0; t <= 6000; t += 100) {
      // Chrome's REMB after a move up: under the new rate (640), climbing; 7 % down for 0.6 s.
      const remb = t >= 3000 && t < 3600 ? 424_000 : 400_000 + t * 20;
      const rttMs = t === 3100 ? 55 : 5;
      const feedback = t % 200 === 0 ? { type: 'remb' as const, bitrate: remb } : { type: 'report' as const, kind: 'video' as const, fractionLost: 0, cumulativeLost: 0, highestSequence: t, jitterMs: 1, rttMs };
      decisions.push(controller.process({ feedback, sentBytes: Math.round((t / 1000) * 640 * 125), ladder: LADDER, active: '360p' }, t).target);
    }
    expect(new Set(decisions)).toEqual(new Set(['360p']));
  });

  it('an RTT rise before the receiver\'s first REMB (Chromium\'s comes ~5 s in): no move', () => {
    const controller = new RateController();
    const decisions: string[] = [];
    for (let t = 0; t <= 6000; t += 200) {
      const feedback = { type: 'report' as const, kind: 'video' as const, fractionLost: 0, cumulativeLost: 0, highestSequence: t, jitterMs: 1, rttMs: t < 2000 ? 10 : 250 };
      decisions.push(controller.process({ feedback, sentBytes: Math.round((t / 1000) * 1500 * 125), ladder: LADDER, active: 'source' }, t).target);
    }
    expect(new Set(decisions)).toEqual(new Set(['source']));
  });

  it('an RTT rise while the receiver sends REMB (a loaded machine, not a queue): no move', () => {
    const controller = new RateController();
    const decisions: string[] = [];
    for (let t = 0; t <= 10_000; t += 200) {
      const rttMs = t < 5000 ? 10 : 160;
      const feedback = t % 400 === 0 ? { type: 'remb' as const, bitrate: 1_100_000 } : { type: 'report' as const, kind: 'video' as const, fractionLost: 0, cumulativeLost: 0, highestSequence: t, jitterMs: 1, rttMs };
      decisions.push(controller.process({ feedback, sentBytes: Math.round((t / 1000) * 1500 * 125), ladder: LADDER, active: 'source' }, t).target);
    }
    expect(new Set(decisions)).toEqual(new Set(['source']));
  });

  it('RTT rising on a deep queue with no REMB (reports only): moves down on the queue\'s delay', () => {
    const result = run([{ at: 0, capacityKbps: 5000 }, { at: 10_000, capacityKbps: 2000 }], 16_000, { remb: false, queueMs: 3000 });
    expect(result.moves[0]).toMatchObject({ from: 'source', reason: 'delay' });
    // 540 kbps too much into a 3 s queue: +270 ms of delay a second; seen at +120 ms, smoothed.
    expect(result.moves[0]!.at - 10_000).toBeLessThanOrEqual(1500);
  });

  it('a rendition not on the ladder (it changed under the viewer): no move, the router decides', () => {
    const decision = new RateController().process({ sentBytes: 0, ladder: LADDER, active: '1080p' }, 0);
    expect(decision).toMatchObject({ target: '1080p', reason: 'off-ladder' });
  });
});

describe('RateController on a recorded trace', () => {
  // What a real Chromium sent behind a token bucket that went from 3000 to 600 kbit/s while the
  // ingest kept sending the source (~770 kbit/s): its REMB ramp after joining (lagging the
  // publisher's own ramp), then the drop.
  const trace = fixture as unknown as { limitAt: number; entries: Array<[number, 'remb', number] | [number, 'rr', number, number, number | null, number] | [number, 'sent', number]> };
  const ladder: LadderRung[] = [
    { name: 'source', kbps: 780 },
    { name: '360p', kbps: 450 },
    { name: '240p', kbps: 250 },
  ];

  it('does not move while REMB lags the publisher\'s ramp-up, then moves down within 1 s of the limit, to a rung under it', () => {
    const controller = new RateController();
    // Bytes sent were recorded every 500 ms: in between, as if sent evenly (the router reads the exact count).
    const sent = trace.entries.filter((e) => e[1] === 'sent') as Array<[number, 'sent', number]>;
    const sentBytesAt = (at: number) => {
      const next = sent.findIndex((e) => e[0] >= at);
      if (next <= 0) return next === 0 ? (sent[0]![2] * at) / sent[0]![0] : sent.at(-1)![2];
      const [t0, , b0] = sent[next - 1]!;
      const [t1, , b1] = sent[next]!;
      return b0 + ((b1 - b0) * (at - t0)) / (t1 - t0);
    };
    let pending: string | undefined;
    const moves: Array<{ at: number; to: string; reason: string }> = [];
    for (const entry of trace.entries) {
      const [at, kind] = entry;
      const sentBytes = sentBytesAt(at);
      let feedback: ViewerFeedback | undefined;
      if (kind === 'sent') continue;
      if (kind === 'remb') feedback = { type: 'remb', bitrate: entry[2] };
      else feedback = { type: 'report', kind: 'video', fractionLost: 0, cumulativeLost: entry[2], highestSequence: entry[3], rttMs: entry[4], jitterMs: entry[5] };
      const decision = controller.process({ ...(feedback ? { feedback } : {}), sentBytes, ladder, active: 'source', pending }, at);
      if (decision.target !== (pending ?? 'source')) {
        moves.push({ at, to: decision.target, reason: decision.reason });
        pending = decision.target;
      }
    }
    expect(moves.length).toBeGreaterThan(0);
    expect(moves[0]!.at).toBeGreaterThan(trace.limitAt);
    expect(moves[0]!.at - trace.limitAt).toBeLessThanOrEqual(1000);
    expect(ladder.find((r) => r.name === moves[0]!.to)!.kbps).toBeLessThan(600);
    console.log(`recorded trace: first move ${moves[0]!.at - trace.limitAt} ms after the limit, to ${moves[0]!.to} (${moves[0]!.reason})`);
  });
});
