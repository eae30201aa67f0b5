/**
 * The forward's start against real UDP sockets: packets sent while nobody has bound the port are
 * held (not lost), and the moment the receiver says it listens it gets the stream from the last
 * keyframe on, in order, audio from the same moment, then live packets; otherwise a keyframe is
 * asked for. The first keyframe the receiver gets is what the transcoder's renditions are dated
 * from (renditions/rendition-timeline.ts): the forward says which.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../test/support/poll';
import type { OutboundRtp } from '../webrtc/engine';
import { RtpForwardPeer } from './rtp-forward-peer';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const sps = hex('67 42 c0 1e d9 00 a0 2f f9 70 11 00 00 03 00 01 00 00 03 00 3c 0f 16 2e 48');
const pps = hex('68 ce 3c 80');
/** STAP-A with SPS + PPS: what starts a browser's keyframe (RFC 6184 §5.7.1). */
const keyframeStart = Buffer.concat([Buffer.from([0x18]), ...[sps, pps].map((n) => Buffer.concat([Buffer.from([0, n.length]), n]))]);
const pSlice = hex('41 9a 02 03');
const opus = hex('78 01 02');

const rtp = (sequenceNumber: number, payload: Buffer, payloadType = 96): OutboundRtp => ({ sequenceNumber, timestamp: sequenceNumber * 3000, ssrc: 1, payloadType, marker: false, payload });
const codecs = { video: { kind: 'video' as const, name: 'H264', clockRate: 90000, payloadType: 96 }, audio: { kind: 'audio' as const, name: 'opus', clockRate: 48000, channels: 2, payloadType: 97 } };

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

/** A port nobody listens on now (bound once by the OS's choice, then closed). */
async function unboundPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

async function listen(port: number): Promise<{ socket: Socket; received: Array<{ seq: number; pt: number }> }> {
  const socket = createSocket('udp4');
  const received: Array<{ seq: number; pt: number }> = [];
  socket.on('message', (msg) => received.push({ seq: msg.readUInt16BE(2), pt: msg[1]! & 0x7f }));
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  open.push({ close: () => new Promise<void>((resolve) => socket.close(() => resolve())) });
  return { socket, received };
}

async function peerTo(video: number, audio: number): Promise<{ peer: RtpForwardPeer; plis: string[] }> {
  const peer = new RtpForwardPeer(codecs, { host: '127.0.0.1', ports: { video, audio } });
  open.push(peer);
  const plis: string[] = [];
  peer.onKeyframeRequest((kind) => plis.push(kind));
  await pollUntil('forward connected', () => peer.state === 'connected', { timeoutMs: 1000 });
  return { peer, plis };
}

describe('RtpForwardPeer start-up', () => {
  it('holds packets until the receiver listens, then sends them from the last keyframe on, then live', async () => {
    const [videoPort, audioPort] = [await unboundPort(), await unboundPort()];
    const { peer, plis } = await peerTo(videoPort, audioPort);
    peer.holdUntilReady(5000);
    peer.send('video', rtp(0, keyframeStart)); // an older keyframe: not the one kept
    peer.send('video', rtp(1, pSlice)); // before the keyframe: undecodable, never sent
    peer.send('audio', rtp(100, opus, 97)); // before the keyframe: would put audio ahead of video
    peer.send('video', rtp(2, keyframeStart));
    peer.send('audio', rtp(101, opus, 97));
    peer.send('video', rtp(3, pSlice));

    // ffmpeg binds its ports now; nothing was lost on the way.
    const video = await listen(videoPort);
    const audio = await listen(audioPort);
    expect(peer.video.firstKeyframeTimestamp).toBeUndefined();
    expect(peer.receiverReady()).toBe(3);
    expect(peer.video.firstKeyframeTimestamp).toBe(2 * 3000);
    await pollUntil('replayed packets', () => video.received.length === 2 && audio.received.length === 1, { timeoutMs: 2000 });
    expect(video.received.map((p) => p.seq)).toEqual([2, 3]);
    expect(audio.received).toEqual([{ seq: 101, pt: 97 }]);
    expect(plis).toEqual([]);

    peer.send('video', rtp(4, pSlice));
    await pollUntil('a live packet', () => video.received.length === 3, { timeoutMs: 2000 });
    expect(video.received.map((p) => p.seq)).toEqual([2, 3, 4]);

    // Once per forward: later calls ask the publisher instead; the keyframe that answers is not the first.
    expect(peer.receiverReady()).toBe(0);
    expect(plis).toEqual(['pli']);
    peer.send('video', rtp(5, keyframeStart));
    expect(peer.video.firstKeyframeTimestamp).toBe(2 * 3000);
    // Frames are dated by their arrival, on the video's 90 kHz clock.
    expect(peer.video.clock.timeOf(5 * 3000 + 90)! - peer.video.clock.timeOf(5 * 3000)!).toBe(1);
  });

  it('asks for a keyframe when none was kept, and goes live', async () => {
    const [videoPort, audioPort] = [await unboundPort(), await unboundPort()];
    const video = await listen(videoPort);
    await listen(audioPort);
    const { peer, plis } = await peerTo(videoPort, audioPort);
    peer.holdUntilReady(5000);
    peer.send('video', rtp(1, pSlice));
    expect(peer.receiverReady()).toBe(0);
    expect(plis).toEqual(['pli']);
    expect(peer.video.firstKeyframeTimestamp).toBeUndefined();
    peer.send('video', rtp(2, keyframeStart));
    expect(peer.video.firstKeyframeTimestamp).toBe(2 * 3000);
    peer.send('video', rtp(3, keyframeStart));
    expect(peer.video.firstKeyframeTimestamp).toBe(2 * 3000);
    await pollUntil('the live keyframe', () => video.received.length === 2, { timeoutMs: 2000 });
    expect(video.received[0]!.seq).toBe(2);
  });

  it('releases the hold by itself when the receiver never says it listens', async () => {
    const [videoPort, audioPort] = [await unboundPort(), await unboundPort()];
    const video = await listen(videoPort);
    await listen(audioPort);
    const { peer } = await peerTo(videoPort, audioPort);
    peer.holdUntilReady(50);
    peer.send('video', rtp(1, keyframeStart));
    peer.send('video', rtp(2, pSlice));
    await pollUntil('the kept packets after the hold', () => video.received.length === 2, { timeoutMs: 2000 });
    peer.send('video', rtp(3, pSlice));
    await pollUntil('live after the hold', () => video.received.length === 3, { timeoutMs: 2000 });
    expect(video.received.map((p) => p.seq)).toEqual([1, 2, 3]);
  });
});
