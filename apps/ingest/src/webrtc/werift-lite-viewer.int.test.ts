/**
 * An ICE-lite viewer sends no consent checks, so a player that vanished without DELETE is
 * noticed by its silence (werift-engine.ts, LITE_SILENCE_MS): a real werift player over loopback
 * that keeps reporting stays connected; once its RTCP stops, the viewer fails (and its session is
 * closed, sessions.ts), instead of being held — and sent to — for ever.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RTCPeerConnection, RTCRtpCodecParameters, RtcpReceiverInfo, RtcpRrPacket } from 'werift';
import { holdsFor, pollUntil } from '../../../../test/support/poll';
import { connectedPromise, loopbackIce, waitGathered } from '../../../../test/support/peers/werift-h264-publisher';
import type { NegotiatedCodec } from './engine';
import { WeriftEngine } from './werift-engine';

const H264: NegotiatedCodec = { kind: 'video', name: 'H264', clockRate: 90000, payloadType: 102, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' };
const cleanups: Array<() => unknown> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('an ICE-lite werift viewer', () => {
  it('stays while its player reports, and fails once the player falls silent', async () => {
    const engine = new WeriftEngine({ viewerSilenceMs: 1500 });
    const pc = new RTCPeerConnection({ codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, payloadType: H264.payloadType, parameters: H264.fmtp! })], audio: [] }, ...loopbackIce });
    const transceiver = pc.addTransceiver('video', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await waitGathered(pc);
    const viewer = await engine.createViewer({ offer: pc.localDescription!.sdp, codecs: { video: H264 }, ice: { hosts: ['127.0.0.1'], portRange: undefined } });
    cleanups.push(() => pc.close(), () => viewer.close());
    expect(viewer.answer).toMatch(/^a=ice-lite\r?$/m);
    await pc.setRemoteDescription({ type: 'answer', sdp: viewer.answer });
    await connectedPromise(pc);
    await pollUntil('viewer connected', () => viewer.state === 'connected', { timeoutMs: 5000, intervalMs: 10 });
    // The player's reports, as a browser sends them (about one a second; here faster).
    const report = () => void transceiver.dtlsTransport.sendRtcp([new RtcpRrPacket({ ssrc: 1, reports: [new RtcpReceiverInfo({ ssrc: viewer.ssrc('video')!, fractionLost: 0, packetsLost: 0, highestSequence: 0, jitter: 0, lsr: 0, dlsr: 0 })] })]);
    const reporting = setInterval(report, 250);
    cleanups.push(() => clearInterval(reporting));
    await holdsFor(() => expect(viewer.state).toBe('connected'), { forMs: 3000 });
    // Vanished: no DTLS close, no DELETE, nothing more on the wire.
    clearInterval(reporting);
    transceiver.dtlsTransport.sendRtcp = async () => undefined;
    await pollUntil('viewer failed', () => viewer.state === 'failed', { timeoutMs: 5000 });
  });
});
