import { describe, expect, it } from 'vitest';
import { reportFeedback, reportRoundTripMs, SendLog, type TrackSending, viewerFeedback } from './report-feedback';
import { parseRtcp } from './rtcp/parse-rtcp';
import { encodeReceiverReport, type ReportBlock } from './rtcp/receiver-report';
import { encodeRemb } from './rtcp/remb';

const VIDEO_SSRC = 0x1111;
const AUDIO_SSRC = 0x2222;
const block: ReportBlock = { ssrc: VIDEO_SSRC, fractionLost: 0.25, cumulativeLost: 12, highestSequence: 0x1_0000 + 104, jitter: 900, lastSenderReport: 0, delaySinceLastSenderReport: 0 };

/** A PLI (RFC 4585 §6.3.1): PSFB header (FMT 1, length 2 words), sender SSRC, media SSRC. */
function pli(senderSsrc: number, mediaSsrc: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt8(0x81, 0);
  out.writeUInt8(206, 1);
  out.writeUInt16BE(2, 2);
  out.writeUInt32BE(senderSsrc, 4);
  out.writeUInt32BE(mediaSsrc, 8);
  return out;
}

/** A video track that sent packets 100…109 of 500 payload bytes, one every 10 ms from t = 1000. */
function videoTrack(): TrackSending {
  const history = new SendLog(64);
  let octets = 0;
  for (let i = 0; i < 10; i++) history.record(100 + i, 1000 + i * 10, (octets += 500));
  return { kind: 'video', ssrc: VIDEO_SSRC, clockRate: 90_000, payloadOctets: octets, lastPacketAt: 1090, history, senderReports: [] };
}

describe('SendLog', () => {
  it('keeps the last `capacity` packets by their 16-bit sequence number: a report names them extended (cycles × 65536 + seq)', () => {
    const log = new SendLog(8);
    for (let seq = 0xfffa; seq < 0x10000 + 6; seq++) log.record(seq & 0xffff, seq, seq * 10);
    expect(log.sent(0x1_0005)).toEqual({ at: 0x10005, octets: 0x10005 * 10 });
    expect(log.sent(0xfffe)).toEqual({ at: 0xfffe, octets: 0xfffe * 10 });
    // Overwritten by a later packet of the same slot: no longer kept, not the later one's times.
    expect(log.sent(0xfffa)).toBeUndefined();
    expect(log.sent(42)).toBeUndefined();
  });
});

describe('reportFeedback', () => {
  it('says how far the receiver is behind our sending: the time and the octets after its highest sequence number', () => {
    const feedback = reportFeedback(videoTrack(), block, 2000);
    expect(feedback).toEqual({
      type: 'report', kind: 'video', fractionLost: 0.25, cumulativeLost: 12, highestSequence: 0x1_0000 + 104, jitterMs: 10,
      rttMs: null, behindMs: 50, deliveredOctets: 5 * 500, sentOctets: 10 * 500,
    });
  });

  it('says nothing of the backlog for a packet no longer kept, or a track without history', () => {
    expect(reportFeedback(videoTrack(), { ...block, highestSequence: 7 }, 2000)).toMatchObject({ behindMs: null, deliveredOctets: null, sentOctets: 5000 });
    expect(reportFeedback({ ...videoTrack(), kind: 'audio', clockRate: 48_000, history: undefined }, { ...block, jitter: 480 }, 2000)).toMatchObject({ kind: 'audio', jitterMs: 10, behindMs: null, deliveredOctets: null });
  });
});

describe('reportRoundTripMs (RFC 3550 §6.4.1)', () => {
  const reports = [{ ntp: 0xaaaa, sentAt: 1000 }, { ntp: 0xbbbb, sentAt: 2000 }, { ntp: 0xbbbb, sentAt: 2500 }];

  it.each([
    ['the SR it echoes, less the receiver\'s hold (DLSR = 0.5 s)', { lastSenderReport: 0xaaaa, delaySinceLastSenderReport: 32_768 }, 1600, 100],
    ['an NTP time sent twice: the newest report (werift repeats a stale one)', { lastSenderReport: 0xbbbb, delaySinceLastSenderReport: 0 }, 2540, 40],
    ['never below zero (a DLSR longer than our clock saw)', { lastSenderReport: 0xaaaa, delaySinceLastSenderReport: 65_536 }, 1500, 0],
    ['none before the receiver had an SR (LSR 0)', { lastSenderReport: 0, delaySinceLastSenderReport: 0 }, 3000, null],
    ['none for an SR we no longer remember', { lastSenderReport: 0xcccc, delaySinceLastSenderReport: 0 }, 3000, null],
  ])('%s', (_name, echo, now, expected) => {
    expect(reportRoundTripMs({ ...block, ...echo }, reports, now)).toBe(expected);
  });
});

describe('viewerFeedback', () => {
  const audio: TrackSending = { kind: 'audio', ssrc: AUDIO_SSRC, clockRate: 48_000, payloadOctets: 300, lastPacketAt: 1090, history: undefined, senderReports: [] };

  it('gives one feedback per block about one of our tracks (BUNDLE: one RR names both), none for another SSRC', () => {
    const rr = encodeReceiverReport(7, [block, { ...block, ssrc: 0x9999 }, { ...block, ssrc: AUDIO_SSRC, highestSequence: 3 }]);
    const [message] = parseRtcp(rr);
    const feedback = viewerFeedback(message!, [videoTrack(), audio], 2000);
    expect(feedback.map((f) => f.type === 'report' && [f.kind, f.highestSequence])).toEqual([['video', 0x1_0000 + 104], ['audio', 3]]);
  });

  it('passes a REMB on as the path\'s estimate, and says nothing for loss feedback', () => {
    const messages = parseRtcp(Buffer.concat([encodeRemb(7, 1_500_000, [VIDEO_SSRC]), pli(7, VIDEO_SSRC)]));
    expect(messages.map((m) => m.type)).toEqual(['remb', 'pli']);
    expect(messages.flatMap((m) => viewerFeedback(m, [videoTrack()], 2000))).toEqual([{ type: 'remb', bitrate: 1_500_000 }]);
  });
});
