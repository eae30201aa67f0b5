import { describe, expect, it } from 'vitest';
import { selectedCandidatePair, summarizeInbound, summarizeOutbound, type StatsLike } from './webrtc-client-stats';

function inboundReport(t: number, o: { bytes: number; frames: number; lost: number; received: number; jbDelay: number; jbCount: number; decode: number }): StatsLike[] {
  return [
    { id: 'T01', type: 'transport', timestamp: t, selectedCandidatePairId: 'CP1' },
    { id: 'CP1', type: 'candidate-pair', timestamp: t, currentRoundTripTime: 0.004, nominated: true, state: 'succeeded' },
    { id: 'CP2', type: 'candidate-pair', timestamp: t, currentRoundTripTime: 0.5 },
    { id: 'C1', type: 'codec', timestamp: t, mimeType: 'video/H264' },
    { id: 'C2', type: 'codec', timestamp: t, mimeType: 'audio/opus' },
    {
      id: 'IV', type: 'inbound-rtp', kind: 'video', timestamp: t, codecId: 'C1', frameWidth: 1280, frameHeight: 720, bytesReceived: o.bytes,
      framesDecoded: o.frames, packetsLost: o.lost, packetsReceived: o.received, jitterBufferDelay: o.jbDelay, jitterBufferEmittedCount: o.jbCount, totalDecodeTime: o.decode,
    },
    { id: 'IA', type: 'inbound-rtp', kind: 'audio', timestamp: t, codecId: 'C2', bytesReceived: 0, packetsLost: 0, packetsReceived: 0 },
  ];
}

describe('summarizeInbound', () => {
  it('reports cumulative averages on the first sample and no rates', () => {
    const s = summarizeInbound(inboundReport(1000, { bytes: 1000, frames: 30, lost: 0, received: 100, jbDelay: 1.5, jbCount: 30, decode: 0.09 }));
    expect(s).toMatchObject({ width: 1280, height: 720, videoCodec: 'H264', audioCodec: 'opus', bitrateKbps: null, packetLossPercent: null, rttMs: 4 });
    expect(s.jitterBufferMs).toBeCloseTo(50);
    expect(s.decodeMs).toBeCloseTo(3);
    expect(s.latencyMs).toBeCloseTo(50 + 3 + 2);
  });

  it('measures rates and per-frame delays over the last interval', () => {
    const first = summarizeInbound(inboundReport(1000, { bytes: 1000, frames: 30, lost: 0, received: 100, jbDelay: 1.5, jbCount: 30, decode: 0.09 }));
    const second = summarizeInbound(inboundReport(2000, { bytes: 251000, frames: 60, lost: 10, received: 190, jbDelay: 2.1, jbCount: 60, decode: 0.15 }), first.counters);
    expect(second.bitrateKbps).toBeCloseTo(2000); // 250 000 bytes in 1 s
    expect(second.fps).toBeCloseTo(30);
    expect(second.packetLossPercent).toBeCloseTo(10); // 10 lost of 100 expected
    expect(second.jitterBufferMs).toBeCloseTo(20); // 0.6 s over 30 frames
    expect(second.decodeMs).toBeCloseTo(2);
    expect(second.latencyMs).toBeCloseTo(20 + 2 + 2);
  });

  it('copes with an empty report', () => {
    expect(summarizeInbound([])).toMatchObject({ width: null, fps: null, latencyMs: null, bitrateKbps: null, packetsLost: 0 });
  });
});

describe('selectedCandidatePair', () => {
  it('falls back to the nominated succeeded pair when no transport names one', () => {
    const report: StatsLike[] = [
      { id: 'a', type: 'candidate-pair', timestamp: 0, state: 'in-progress' },
      { id: 'b', type: 'candidate-pair', timestamp: 0, state: 'succeeded', nominated: true },
    ];
    expect(selectedCandidatePair(report)?.id).toBe('b');
  });
});

describe('summarizeOutbound', () => {
  it('reports the largest video layer and send rates', () => {
    const at = (t: number, bytes: number, frames: number): StatsLike[] => [
      { id: 'C1', type: 'codec', timestamp: t, mimeType: 'video/H264' },
      { id: 'OV1', type: 'outbound-rtp', kind: 'video', timestamp: t, codecId: 'C1', frameWidth: 640, frameHeight: 360, bytesSent: bytes / 4, framesEncoded: frames, qualityLimitationReason: 'none' },
      { id: 'OV2', type: 'outbound-rtp', kind: 'video', timestamp: t, codecId: 'C1', frameWidth: 1280, frameHeight: 720, bytesSent: bytes, framesEncoded: frames, framesPerSecond: 30, qualityLimitationReason: 'bandwidth' },
      { id: 'OA', type: 'outbound-rtp', kind: 'audio', timestamp: t, bytesSent: bytes / 10 },
      { id: 'RV', type: 'remote-inbound-rtp', kind: 'video', timestamp: t, fractionLost: 0.01, roundTripTime: 0.02 },
    ];
    const first = summarizeOutbound(at(0, 0, 0));
    const second = summarizeOutbound(at(500, 100_000, 15), first.counters);
    expect(second).toMatchObject({ width: 1280, height: 720, fps: 30, videoCodec: 'H264', qualityLimitation: 'bandwidth', remoteFractionLost: 0.01, rttMs: 20 });
    expect(second.videoKbps).toBeCloseTo(2000); // 125 000 bytes in 0.5 s
    expect(second.audioKbps).toBeCloseTo(160);
    expect(second.remoteReportAt).toBe(500);
    expect(summarizeOutbound([]).remoteReportAt).toBeNull();
  });
});
