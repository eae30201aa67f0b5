import { describe, expect, it } from 'vitest';
import type { InboundRtp, OutboundRtp } from '../webrtc/engine';
import { AudioAlignment } from './audio-alignment';
import { sendBatch, type MediaCounters, type PendingPacket } from './fan-out';
import { SOURCE, type VideoOrigin } from './rendition-catalog';
import { RtpRewriter } from './rtp-rewriter';
import type { ViewerState } from './viewer-state';

const RUNG: VideoOrigin = { name: '180p' };
const SSRC = { source: 1000, '180p': 2000 } as Record<string, number>;

/** A viewer on the source, switching down to 180p, whose sends are recorded. */
function viewer(hold: ViewerState['hold']): { state: ViewerState; sent: OutboundRtp[] } {
  const sent: OutboundRtp[] = [];
  const state = {
    session: { connected: true, peer: { send: (_kind: string, packet: OutboundRtp) => sent.push({ ...packet }) } },
    rewriters: { video: new RtpRewriter({ ssrc: 7, payloadType: 96, clockRate: 90000 }) },
    audio: new AudioAlignment(),
    waitingForKeyframe: false,
    video: SOURCE,
    target: RUNG,
    hold,
  } as unknown as ViewerState;
  return { state, sent };
}

let nextSeq: Record<string, number> = {};
function packet(origin: VideoOrigin, keyframeStart: boolean, now: number): PendingPacket {
  const seq = (nextSeq[origin.name] = (nextSeq[origin.name] ?? 100) + 1);
  const rtp: InboundRtp = { kind: 'video', sequenceNumber: seq, timestamp: seq * 6000, ssrc: SSRC[origin.name]!, payloadType: 96, marker: true, payload: Buffer.from([keyframeStart ? 0x67 : 0x41]), size: 13 };
  return { packet: rtp, now, media: true, keyframeStart, origin };
}

const counters = (): MediaCounters => ({ packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 });

describe('sendBatch while a viewer moves down', () => {
  it('holding: no more of the origin it leaves until the target\'s keyframe, then the target, numbered without a hole', () => {
    nextSeq = {};
    const { state, sent } = viewer({ target: RUNG, until: 10_000, holding: true, held: false });
    sendBatch([packet(SOURCE, false, 0), packet(RUNG, false, 0), packet(SOURCE, false, 10), packet(RUNG, true, 20), packet(SOURCE, false, 30), packet(RUNG, false, 30)], [state], counters());
    // Only the rung's keyframe and what follows it: the source's P-frames were held back.
    expect(sent.map((p) => p.payload[0])).toEqual([0x67, 0x41]);
    expect(state.video).toBe(RUNG);
    expect(state.hold).toBeUndefined();
    const seqs = sent.map((p) => p.sequenceNumber);
    expect(seqs[1]! - seqs[0]!).toBe(1);
  });

  it('not holding yet (a shallow backlog): the origin it leaves goes on until the target\'s keyframe', () => {
    nextSeq = {};
    const { state, sent } = viewer({ target: RUNG, until: 10_000, holding: false, held: false });
    sendBatch([packet(SOURCE, false, 0), packet(SOURCE, false, 10), packet(RUNG, true, 20), packet(SOURCE, false, 30)], [state], counters());
    expect(sent.map((p) => p.payload[0])).toEqual([0x41, 0x41, 0x67]);
    expect(sent.map((p) => p.sequenceNumber)).toEqual([sent[0]!.sequenceNumber, sent[0]!.sequenceNumber + 1, sent[0]!.sequenceNumber + 2]);
  });

  it('not holding yet, but a keyframe of the origin it leaves comes first: holding from it (never a keyframe into the path it leaves)', () => {
    nextSeq = {};
    const { state, sent } = viewer({ target: RUNG, until: 10_000, holding: false, held: false });
    sendBatch([packet(SOURCE, false, 0), packet(SOURCE, true, 10), packet(SOURCE, false, 20), packet(RUNG, true, 30), packet(RUNG, false, 40)], [state], counters());
    expect(sent.map((p) => p.payload[0])).toEqual([0x41, 0x67, 0x41]);
    expect(state.video).toBe(RUNG);
    expect(sent.map((p) => p.sequenceNumber)).toEqual([sent[0]!.sequenceNumber, sent[0]!.sequenceNumber + 1, sent[0]!.sequenceNumber + 2]);
  });

  it('a hold timed to the target\'s keyframe (startAt): the origin it leaves goes on until that moment, then nothing of it', () => {
    nextSeq = {};
    const { state, sent } = viewer({ target: RUNG, until: 10_000, holding: false, held: false, startAt: 100 });
    sendBatch([packet(SOURCE, false, 0), packet(SOURCE, false, 66), packet(SOURCE, false, 133), packet(SOURCE, false, 200), packet(RUNG, true, 250)], [state], counters());
    expect(sent.map((p) => p.payload[0])).toEqual([0x41, 0x41, 0x67]);
    expect(state.video).toBe(RUNG);
    expect(sent.map((p) => p.sequenceNumber)).toEqual([sent[0]!.sequenceNumber, sent[0]!.sequenceNumber + 1, sent[0]!.sequenceNumber + 2]);
  });

  it('a hold on a full queue (switchAfter): the target\'s keyframe before it is passed over, the next one switches', () => {
    nextSeq = {};
    const { state, sent } = viewer({ target: RUNG, until: 10_000, holding: true, held: false, startAt: 0, switchAfter: 150 });
    sendBatch([packet(RUNG, true, 10), packet(RUNG, false, 76), packet(SOURCE, false, 100), packet(RUNG, true, 510), packet(RUNG, false, 576)], [state], counters());
    expect(sent.map((p) => p.payload[0])).toEqual([0x67, 0x41]);
    expect(state.video).toBe(RUNG);
    expect(state.hold).toBeUndefined();
  });

  it('a hold whose target sends no keyframe in time ends, and the viewer starts again at a keyframe of its origin (never a P-frame after the gap)', () => {
    nextSeq = {};
    const { state, sent } = viewer({ target: RUNG, until: 100, holding: true, held: false });
    sendBatch([packet(SOURCE, false, 0), packet(SOURCE, false, 50)], [state], counters());
    expect(sent).toEqual([]);
    const after = sendBatch([packet(SOURCE, false, 150), packet(SOURCE, true, 200), packet(SOURCE, false, 250)], [state], counters());
    expect(sent.map((p) => p.payload[0])).toEqual([0x67, 0x41]);
    expect(state.hold).toBeUndefined();
    expect(after.waiting.has(RUNG)).toBe(true);
  });
});
