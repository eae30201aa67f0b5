/**
 * A MoQ publisher as the transcoder sees it: moq-lite in, MediaRouter.attachPublisher, a forward
 * of plain RTP and its SDP out — and a real ffmpeg decodes H.264 and Opus from that SDP alone, as it does
 * for a WHIP publisher.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { readAccessUnits } from '../../../../test/support/moq/h264-stream';
import { HangPublisher, paceAudioVideo } from '../../../../test/support/moq/hang-publisher';
import { createWebTransportPair } from '../../../../test/support/moq/in-memory-webtransport';
import { readOggOpusPackets } from '../../../../test/support/moq/ogg-opus';
import { pollUntil } from '../../../../test/support/poll';
import { freeRtpPort, udpPortBound } from '../../../../test/support/ports';
import { forwardSdp } from '../forward/forward-sdp';
import type { RtpForwardPeer } from '../forward/rtp-forward-peer';
import { MediaRouter } from '../router/media-router';
import type { MediaEngine } from '../webrtc/engine';
import { acceptMoqPublisher } from './accept-moq-publisher';

const log = pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' });
const video = readAccessUnits(new URL('./fixtures/x264-high-320x180.h264', import.meta.url));
const audio = readOggOpusPackets(new URL('./fixtures/libopus-sine-440hz-stereo-1s.opus', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('MoQ publisher → stream router → forward → ffmpeg', () => {
  it('ffmpeg decodes the H.264 and Opus of a MoQ publisher from the forward SDP, without an error', async () => {
    expect(audio.length).toBeGreaterThanOrEqual(50); // 1 s of 20 ms packets, plus the encoder delay
    const pair = createWebTransportPair('moq-lite-04');
    const accepted = acceptMoqPublisher(pair.server, new URL('https://127.0.0.1:8443/moq'), { log, trackSettleMs: 300 });
    const publisher = await HangPublisher.connect(pair.client);
    cleanups.push(() => publisher.close());
    publisher.setCatalog({
      video: { renditions: { 'video/hd': { codec: 'avc1.640028', container: { kind: 'legacy' }, codedWidth: 320, codedHeight: 180 } } },
      audio: { renditions: { 'audio/data': { codec: 'opus', container: { kind: 'legacy' }, sampleRate: 48000, numberOfChannels: 2 } } },
    });
    await publisher.subscribed('audio/data');

    const stopPacing = paceAudioVideo(publisher, { video, audio, videoTrack: 'video/hd', audioTrack: 'audio/data' }, 20);
    cleanups.push(stopPacing);

    const peer = await accepted;
    // Only WHIP/WHEP use the engine; a MoQ publisher and a forward do not.
    const media = new MediaRouter({ engine: {} as MediaEngine, log, connectTimeoutMs: 10_000, keyframeIntervalMs: 500 });
    cleanups.push(() => media.close());
    await media.attachPublisher('webtransport', 'moq', peer);
    expect(media.isLive('moq')).toBe(true);
    expect(media.liveState('moq').publisher?.protocol).toBe('webtransport');

    const ports = { video: await freeRtpPort(), audio: await freeRtpPort() };
    const dir = await mkdtemp(join(tmpdir(), 'onair-moq-forward-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const sdpFile = join(dir, 'forward.sdp');
    const ffmpeg = { process: undefined as ReturnType<typeof spawn> | undefined };
    cleanups.push(() => ffmpeg.process?.kill('SIGKILL'));
    // As forward-routes.ts does: the forward's codecs (payload types 96/97) make the SDP; ffmpeg
    // is started on it, and the forward holds its packets until ffmpeg listens.
    const forward = media.forward('moq', { host: '127.0.0.1', ports });
    const codecs = forward.codecs;
    expect(codecs.video?.fmtp).toBe('level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f');
    (forward.peer as RtpForwardPeer).holdUntilReady(10_000);
    await writeFile(sdpFile, forwardSdp({ streamName: 'moq', host: '127.0.0.1', tracks: (['video', 'audio'] as const).map((kind) => ({ kind, codec: codecs[kind]!.name, clockRate: codecs[kind]!.clockRate, channels: codecs[kind]!.channels, payloadType: codecs[kind]!.payloadType, fmtp: codecs[kind]!.fmtp, port: ports[kind] })) }));
    ffmpeg.process = spawn('/usr/bin/ffmpeg', ['-hide_banner', '-nostdin', '-protocol_whitelist', 'file,udp,rtp', '-i', sdpFile, '-map', '0:v', '-map', '0:a', '-frames:v', '30', '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    ffmpeg.process.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => ffmpeg.process!.once('exit', (code) => resolve(code)));
    await pollUntil('ffmpeg listening', async () => (await udpPortBound(ports.video)) && udpPortBound(ports.audio), { timeoutMs: 10_000, intervalMs: 20 });
    (forward.peer as RtpForwardPeer).receiverReady();
    const timeout = setTimeout(() => ffmpeg.process?.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timeout);
    expect(code, stderr.slice(-2000)).toBe(0);
    expect(stderr).toMatch(/Video: h264 \(High\).*320x180/);
    expect(stderr).toMatch(/Audio: opus, 48000 Hz, stereo/);
    expect(stderr).toMatch(/frame=\s*30\b/);
    // The forward started at a keyframe and nothing was lost or garbled on the way.
    expect(stderr).not.toMatch(/\[(h264|opus) @[^\]]*\]/);
    expect(peer.getStats().tracks.video).toMatchObject({ dropped: {}, ended: null });
  });
});
