/**
 * A viewer's path and its receiver, simulated for the rate controller's tests (pure, deterministic):
 * what we send goes through a bottleneck of a given capacity and queue, and the receiver answers
 * the way Chrome does — a REMB and a receiver report for video every 200 ms.
 *
 * - Queue: fills with (sent − capacity); what overflows `queueMs` of the capacity is lost.
 * - RTT: the base plus the queue's delay.
 * - REMB, Chrome's receive-side AIMD (remote_bitrate_estimator): while the queue grows
 *   (overuse), 0.85 × what arrived; otherwise up by 8 %/s, at most 1.5 × what arrived + 10 kbps.
 *   It starts 5 s after the first packet, at what arrives.
 * - A switch takes effect `switchDelayMs` after it is asked for (the target's keyframe).
 */
import type { ViewerFeedback } from '../../webrtc/engine';
import type { LadderRung, RateController, RateDecision } from './rate-controller';

export interface LinkPhase {
  /** From this time on, ms. */
  at: number;
  capacityKbps: number;
  /** Random loss on top of the bottleneck's, 0…1. */
  randomLoss?: number;
}

export interface SimulationOptions {
  ladder: LadderRung[];
  start: string;
  phases: LinkPhase[];
  durationMs: number;
  /** Queue the bottleneck holds before it drops, ms of its capacity. Default 200. */
  queueMs?: number;
  baseRttMs?: number;
  /** The receiver sends REMB (Chrome, Firefox); false: reports only. Default true. */
  remb?: boolean;
  switchDelayMs?: number;
  /** Per-tick multiplier of what a rendition sends (its bitrate wanders). Default 1. */
  wobble?: (now: number) => number;
}

export interface SimulationStep {
  at: number;
  /** The rendition whose packets the viewer receives. */
  active: string;
  decision: RateDecision;
}

export interface SimulationResult {
  /** Every decision that named another rendition than the current one. */
  moves: Array<{ at: number; from: string; to: string; reason: string; availableKbps: number | undefined }>;
  /** What the viewer received, when. */
  active: Array<{ at: number; name: string }>;
  steps: SimulationStep[];
}

const TICK_MS = 20;
const PACKET_BITS = 1200 * 8;

export function simulate(controller: RateController, options: SimulationOptions): SimulationResult {
  const queueMs = options.queueMs ?? 200;
  const baseRttMs = options.baseRttMs ?? 20;
  const switchDelayMs = options.switchDelayMs ?? 500;
  const kbpsOf = (name: string) => options.ladder.find((r) => r.name === name)!.kbps;
  let active = options.start;
  let pending: { name: string; at: number } | undefined;
  let queueBits = 0;
  let previousQueueBits = 0;
  let sentBytes = 0;
  let highestSequence = 0;
  let cumulativeLost = 0;
  let lossCarry = 0;
  let remb: number | undefined;
  let arrivedBits = 0;
  let random = 1;
  const rand = () => {
    random = (random * 48_271) % 0x7fff_ffff;
    return random / 0x7fff_ffff;
  };
  const result: SimulationResult = { moves: [], active: [{ at: 0, name: active }], steps: [] };
  for (let now = 0; now <= options.durationMs; now += TICK_MS) {
    const phase = [...options.phases].reverse().find((p) => p.at <= now)!;
    if (pending && now >= pending.at) {
      active = pending.name;
      pending = undefined;
      result.active.push({ at: now, name: active });
    }
    const sendKbps = kbpsOf(active) * (options.wobble?.(now) ?? 1);
    const sentBits = sendKbps * TICK_MS;
    sentBytes += sentBits / 8;
    // The bottleneck: drains at capacity, drops what overflows its queue.
    const capacityBits = phase.capacityKbps * TICK_MS;
    queueBits += sentBits;
    const drained = Math.min(queueBits, capacityBits);
    queueBits -= drained;
    const limitBits = phase.capacityKbps * queueMs;
    let droppedBits = 0;
    if (queueBits > limitBits) {
      droppedBits = queueBits - limitBits;
      queueBits = limitBits;
    }
    const packets = sentBits / PACKET_BITS;
    lossCarry += (droppedBits / PACKET_BITS) + packets * (phase.randomLoss ?? 0) * rand() * 2;
    highestSequence += packets;
    const lostNow = Math.min(Math.floor(lossCarry), Math.floor(highestSequence) - cumulativeLost);
    lossCarry -= lostNow;
    cumulativeLost += lostNow;
    arrivedBits += drained;

    const feedback: ViewerFeedback[] = [];
    if (now > 0 && now % 200 === 0) {
      const arrivedKbps = arrivedBits / 200;
      arrivedBits = 0;
      // Overuse: the queue's delay grew by more than 5 ms since the last report (kbit/s × ms = bits).
      const overuse = queueBits - previousQueueBits > 5 * phase.capacityKbps;
      previousQueueBits = queueBits;
      if (now >= 5000) {
        if (remb === undefined) remb = arrivedKbps;
        else if (overuse) remb = Math.min(remb, 0.85 * arrivedKbps);
        else remb = Math.min(remb * 1.08 ** 0.2, 1.5 * arrivedKbps + 10);
      }
      const rttMs = baseRttMs + (queueBits / (phase.capacityKbps * 1000)) * 1000;
      feedback.push({ type: 'report', kind: 'video', fractionLost: 0, cumulativeLost, highestSequence: Math.floor(highestSequence), jitterMs: 1, rttMs });
      if (options.remb !== false && remb !== undefined) feedback.push({ type: 'remb', bitrate: remb * 1000 });
    }
    const observations = feedback.length > 0 ? feedback : now % 250 === 0 ? [undefined] : [];
    for (const item of observations) {
      const current = pending?.name ?? active;
      const decision = controller.process({ ...(item ? { feedback: item } : {}), sentBytes, ladder: options.ladder, active, pending: pending?.name }, now);
      result.steps.push({ at: now, active, decision });
      if (decision.target !== current) {
        result.moves.push({ at: now, from: current, to: decision.target, reason: decision.reason, availableKbps: decision.availableKbps === undefined ? undefined : Math.round(decision.availableKbps) });
        pending = { name: decision.target, at: now + switchDelayMs };
      }
    }
  }
  return result;
}
