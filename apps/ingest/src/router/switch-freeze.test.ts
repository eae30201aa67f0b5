/**
 * The picture during a move down, end to end in the router: a StreamRouter with a publisher
 * (640×360 at 1.2 Mbit/s, 15 fps, a keyframe a second) and a transcoder's 360p / 180p rungs
 * (keyframes every 0.5 s on their own clock, as build-args.ts makes them for WebRTC), one
 * WHEP viewer whose packets go through a simulated token bucket — 3 Mbit/s, then 600 kbit/s
 * with a 600 ms queue that drops what overflows, as in the shaped-link e2e test — and a
 * player that shows a frame once all its packets came, if the frame before it in its
 * rendition was shown (or it is a keyframe). The viewer's reports say what the engine's do
 * (how far behind our sending the newest packet it got was, the octets up to it; every 200 ms).
 *
 * Table-driven over where the 180p rung's keyframes fall against the limit, on time or a frame
 * early / late (a loaded transcoder), and where the source's keyframe falls: the router must
 * move the viewer to 180p and, from the move on, the picture must never stand still for more
 * than 200 ms (issue 12's goal). Each half of the change is needed: with the move decided on the
 * backlog alone (bc59bf5) every row froze for 655–1186 ms, 70–74 packets dropped; decided on
 * what is on the path but held from a 400 ms backlog as before, the rows whose source keyframe
 * came 2 frames before the limit froze for 280–566 ms (9–30 dropped) — only the one 6 frames
 * before held, by the luck of the next one coming just after the move (a hold starts there).
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OutboundRtp } from '../webrtc/engine';
import { FakeFeed, FakePublisher, FakeRenditionSet, FakeViewer, H264, OPUS, OPUS_FRAME } from './router-test-kit';
import { PublisherSession, ViewerSession } from './sessions';
import { StreamRouter } from './stream-router';

const log = pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' });
const FPS = 15;
const FRAME_MS = 1000 / FPS;
const PACKET = 1200;
/** Bytes on the wire beside the RTP payload: RTP, SRTP, UDP, IP. */
const OVERHEAD = 12 + 10 + 8 + 20;

interface FrameOf {
  origin: string;
  index: number;
  key: boolean;
  packets: number;
}

/** A frame of `bytes` as RTP payloads (the first starts an SPS when a keyframe), each mapped to its frame. */
function framePayloads(frames: Map<Buffer, FrameOf>, origin: string, index: number, key: boolean, bytes: number): Buffer[] {
  const count = Math.max(1, Math.ceil(bytes / PACKET));
  const info: FrameOf = { origin, index, key, packets: count };
  const payloads: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const payload = Buffer.alloc(Math.min(PACKET, bytes - i * PACKET) || 1, 0);
    // An SPS starts a keyframe (codec-probe.ts); a non-IDR slice anything else.
    payload[0] = key && i === 0 ? 0x67 : 0x41;
    frames.set(payload, info);
    payloads.push(payload);
  }
  return payloads;
}

interface Scenario {
  /** Where the rungs' keyframes fall: one at limitAt + this (and every 500 ms around it), ms. */
  rungPhaseMs: number;
  /** A loaded transcoder: each keyframe a frame early or late (0, +1, 0, −1, +1 frames, over again). */
  jitter?: boolean;
  /** The source's keyframe (one a second) this many frames before the limit. Default 6 (400 ms). */
  sourceKeyFramesBefore?: number;
}

interface Outcome {
  active: string;
  /** From the limit to the move, ms. */
  decidedAfterMs: number | undefined;
  longestFreezeMs: number;
  dropped: number;
}

function run({ rungPhaseMs, jitter = false, sourceKeyFramesBefore = 6 }: Scenario): Outcome {
  let clock = 1_000_000;
  const router = new StreamRouter({ streamId: 's1', keyframeIntervalMs: 500, counters: { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 }, log, now: () => clock });
  const pub = new FakePublisher({ video: H264, audio: OPUS }, { video: 1111, audio: 2222 });
  router.attachPublisher(new PublisherSession('whip', 's1', pub, log, 10_000));
  pub.connect();
  const set = new FakeRenditionSet('tx-1', [new FakeFeed('360p', 640, 360, 600, 0x360, 'H264', FPS), new FakeFeed('180p', 320, 180, 200, 0x180, 'H264', FPS)]);
  router.attachRenditions(set);
  const peer = new FakeViewer({ video: { ...H264, payloadType: 102 }, audio: { ...OPUS, payloadType: 109 } }, { video: 7000, audio: 7001 });
  const session = new ViewerSession('s1', peer, log, 10_000);
  router.addViewer(session);
  peer.connect();

  // The path: a token bucket draining `rate` bytes/ms, holding at most QUEUE_MS of it.
  const start = clock;
  const limitAt = start + 8000;
  const end = limitAt + 4000;
  const QUEUE_MS = 600;
  const rateAt = (t: number) => (t < limitAt ? 3000 : 600) / 8;
  let queueBytes = 0;
  let queueAt = start;
  /** Each video packet sent: when, its payload octets so far, when it arrived (undefined: dropped). */
  const video: Array<{ sentAt: number; octets: number; arrivedAt: number | undefined; payload: Buffer }> = [];
  let octets = 0;
  let dropped = 0;
  let seen = 0;
  const path = () => {
    for (; seen < peer.sentPackets.length; seen++) {
      const { kind, rtp } = peer.sentPackets[seen]! as { kind: string; rtp: OutboundRtp };
      const rate = rateAt(clock);
      queueBytes = Math.max(0, queueBytes - (clock - queueAt) * rate);
      queueAt = clock;
      const size = rtp.payload.length + OVERHEAD;
      let arrivedAt: number | undefined;
      if (queueBytes + size > rate * QUEUE_MS) dropped += 1;
      else {
        queueBytes += size;
        arrivedAt = clock + queueBytes / rate;
      }
      if (kind !== 'video') continue;
      octets += rtp.payload.length;
      video.push({ sentAt: clock, octets, arrivedAt, payload: rtp.payload });
    }
  };
  let lastReportAt = start;
  const report = () => {
    let newest: (typeof video)[number] | undefined;
    let index = -1;
    for (let i = video.length - 1; i >= 0; i--) {
      const p = video[i]!;
      if (p.arrivedAt !== undefined && p.arrivedAt <= clock) {
        newest = p;
        index = i;
        break;
      }
    }
    if (!newest) return;
    const lost = video.slice(0, index + 1).filter((p) => p.arrivedAt === undefined).length;
    peer.feedback({ type: 'report', kind: 'video', fractionLost: 0, cumulativeLost: lost, highestSequence: index, jitterMs: 1, rttMs: 20, behindMs: video.at(-1)!.sentAt - newest.sentAt, deliveredOctets: newest.octets, sentOctets: octets });
  };

  /** When the router chose another rendition for the viewer (its switch pending until the target's keyframe). */
  let decidedAt: number | undefined;
  const frames = new Map<Buffer, FrameOf>();
  const seq: Record<string, number> = { source: 0, audio: 0, '360p': 0, '180p': 0 };
  const next = (name: string) => (seq[name] = (seq[name]! + 1) & 0xffff);
  const send = (t: number) => {
    clock = t;
    const frame = Math.round((t - start) / FRAME_MS);
    // The source: a 30 KB keyframe a second, 8.6 KB frames otherwise (the limit is at frame 120).
    const sourceKey = frame % FPS === (FPS - sourceKeyFramesBefore);
    for (const payload of framePayloads(frames, 'source', frame, sourceKey, sourceKey ? 30_000 : 8_600)) pub.rtp('video', next('source'), frame * 6000, payload);
    // The rungs: on their own clock, a keyframe every 500 ms at the phase.
    const period = Math.floor((t - limitAt - rungPhaseMs + FRAME_MS / 2) / 500);
    const keyAt = limitAt + rungPhaseMs + period * 500 + (jitter ? [0, 1, 0, -1, 1][((period % 5) + 5) % 5]! * FRAME_MS : 0);
    const rungKey = t >= keyAt - FRAME_MS / 2 && t < keyAt + FRAME_MS / 2;
    for (const [name, key, delta] of [['360p', 18_000, 4_000], ['180p', 6_000, 1_200]] as const) {
      for (const payload of framePayloads(frames, name, frame, rungKey, rungKey ? key : delta)) set.rtp(name, next(name), frame * 6000, payload);
    }
    for (let i = 0; i < 3; i++) pub.rtp('audio', next('audio'), (frame * 3 + i) * 960, OPUS_FRAME);
    router.flush();
    path();
    if (t - lastReportAt >= 200) {
      lastReportAt = t;
      const before = router.renditionSwitches.down;
      report();
      if (decidedAt === undefined && router.renditionSwitches.down > before) decidedAt = t;
    }
  };
  for (let t = start; t <= end; t += FRAME_MS) send(t);

  // The player: a frame is shown when its last packet came, if it came whole and the frame before it in its rendition was shown.
  const arrived = new Map<FrameOf, { got: number; at: number; broken: boolean }>();
  for (const p of video) {
    const info = frames.get(p.payload)!;
    const state = arrived.get(info) ?? { got: 0, at: 0, broken: false };
    if (p.arrivedAt === undefined) state.broken = true;
    else {
      state.got += 1;
      state.at = Math.max(state.at, p.arrivedAt);
    }
    arrived.set(info, state);
  }
  const shown: number[] = [];
  const lastShown = new Map<string, number>();
  for (const [info, state] of [...arrived].sort((a, b) => a[1].at - b[1].at)) {
    const whole = !state.broken && state.got === info.packets;
    const chained = info.key || lastShown.get(info.origin) === info.index - 1;
    if (!whole || !chained) continue;
    lastShown.set(info.origin, info.index);
    shown.push(state.at);
  }
  // From the last frame shown before the move to the end: the switch's freeze. (At the limit
  // itself a 1.2 Mbit/s frame takes two frame intervals through 600 kbit/s: ~130–220 ms
  // between frames until the move, whatever the router does.)
  const decision = decidedAt ?? end;
  const before = shown.filter((at) => at < decision).at(-1) ?? decision;
  const during = [before, ...shown.filter((at) => at >= decision && at <= end - 500)];
  let longestFreezeMs = 0;
  for (let i = 1; i < during.length; i++) longestFreezeMs = Math.max(longestFreezeMs, during[i]! - during[i - 1]!);
  const active = router.layers(session.id).active;
  router.close('test_end');
  return { active, decidedAfterMs: decidedAt === undefined ? undefined : Math.round(decidedAt - limitAt), longestFreezeMs: Math.round(longestFreezeMs), dropped };
}

describe('a viewer moved down behind a 600 kbit/s token bucket with a 600 ms queue', () => {
  afterEach(() => vi.useRealTimers());

  it.each([
    [0, false, 6], [100, false, 6], [200, false, 6], [300, false, 6], [400, false, 6],
    [0, true, 6], [100, true, 6], [200, true, 6], [300, true, 6], [400, true, 6],
    [0, false, 2], [100, false, 2], [200, false, 2], [300, false, 2], [400, false, 2],
    [0, true, 2], [100, true, 2], [200, true, 2], [300, true, 2], [400, true, 2],
  ] as const)('the rung\'s keyframe %i ms after the limit (and every 500 ms; a frame early or late: %s), the source\'s %i frames before: on 180p, no frame gap over 200 ms', (rungPhaseMs, jitter, sourceKeyFramesBefore) => {
    vi.useFakeTimers();
    const outcome = run({ rungPhaseMs, jitter, sourceKeyFramesBefore });
    expect(outcome.active).toBe('180p');
    expect(outcome.decidedAfterMs).toBeDefined();
    expect(outcome.longestFreezeMs).toBeLessThanOrEqual(200);
  });
});
