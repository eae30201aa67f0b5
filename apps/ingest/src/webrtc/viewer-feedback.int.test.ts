/**
 * A viewer's RTCP as the feedback its rate controller reads (ViewerPeer.onFeedback), on both
 * viewer engines, against a real werift player over loopback: its reception reports (how far it
 * is behind our sending, the round trip from our sender reports) and its REMB. Without it a
 * viewer on that engine is never moved off a rendition its link cannot carry.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  ReceiverEstimatedMaxBitrate,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPayloadSpecificFeedback,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpSrPacket,
  type RTCRtpTransceiver,
} from 'werift';
import { pollUntil } from '../../../../test/support/poll';
import { connectedPromise, loopbackIce, waitGathered } from '../../../../test/support/peers/werift-h264-publisher';
import { DatachannelViewerEngine } from './datachannel-engine';
import type { MediaEngine, NegotiatedCodec, OutboundRtp, ViewerFeedback, ViewerPeer } from './engine';
import { WeriftEngine } from './werift-engine';

const H264: NegotiatedCodec = { kind: 'video', name: 'H264', clockRate: 90000, payloadType: 102, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' };
const datachannel = new DatachannelViewerEngine();
const engines: Record<string, Pick<MediaEngine, 'createViewer'>> = { datachannel, werift: new WeriftEngine() };
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(() => datachannel.close());

describe.each(['datachannel', 'werift'] as const)('viewer feedback on %s', (engineName) => {
  /** A werift player offering H.264 recvonly, like a WHEP player, answered by the engine; it records our sender reports. */
  async function connectViewer() {
    const pc = new RTCPeerConnection({
      codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, payloadType: H264.payloadType, parameters: H264.fmtp!, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb' }] })], audio: [] },
      ...loopbackIce,
    });
    const transceiver: RTCRtpTransceiver = pc.addTransceiver('video', { direction: 'recvonly' });
    let packets = 0;
    const senderReports: Array<{ report: RtcpSrPacket; at: number }> = [];
    transceiver.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => (packets += 1)));
    await pc.setLocalDescription(await pc.createOffer());
    await waitGathered(pc);
    const viewer = await engines[engineName]!.createViewer({ offer: pc.localDescription!.sdp, codecs: { video: H264 }, ice: { hosts: ['127.0.0.1'], portRange: undefined } });
    cleanups.push(() => pc.close(), () => viewer.close());
    await pc.setRemoteDescription({ type: 'answer', sdp: viewer.answer });
    transceiver.dtlsTransport.onRtcp.subscribe((rtcp) => {
      if (rtcp instanceof RtcpSrPacket) senderReports.push({ report: rtcp, at: performance.now() });
    });
    await connectedPromise(pc);
    await pollUntil('engine peer connected', () => viewer.state === 'connected', { timeoutMs: 5000, intervalMs: 10 });
    const feedback: ViewerFeedback[] = [];
    viewer.onFeedback!((message) => feedback.push(message));
    let seq = 0;
    // The first packet through (the track opens just after the peer connects).
    await pollUntil('first packet through', () => {
      if (packets > 0) return true;
      viewer.send('video', packet(viewer, (seq += 1), 0, randomBytes(100)));
      return false;
    }, { timeoutMs: 5000, intervalMs: 20 });
    const sendReport = (info: Partial<RtcpReceiverInfo>) =>
      transceiver.dtlsTransport.sendRtcp([new RtcpRrPacket({ ssrc: 1, reports: [new RtcpReceiverInfo({ ssrc: viewer.ssrc('video')!, fractionLost: 0, packetsLost: 0, highestSequence: 0, jitter: 0, lsr: 0, dlsr: 0, ...info })] })]);
    return { pc, transceiver, viewer, feedback, senderReports, sendReport };
  }

  function packet(viewer: ViewerPeer, sequenceNumber: number, timestamp: number, payload: Buffer): OutboundRtp {
    return { sequenceNumber, timestamp, ssrc: viewer.ssrc('video')!, payloadType: H264.payloadType, marker: true, payload };
  }

  it('a report says how far the player is behind our sending: the time and the octets after its highest sequence number', async () => {
    const { viewer, feedback, sendReport } = await connectViewer();
    for (let i = 0; i < 10; i++) {
      viewer.send('video', packet(viewer, 4000 + i, 9000 + i * 3000, randomBytes(500)));
      // The gap under test (not a wait for readiness): the last five leave ≥ 100 ms after the fifth.
      if (i === 4) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await sendReport({ highestSequence: 4004, fractionLost: 64, packetsLost: 3 });
    const report = await pollUntil('the report as feedback', () => feedback.find((f) => f.type === 'report' && f.highestSequence === 4004), { timeoutMs: 5000, intervalMs: 10 });
    if (report.type !== 'report') throw new Error('not a report');
    expect(report).toMatchObject({ kind: 'video', fractionLost: 0.25, cumulativeLost: 3 });
    expect(report.sentOctets! - report.deliveredOctets!).toBe(5 * 500);
    expect(report.behindMs).toBeGreaterThanOrEqual(95);
    expect(report.behindMs).toBeLessThan(2000);
  });

  it('a report that echoes our sender report gives the round trip (RFC 3550 §6.4.1)', async () => {
    const { viewer, feedback, senderReports, sendReport } = await connectViewer();
    // A 30 fps stream until a sender report arrives (they follow the first packets; werift's every 0.5–1.5 s).
    let seq = 5000;
    const timer = setInterval(() => viewer.send('video', packet(viewer, (seq += 1), seq * 3000, randomBytes(300))), 33);
    try {
      const { report, at } = await pollUntil('a sender report', () => senderReports.find((r) => r.report.ssrc === viewer.ssrc('video')), { timeoutMs: 5000, intervalMs: 20 });
      const lsr = Number((report.senderInfo.ntpTimestamp >> 16n) & 0xffffffffn);
      // Held 300 ms by the player (DLSR, 1/65536 s) before it answers: our next report may have left meanwhile.
      await pollUntil('300 ms held', () => performance.now() - at >= 300, { timeoutMs: 2000, intervalMs: 5 });
      const held = performance.now() - at;
      await sendReport({ highestSequence: seq, lsr, dlsr: Math.round((held / 1000) * 65_536) });
      const echoed = await pollUntil('the echo as feedback', () => feedback.find((f) => f.type === 'report' && f.rttMs !== null), { timeoutMs: 5000, intervalMs: 10 });
      if (echoed.type !== 'report') throw new Error('not a report');
      // Loopback: the round trip is the two hops' processing, not the 300 ms the player held it.
      expect(echoed.rttMs).toBeGreaterThanOrEqual(0);
      expect(echoed.rttMs).toBeLessThan(150);
    } finally {
      clearInterval(timer);
    }
  });

  it('a REMB comes out as the player\'s estimate of the path', async () => {
    const { viewer, feedback, transceiver } = await connectViewer();
    const bitrate = 1_234_560;
    const remb = new ReceiverEstimatedMaxBitrate({ senderSsrc: 1, mediaSsrc: 0, ssrcNum: 1, ssrcFeedbacks: [viewer.ssrc('video')!], bitrate: BigInt(bitrate) });
    remb.brExp = 3;
    remb.brMantissa = bitrate / 8;
    await transceiver.dtlsTransport.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: remb })]);
    await pollUntil('the REMB as feedback', () => feedback.find((f) => f.type === 'remb'), { timeoutMs: 5000, intervalMs: 10 });
    expect(feedback.filter((f) => f.type === 'remb')).toEqual([{ type: 'remb', bitrate }]);
  });
});
