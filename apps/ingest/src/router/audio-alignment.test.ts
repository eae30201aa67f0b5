import { describe, expect, it } from 'vitest';
import type { InboundRtp, OutboundRtp } from '../webrtc/engine';
import { AUDIO_GROW_STEP_MS, AUDIO_SHRINK_STEP_MS, AudioAlignment, MAX_AUDIO_DELAY_MS, MAX_HELD_PACKETS } from './audio-alignment';
import { sendBatch, sendDueAudio, type MediaCounters, type PendingPacket } from './fan-out';
import { SOURCE, type VideoOrigin } from './rendition-catalog';
import { RtpRewriter } from './rtp-rewriter';
import type { ViewerState } from './viewer-state';

/** Audio packet n of the publisher: 20 ms of Opus, arriving at n × 20 ms. */
function audio(n: number): InboundRtp {
  return { kind: 'audio', sequenceNumber: 500 + n, timestamp: 9600 + n * 960, ssrc: 11, payloadType: 111, marker: false, payload: Buffer.from([n]), size: 13 };
}

describe('AudioAlignment (pure)', () => {
  it('without a delay, every packet leaves at once and nothing is held', () => {
    const align = new AudioAlignment();
    for (let n = 0; n < 5; n++) expect(align.offer(audio(n), n * 20)).toBe('send');
    expect(align.held).toBe(0);
    expect(align.nextDueAt()).toBeUndefined();
  });

  it('a delay holds each packet that long; the first to leave starts a new regime (rebase), the rest follow it in order', () => {
    const align = new AudioAlignment();
    expect(align.offer(audio(0), 0)).toBe('send');
    align.setDelay(110, 10);
    for (let n = 1; n <= 4; n++) expect(align.offer(audio(n), n * 20)).toBe('held');
    expect(align.nextDueAt()).toBe(130);
    expect(align.takeDue(129)).toEqual([]);
    expect(align.takeDue(150).map((d) => [d.packet.payload[0], d.rebase])).toEqual([[1, true], [2, false]]);
    expect(align.takeDue(190).map((d) => [d.packet.payload[0], d.rebase])).toEqual([[3, false], [4, false]]);
    expect(align.held).toBe(0);
  });

  it('a shorter delay drops what it makes overdue (the picture jumps forward as much) and starts a new regime', () => {
    const align = new AudioAlignment();
    align.setDelay(100, 0);
    for (let n = 0; n < 6; n++) align.offer(audio(n), n * 20); // arrivals 0…100, due 100…200
    expect(align.takeDue(100).map((d) => d.packet.payload[0])).toEqual([0]);
    align.setDelay(30, 105);
    // Due now at arrival + 30: 20…70 (1…3) are past; 80 and 100 (4, 5) are due at 110 and 130.
    expect(align.held).toBe(2);
    expect(align.takeDue(110).map((d) => [d.packet.payload[0], d.rebase])).toEqual([[4, true]]);
    align.setDelay(0, 120);
    expect(align.held).toBe(0);
    expect(align.offer(audio(6), 120)).toBe('rebase');
    expect(align.offer(audio(7), 140)).toBe('send');
  });

  it('drift is let be while people would not notice it (sound early < 25 ms, late < 60 ms); back to 0 at once; the delay is clamped', () => {
    const align = new AudioAlignment();
    align.setDelay(AUDIO_GROW_STEP_MS - 1, 0);
    expect(align.currentDelayMs).toBe(0);
    align.setDelay(110, 0);
    align.setDelay(110 + AUDIO_GROW_STEP_MS - 1, 0);
    align.setDelay(110 - AUDIO_SHRINK_STEP_MS + 1, 0);
    expect(align.currentDelayMs).toBe(110);
    align.setDelay(110 + AUDIO_GROW_STEP_MS, 0);
    expect(align.currentDelayMs).toBe(110 + AUDIO_GROW_STEP_MS);
    align.setDelay(110 + AUDIO_GROW_STEP_MS - AUDIO_SHRINK_STEP_MS, 0);
    expect(align.currentDelayMs).toBe(110 + AUDIO_GROW_STEP_MS - AUDIO_SHRINK_STEP_MS);
    align.setDelay(1, 0);
    expect(align.currentDelayMs).toBe(1);
    align.setDelay(0, 0);
    expect(align.currentDelayMs).toBe(0);
    align.setDelay(60_000, 0);
    expect(align.currentDelayMs).toBe(MAX_AUDIO_DELAY_MS);
    align.setDelay(-5, 0);
    expect(align.currentDelayMs).toBe(0);
    align.setDelay(Number.NaN, 0);
    expect(align.currentDelayMs).toBe(0);
  });

  it('holds at most MAX_HELD_PACKETS (the oldest go), and a clock that steps back makes what is held due at once', () => {
    const align = new AudioAlignment();
    align.setDelay(MAX_AUDIO_DELAY_MS, 0);
    for (let n = 0; n < MAX_HELD_PACKETS + 10; n++) align.offer(audio(n % 256), 1_000_000 + n * 20);
    expect(align.held).toBe(MAX_HELD_PACKETS);
    expect(align.takeDue(500_000).map((d) => d.packet.payload[0])).toHaveLength(MAX_HELD_PACKETS);
  });

  it('a new publisher (clear) starts on no delay, with nothing held', () => {
    const align = new AudioAlignment();
    align.setDelay(100, 0);
    align.offer(audio(0), 0);
    align.clear();
    expect([align.held, align.currentDelayMs]).toEqual([0, 0]);
    expect(align.offer(audio(1), 20)).toBe('send');
  });
});

describe('a viewer\'s audio follows its video across a transcoded rendition (fan-out)', () => {
  const RUNG = { name: '360p', kind: 'transcoded' } as VideoOrigin;
  const counters = (): MediaCounters => ({ packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 });
  function video(origin: VideoOrigin, n: number, keyframe: boolean, now: number, mediaDelayMs?: number): PendingPacket {
    const packet: InboundRtp = { kind: 'video', sequenceNumber: 100 + n, timestamp: n * 3000, ssrc: origin === SOURCE ? 1 : 2, payloadType: 96, marker: true, payload: Buffer.from([keyframe ? 0x67 : 0x41]), size: 13, ...(mediaDelayMs === undefined ? {} : { mediaDelayMs }) };
    return { packet, now, media: true, keyframeStart: keyframe, origin };
  }
  const spoken = (n: number, now: number): PendingPacket => ({ packet: audio(n), now, media: true, keyframeStart: false, origin: SOURCE });
  /** A connected viewer on `video`, switching to `target` at its keyframe, whose sends are recorded (`at`: the test's clock). */
  function viewerMoving(video: VideoOrigin, target: VideoOrigin, clock = () => 0): { state: ViewerState; sent: Array<OutboundRtp & { kind: string; at: number }> } {
    const sent: Array<OutboundRtp & { kind: string; at: number }> = [];
    const state = {
      session: { connected: true, peer: { send: (kind: string, packet: OutboundRtp) => sent.push({ ...packet, kind, at: clock() }) } },
      rewriters: { video: new RtpRewriter({ ssrc: 7, payloadType: 96, clockRate: 90000 }), audio: new RtpRewriter({ ssrc: 8, payloadType: 111, clockRate: 48000, noOverlap: true }) },
      audio: new AudioAlignment(),
      waitingForKeyframe: false,
      video,
      target,
      hold: undefined,
    } as unknown as ViewerState;
    return { state, sent };
  }

  it('held back by the rendition\'s transcode delay, with sequence numbers that go on by one and timestamps that follow the send times', () => {
    let clock = 0;
    const { state, sent } = viewerMoving(SOURCE, RUNG, () => clock);
    const heard = () => sent.filter((p) => p.kind === 'audio');
    // On the source: audio leaves as it comes.
    sendBatch([video(SOURCE, 0, true, 0), spoken(0, 0)], [state], counters());
    expect(heard().map((p) => p.at)).toEqual([0]);
    // The rung's keyframe (its frames 120 ms late) switches the viewer: audio from then on is held 120 ms.
    clock = 20;
    const { audioDueAt } = sendBatch([video(RUNG, 1, true, 20, 120), spoken(1, 20)], [state], counters());
    expect(state.video).toBe(RUNG);
    expect(audioDueAt).toBe(140);
    clock = 40;
    sendBatch([spoken(2, 40)], [state], counters());
    expect(heard()).toHaveLength(1);
    clock = 140;
    expect(sendDueAudio([state], 140, counters())).toBe(160);
    clock = 160;
    expect(sendDueAudio([state], 160, counters())).toBeUndefined();
    const [first, second, third] = heard();
    expect([second!.at, third!.at]).toEqual([140, 160]);
    expect([second!.sequenceNumber - first!.sequenceNumber, third!.sequenceNumber - second!.sequenceNumber]).toEqual([1, 1]);
    // The pause is in the timestamps (140 ms of 48 kHz), so the player sees a gap, not late packets.
    expect([second!.timestamp - first!.timestamp, third!.timestamp - second!.timestamp]).toEqual([140 * 48, 20 * 48]);
    expect(third!.payload[0]).toBe(2);
  });

  it('back on the source: the audio the shorter delay makes overdue is skipped, and no two packets overlap in time', () => {
    const { state, sent } = viewerMoving(RUNG, SOURCE);
    // On the rung (110 ms late): audio 0…9 arrive every 20 ms and leave 110 ms later.
    sendBatch([video(RUNG, 0, true, 0, 110)], [state], counters());
    for (let n = 0; n < 10; n++) {
      sendBatch([spoken(n, n * 20)], [state], counters());
      // The router's timer, on time.
      sendDueAudio([state], n * 20 + 10, counters());
    }
    // The source's keyframe at 199 ms: the viewer is back on it; audio 5…9 (due 210…290) are overdue now.
    sendBatch([video(SOURCE, 1, true, 199), spoken(10, 200)], [state], counters());
    sendDueAudio([state], 400, counters());
    const heard = sent.filter((p) => p.kind === 'audio');
    expect(heard.map((p) => p.payload[0])).toEqual([0, 1, 2, 3, 4, 10]);
    const steps = heard.slice(1).map((p, i) => p.timestamp - heard[i]!.timestamp);
    expect(steps.every((step) => step >= 960), `timestamp steps ${steps.join(', ')}`).toBe(true);
    expect(heard.slice(1).map((p, i) => p.sequenceNumber - heard[i]!.sequenceNumber)).toEqual([1, 1, 1, 1, 1]);
  });
});
