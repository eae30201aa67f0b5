/**
 * The server's choice (`auto`) for a viewer served by the werift engine — what serves viewers when
 * several ICE hosts are configured or ONAIR_VIEWER_ENGINE=werift: a real werift viewer peer,
 * answered for a werift player over loopback, under a StreamRouter fed by a fake publisher and
 * rendition set (router-test-kit). The player's own reception reports, sent as RTCP, must move it
 * down when they say it loses; before werift viewers had feedback it stayed on the source.
 * The controller's own rules are tested in rate-control/, the router's moves in stream-router-auto.test.ts.
 */
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { RTCPeerConnection, RTCRtpCodecParameters, RtcpReceiverInfo, RtcpRrPacket, type RTCRtpTransceiver } from 'werift';
import { pollUntil } from '../../../../test/support/poll';
import { connectedPromise, loopbackIce, waitGathered } from '../../../../test/support/peers/werift-h264-publisher';
import { WeriftEngine } from '../webrtc/werift-engine';
import { FakeFeed, FakePublisher, FakeRenditionSet, H264, OPUS, OPUS_FRAME } from './router-test-kit';
import { PublisherSession, ViewerSession } from './sessions';
import { StreamRouter } from './stream-router';

const log = pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' });
const cleanups: Array<() => Promise<unknown> | unknown> = [];
/** A keyframe (starts with an SPS) and a P-slice, each a ~1 KB frame: 30 fps is ~250 kbit/s. */
const KEY = Buffer.concat([Buffer.from([0x67, 0x42, 0xc0, 0x1e]), Buffer.alloc(1000, 1)]);
const DELTA = Buffer.concat([Buffer.from([0x41, 0x9a]), Buffer.alloc(1000, 1)]);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('a werift-served viewer whose receiver reports say 30 % loss is moved down off the source', async () => {
  const router = new StreamRouter({ streamId: 's1', keyframeIntervalMs: 500, counters: { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 }, log, now: () => performance.now() });
  cleanups.push(() => router.close('test_end'));
  const publisher = new FakePublisher({ video: H264, audio: OPUS }, { video: 1111, audio: 2222 });
  router.attachPublisher(new PublisherSession('whip', 's1', publisher, log, 10_000));
  publisher.connect();
  // Renditions that save bandwidth against the ~250 kbit/s source (the ladder leaves out others).
  const set = new FakeRenditionSet('tx-1', [new FakeFeed('360p', 640, 360, 120, 0x360), new FakeFeed('180p', 320, 180, 50, 0x180)]);
  router.attachRenditions(set);

  // 30 fps: the source and each rendition one ~1 KB packet a frame, keyframes every half second.
  let frame = 0;
  const media = setInterval(() => {
    frame += 1;
    publisher.rtp('video', 10_000 + frame, 500_000 + frame * 3000, frame % 15 === 0 ? KEY : DELTA);
    publisher.rtp('audio', 20_000 + frame, 900_000 + frame * 1600, OPUS_FRAME);
    for (const feed of set.feeds) set.rtp(feed.name, (feed.ssrc & 0xffff) + frame, feed.ssrc * 7 + frame * 3000, frame % 15 === 7 ? KEY : DELTA);
  }, 33);
  cleanups.push(() => clearInterval(media));

  // The player: H.264 recvonly, counting what it receives.
  const pc = new RTCPeerConnection({
    codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, payloadType: 102, parameters: H264.fmtp!, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] })], audio: [] },
    ...loopbackIce,
  });
  cleanups.push(() => pc.close());
  const transceiver: RTCRtpTransceiver = pc.addTransceiver('video', { direction: 'recvonly' });
  const received = { packets: 0, highest: 0 };
  transceiver.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((rtp) => {
    received.packets += 1;
    received.highest = rtp.header.sequenceNumber;
  }));
  await pc.setLocalDescription(await pc.createOffer());
  await waitGathered(pc);
  const peer = await new WeriftEngine().createViewer({ offer: pc.localDescription!.sdp, codecs: { video: { ...H264, payloadType: 102 } }, ice: { hosts: ['127.0.0.1'], portRange: undefined } });
  const session = new ViewerSession('s1', peer, log, 10_000);
  router.addViewer(session);
  await pc.setRemoteDescription({ type: 'answer', sdp: peer.answer });
  await connectedPromise(pc);
  await pollUntil('a second of video at the player', () => received.packets >= 30, { timeoutMs: 10_000, intervalMs: 20 });

  // Every 200 ms the player reports (RFC 3550 §6.4.1), as a browser does: `loss` of what it got lost.
  let loss = 0;
  let lost = 0;
  let reportedPackets = received.packets;
  let reportsSent = 0;
  const reports = setInterval(() => {
    reportsSent += 1;
    lost += Math.round((received.packets - reportedPackets) * loss);
    reportedPackets = received.packets;
    const block = new RtcpReceiverInfo({ ssrc: peer.ssrc('video')!, fractionLost: Math.round(loss * 256), packetsLost: lost, highestSequence: received.highest, jitter: 0, lsr: 0, dlsr: 0 });
    transceiver.dtlsTransport.sendRtcp([new RtcpRrPacket({ ssrc: 1, reports: [block] })]).catch(() => undefined);
  }, 200);
  cleanups.push(() => clearInterval(reports));

  await pollUntil('clean reports for a second', () => reportsSent >= 5, { timeoutMs: 10_000, intervalMs: 50 });
  expect(router.layers(session.id)).toMatchObject({ pinned: null, active: 'source' });
  expect(router.renditionSwitches).toEqual({ up: 0, down: 0 });

  loss = 0.3;
  await pollUntil('the viewer moved down', () => router.renditionSwitches.down >= 1, { timeoutMs: 10_000, intervalMs: 20 });
  const layers = router.layers(session.id);
  expect(layers.pinned).toBeNull();
  expect(layers.pending ?? layers.active).not.toBe('source');
  // It switches at the rendition's next keyframe (every half second).
  await pollUntil('the rendition active', () => router.layers(session.id).active !== 'source', { timeoutMs: 5_000, intervalMs: 20 });
});
