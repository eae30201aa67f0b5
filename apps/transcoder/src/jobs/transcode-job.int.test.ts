/**
 * The job against real ffmpeg: RTP from an ffmpeg test source → one ffmpeg ladder process →
 * the real LL-HLS packager → segments on disk, checked with ffprobe.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startFfmpegRtpSource, type FfmpegRtpSource } from '../../../../test/support/ffmpeg-rtp-source';
import { boundUdpPorts } from '../ffmpeg/proc-stats';
import { HlsPackager } from '../hls/hls-packager';
import { DEFAULT_PROFILE, PASSTHROUGH_PROFILE, parseProfile } from '../ladder/profile';
import { UdpPortAllocator } from '../net/udp-ports';
import { probeSegment, readDiskPlaylist, waitFor } from '../test-support/hls-probe';
import type { RtpOutputs } from '../ffmpeg/build-args';
import { StaticSdpInput, type InputSource } from './input-source';
import type { JobState } from './job-types';
import type { RenditionAnnouncement, RenditionOutput } from './rendition-output';
import { TranscodeJob } from './transcode-job';

const log = pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' });
const ports = new UdpPortAllocator({ min: 42000, max: 42999 });
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  // Every cleanup runs even if one fails (a failed rm must not leave an RTP source running).
  const errors: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve().then(cleanup).catch((error) => errors.push(error));
  if (errors.length > 0) throw errors[0];
});

async function source(opts: { width?: number; height?: number } = {}): Promise<FfmpegRtpSource> {
  const video = await ports.allocate();
  const audio = await ports.allocate();
  const src = await startFfmpegRtpSource({ videoPort: video.rtp, audioPort: audio.rtp, ...opts });
  cleanups.push(async () => {
    await src.stop();
    ports.release(video);
    ports.release(audio);
  });
  return src;
}

/**
 * Stands in for the ingest's rendition set: one UDP socket; each announcement gets new SSRCs
 * (as the ingest hands out), and every datagram is kept by SSRC.
 */
class RenditionSink implements RenditionOutput {
  readonly description = 'test sink';
  readonly announcements: RenditionAnnouncement[] = [];
  readonly packets = new Map<number, Buffer[]>();
  closes = 0;
  private socket: Socket | undefined;

  async open(announcement: RenditionAnnouncement): Promise<RtpOutputs> {
    this.announcements.push(announcement);
    if (!this.socket) {
      const socket = createSocket('udp4');
      socket.on('message', (datagram) => {
        if (datagram[1]! >= 192 && datagram[1]! <= 223) return; // RTCP (RFC 5761 §4)
        const ssrc = datagram.readUInt32BE(8);
        this.packets.set(ssrc, [...(this.packets.get(ssrc) ?? []), datagram]);
      });
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      this.socket = socket;
    }
    const { port } = this.socket.address();
    const url = `rtp://127.0.0.1:${port}?rtcpport=${port}&pkt_size=1200`;
    const generation = this.announcements.length * 100;
    return {
      video: Object.fromEntries(announcement.renditions.map((r, i) => [r.name, { url, payloadType: 96, ssrc: generation + i }])),
      audio: { url, payloadType: 111, ssrc: generation + 99 },
    };
  }

  async close(): Promise<void> {
    this.closes += 1;
  }

  dispose(): void {
    this.socket?.close();
  }
}

async function jobWith(sdp: string, profile = DEFAULT_PROFILE, hints?: { width: number; height: number; fps: number }, renditions?: RenditionOutput) {
  const dir = await mkdtemp(join(tmpdir(), 'onair-job-test-'));
  const packagers: HlsPackager[] = [];
  const job = new TranscodeJob({
    stream: 'test',
    profile,
    input: new StaticSdpInput(sdp, hints),
    renditions,
    ffmpegPath: '/usr/bin/ffmpeg',
    createPackager: () => {
      const p = new HlsPackager({ stream: 'test', dir, log });
      packagers.push(p);
      return p;
    },
    log,
    restartBackoff: { initialMs: 200, maxMs: 1000 },
  });
  const states: JobState[] = [];
  job.on('state', (s) => states.push(s));
  cleanups.push(async () => {
    await job.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
  });
  return { job, dir, states, packagers };
}

/** The stream's audio rendition: 1 s segments of AAC alone, written to disk like the rungs. */
async function expectAudioRendition(dir: string): Promise<void> {
  const playlist = await waitFor(async () => {
    const p = await readDiskPlaylist(join(dir, 'audio'));
    return p && p.segments.length >= 2 ? p : null;
  }, 15_000, 'two segments of the audio rendition');
  for (const segment of playlist.segments.slice(0, 2)) {
    expect(await probeSegment(join(dir, 'audio', segment.map!), join(dir, 'audio', segment.uri))).toMatchObject({ codec: undefined, audioCodec: 'aac' });
  }
}

/**
 * A UDP socket on `port` (0: any) that sends what it gets on to `target` (null: drops it) until
 * cut: a publisher's audio that stops while its video goes on.
 */
async function udpRelay(port: number, target: number | null): Promise<{ port: number; cut: () => void }> {
  const socket = createSocket('udp4');
  let open = true;
  socket.on('message', (datagram) => {
    if (open && target !== null) socket.send(datagram, target, '127.0.0.1');
  });
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  cleanups.push(() => void socket.close());
  return { port: socket.address().port, cut: () => (open = false) };
}

describe('TranscodeJob with real ffmpeg', () => {
  it('encodes every rung of the default ladder into HLS segments that start with a keyframe', async () => {
    const src = await source();
    // The default ladder, with ultrafast so the test keeps up on a loaded 2-core machine.
    const ladder = parseProfile({ ...DEFAULT_PROFILE, rungs: DEFAULT_PROFILE.rungs.map((r) => ({ ...r, preset: 'ultrafast' })) });
    const { job, dir } = await jobWith(src.sdp, ladder, { width: 1280, height: 720, fps: 30 });
    await job.start();
    await waitFor(() => job.state === 'running', 15_000, 'job running');
    const expected = { '720p': [1280, 720], '480p': [854, 480], '360p': [640, 360] } as const;
    for (const [id, [width, height]] of Object.entries(expected)) {
      const playlist = await waitFor(async () => {
        const p = await readDiskPlaylist(join(dir, id));
        return p && p.segments.length >= 2 ? p : null;
      }, 15_000, `two segments of ${id}`);
      for (const segment of playlist.segments.slice(0, 2)) {
        const probe = await probeSegment(join(dir, id, segment.map!), join(dir, id, segment.uri));
        // Video only: the audio is the stream's audio rendition, encoded once for every rung.
        expect(probe, `${id} ${segment.uri}`).toMatchObject({ codec: 'h264', width, height, startsWithKeyframe: true, audioCodec: undefined });
        expect(probe.videoPackets).toBeGreaterThanOrEqual(20);
      }
    }
    await expectAudioRendition(dir);
    const stats = job.getStats();
    expect(stats.firstOutputMs).toBeGreaterThan(0);
    expect(stats.firstOutputMs).toBeLessThan(10_000);
    expect(stats.renditions.map((r) => r.id)).toEqual(['720p', '480p', '360p']);
    expect(stats.renditions.every((r) => r.bytes > 0)).toBe(true);
    await waitFor(() => job.getStats().progress?.fps, 5_000, 'progress from ffmpeg');
    expect(job.logs().some((line) => line.includes('libx264'))).toBe(true);
    console.info(`[measure] spawn → first fMP4 byte: ${stats.firstOutputMs} ms`);
  }, 45_000);

  it('passthrough packages the source video without re-encoding (AAC audio)', async () => {
    const src = await source({ width: 640, height: 360 });
    const { job, dir } = await jobWith(src.sdp, PASSTHROUGH_PROFILE, { width: 640, height: 360, fps: 30 });
    await job.start();
    const playlist = await waitFor(async () => {
      const p = await readDiskPlaylist(join(dir, 'source'));
      return p && p.segments.length >= 2 ? p : null;
    }, 15_000, 'two passthrough segments');
    for (const segment of playlist.segments.slice(0, 2)) {
      const probe = await probeSegment(join(dir, 'source', segment.map!), join(dir, 'source', segment.uri));
      expect(probe).toMatchObject({ codec: 'h264', width: 640, height: 360, startsWithKeyframe: true, audioCodec: undefined });
    }
    await expectAudioRendition(dir);
    expect(job.logs().some((l) => l.includes('libx264'))).toBe(false);
  }, 30_000);

  it('restarts ffmpeg killed mid-stream, and the playlist continues after a discontinuity', async () => {
    const src = await source({ width: 640, height: 360 });
    const small = parseProfile({ name: 'small', rungs: [{ name: '240p', width: 426, height: 240, videoKbps: 400, preset: 'ultrafast' }] });
    const { job, dir, states } = await jobWith(src.sdp, small, { width: 640, height: 360, fps: 30 });
    await job.start();
    await waitFor(async () => (await readDiskPlaylist(join(dir, '240p')))?.segments.length! >= 2, 15_000, 'two segments before the crash');
    const before = (await readDiskPlaylist(join(dir, '240p')))!.segments.length;
    const pid = job.pid;
    expect(job.killProcess('SIGKILL')).toBe(true);
    await waitFor(() => states.includes('restarting'), 5_000, 'state restarting');
    await waitFor(() => job.state === 'running' && job.pid !== pid, 15_000, 'running again with a new process');
    const after = await waitFor(async () => {
      const p = await readDiskPlaylist(join(dir, '240p'));
      return p && p.segments.length >= before + 2 && p.segments.some((s) => s.discontinuity) ? p : null;
    }, 15_000, 'the playlist growing past a discontinuity');
    expect(after.text).toContain('#EXT-X-DISCONTINUITY');
    expect(job.getStats()).toMatchObject({ restarts: 1, state: 'running' });
    expect(job.getStats().lastError).toMatch(/SIGKILL/);
    // The first segment after the discontinuity starts with a keyframe of a fresh init segment.
    const firstNew = after.segments.find((s) => s.discontinuity)!;
    expect(await probeSegment(join(dir, '240p', firstNew.map!), join(dir, '240p', firstNew.uri))).toMatchObject({ codec: 'h264', width: 426, height: 240, startsWithKeyframe: true });
  }, 45_000);

  it('sends each encoded rung as RTP with the SSRC it was given, SPS/PPS before every keyframe, and announces again after a crash', async () => {
    const src = await source({ width: 640, height: 360 });
    const ladder = parseProfile({ name: 'two', rungs: [{ name: '360p', width: 640, height: 360, videoKbps: 500, preset: 'ultrafast' }, { name: '180p', width: 320, height: 180, videoKbps: 200, preset: 'ultrafast' }] });
    const sink = new RenditionSink();
    cleanups.push(() => sink.dispose());
    const { job, dir } = await jobWith(src.sdp, ladder, { width: 640, height: 360, fps: 30 }, sink);
    await job.start();
    expect(sink.announcements).toEqual([{ renditions: [{ name: '360p', width: 640, height: 360, videoKbps: 500, frameRate: 30 }, { name: '180p', width: 320, height: 180, videoKbps: 200, frameRate: 30 }], audio: true }]);
    // Two seconds of every rung and of the audio, each with the SSRC and payload type of the answer.
    await waitFor(() => [100, 101].every((ssrc) => (sink.packets.get(ssrc)?.length ?? 0) > 60) && (sink.packets.get(199)?.length ?? 0) > 50, 20_000, 'RTP of both rungs and the audio');
    expect([...sink.packets.keys()].sort()).toEqual([100, 101, 199]);
    for (const ssrc of [100, 101]) {
      const packets = sink.packets.get(ssrc)!;
      expect(packets.every((p) => (p[1]! & 0x7f) === 96 && p.length <= 1200)).toBe(true);
      // Keyframes: a STAP-A (24) holding SPS (7) and PPS (8) first, then the IDR slice (5); one a second.
      const keyframes = packets.filter((p) => (p[12]! & 0x1f) === 24 && (p[15]! & 0x1f) === 7);
      expect(keyframes.length, `keyframes of SSRC ${ssrc}`).toBeGreaterThanOrEqual(2);
      expect(packets.some((p) => (p[12]! & 0x1f) === 5 || ((p[12]! & 0x1f) === 28 && (p[13]! & 0x1f) === 5))).toBe(true);
    }
    expect(sink.packets.get(199)!.every((p) => (p[1]! & 0x7f) === 111)).toBe(true);
    // HLS goes on as before.
    await waitFor(async () => (await readDiskPlaylist(join(dir, '180p')))?.segments.length! >= 1, 15_000, 'an HLS segment of 180p');
    // A new ffmpeg has new numbering: the renditions are announced again, and sent with the new SSRCs.
    job.killProcess('SIGKILL');
    await waitFor(() => (sink.packets.get(200)?.length ?? 0) > 30 && (sink.packets.get(201)?.length ?? 0) > 30, 20_000, 'RTP with the SSRCs of the second announcement');
    expect(sink.announcements).toHaveLength(2);
    await job.stop();
    expect(sink.closes).toBe(1);
  }, 60_000);

  it('ends the playlist with EXT-X-ENDLIST when stopped', async () => {
    const src = await source({ width: 640, height: 360 });
    const small = parseProfile({ name: 'small', rungs: [{ name: '240p', width: 426, height: 240, videoKbps: 400, preset: 'ultrafast' }] });
    const { job, dir, packagers } = await jobWith(src.sdp, small);
    await job.start();
    await waitFor(async () => (await readDiskPlaylist(join(dir, '240p')))?.segments.length! >= 1, 15_000, 'a segment');
    await src.stop();
    await job.stop('stream went offline');
    expect(job.state).toBe('stopped');
    expect(job.pid).toBeNull();
    expect(packagers[0]!.ended).toBe(true);
    await waitFor(async () => (await readDiskPlaylist(join(dir, '240p')))?.ended, 5_000, 'EXT-X-ENDLIST on disk');
  }, 30_000);

  it('goes on video-only when the SDP announces audio that never arrives: the playlists stop naming it', async () => {
    const video = await ports.allocate();
    const src = await startFfmpegRtpSource({ videoPort: video.rtp, audioPort: null, width: 320, height: 180 });
    cleanups.push(async () => {
      await src.stop();
      ports.release(video);
    });
    const silent = await ports.allocate();
    cleanups.push(() => ports.release(silent));
    const sdp = `${src.sdp.trimEnd()}\nm=audio ${silent.rtp} RTP/AVP 97\nc=IN IP4 127.0.0.1\na=rtpmap:97 opus/48000/2\n`;
    const small = parseProfile({ name: 'small', rungs: [{ name: '180p', width: 320, height: 180, videoKbps: 300, preset: 'ultrafast' }] });
    const dir = await mkdtemp(join(tmpdir(), 'onair-job-test-'));
    let packager: HlsPackager | undefined;
    const createPackager = () => (packager = new HlsPackager({ stream: 'silent', dir, log }));
    const job = new TranscodeJob({ stream: 'silent', profile: small, input: new StaticSdpInput(sdp), ffmpegPath: '/usr/bin/ffmpeg', createPackager, log, startTimeoutMs: 4000 });
    cleanups.push(async () => {
      await job.close();
      await rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
    });
    await job.start();
    // The video does not wait for the audio: it is an output of its own.
    await waitFor(() => job.state === 'running', 15_000, 'running');
    expect(packager!.rendition('audio')).toBeDefined();
    await waitFor(() => job.logs().some((l) => l.includes('playing video-only')), 10_000, 'the audio rendition given up');
    expect(packager!.rendition('audio')).toBeUndefined();
    const multivariant = packager!.renderMultivariant();
    expect(multivariant).not.toContain('EXT-X-MEDIA');
    expect(multivariant).toMatch(/CODECS="avc1\.[0-9a-f]{6}",RESOLUTION=320x180.*\n180p\/index\.m3u8/);
    expect(job.getStats().restarts).toBe(0);
    const playlist = await waitFor(async () => {
      const p = await readDiskPlaylist(join(dir, '180p'));
      return p && p.segments.length >= 1 ? p : null;
    }, 10_000, 'a video-only segment');
    const probe = await probeSegment(join(dir, '180p', playlist.segments[0]!.map!), join(dir, '180p', playlist.segments[0]!.uri));
    expect(probe).toMatchObject({ codec: 'h264', width: 320, height: 180, startsWithKeyframe: true, audioCodec: undefined });
  }, 30_000);

  it('the audio of a process that makes no video never reaches the playlists (it would part their discontinuities)', async () => {
    const [videoOut, audio, silent] = [await ports.allocate(), await ports.allocate(), await ports.allocate()];
    cleanups.push(() => [videoOut, audio, silent].forEach((p) => ports.release(p)));
    // The source's video goes to a socket that drops it; ffmpeg listens for video on a port nobody sends to.
    await udpRelay(videoOut.rtp, null);
    const src = await startFfmpegRtpSource({ videoPort: videoOut.rtp, audioPort: audio.rtp, width: 320, height: 180 });
    cleanups.push(() => src.stop());
    const sdp = src.sdp.replace(/^m=video \d+/m, `m=video ${silent.rtp}`);
    const small = parseProfile({ name: 'small', rungs: [{ name: '180p', width: 320, height: 180, videoKbps: 300, preset: 'ultrafast' }] });
    let packager: HlsPackager | undefined;
    const job = new TranscodeJob({ stream: 'no-video', profile: small, input: new StaticSdpInput(sdp), ffmpegPath: '/usr/bin/ffmpeg', createPackager: () => (packager = new HlsPackager({ stream: 'no-video', dir: '/nonexistent', writeToDisk: false, log })), log, startTimeoutMs: 3000 });
    cleanups.push(() => job.close());
    await job.start();
    await waitFor(() => job.state === 'failed', 15_000, 'the start to fail without video');
    // ffmpeg did write its audio output…
    expect(job.logs().some((line) => /Output #\d+, mp4, to '.*audio\.sock'/.test(line))).toBe(true);
    // …which the audio rendition never got.
    expect(packager!.rendition('audio')!.getStats().bytesIn).toBe(0);
  }, 30_000);

  it('audio that stops while the video flows: a new ffmpeg, and without audio the playlists go on video-only', async () => {
    const video = await ports.allocate();
    const audio = await ports.allocate();
    cleanups.push(() => [video, audio].forEach((p) => ports.release(p)));
    const relay = await udpRelay(0, audio.rtp);
    const src = await startFfmpegRtpSource({ videoPort: video.rtp, audioPort: relay.port, width: 320, height: 180 });
    cleanups.push(() => src.stop());
    const sdp = src.sdp.replace(/^m=audio \d+/m, `m=audio ${audio.rtp}`);
    const small = parseProfile({ name: 'small', rungs: [{ name: '180p', width: 320, height: 180, videoKbps: 300, preset: 'ultrafast' }] });
    let packager: HlsPackager | undefined;
    const job = new TranscodeJob({ stream: 'mic-off', profile: small, input: new StaticSdpInput(sdp), ffmpegPath: '/usr/bin/ffmpeg', createPackager: () => (packager = new HlsPackager({ stream: 'mic-off', dir: '/nonexistent', writeToDisk: false, log })), log, startTimeoutMs: 3000, restartBackoff: { initialMs: 200, maxMs: 1000 } });
    cleanups.push(() => job.close());
    await job.start();
    await waitFor(() => packager?.rendition('audio')?.hasMedia, 15_000, 'audio in the playlists');
    expect(packager!.renderMultivariant()).toContain('AUDIO="audio"');
    relay.cut();
    await waitFor(() => job.logs().some((l) => l.includes('playing video-only')), 25_000, 'the audio rendition given up');
    expect(job.getStats()).toMatchObject({ restarts: 1, lastError: expect.stringMatching(/no audio for 5 s while the video flows/) });
    expect(packager!.rendition('audio')).toBeUndefined();
    expect(packager!.renderMultivariant()).not.toContain('EXT-X-MEDIA');
    await waitFor(() => job.state === 'running', 10_000, 'running video-only');
  }, 45_000);

  it('starts from the one keyframe sent the moment ffmpeg listens (the next comes 10 s later)', async () => {
    // Like the ingest's forward: nothing reaches ffmpeg until it has bound its port and asked,
    // then a keyframe at once and only P-frames after it. ffmpeg's probe reads that keyframe:
    // thrown away (+nobuffer), the output would wait for the next one.
    const video = await ports.allocate();
    cleanups.push(() => ports.release(video));
    const sdp = ['v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=once', 'c=IN IP4 127.0.0.1', 't=0 0', `m=video ${video.rtp} RTP/AVP 96`, 'a=rtpmap:96 H264/90000', 'a=fmtp:96 packetization-mode=1', ''].join('\r\n');
    let src: FfmpegRtpSource | undefined;
    let askedWhileBound: boolean | undefined;
    const input: InputSource = {
      description: 'keyframe on request',
      open: async () => ({ sdp, hints: { width: 320, height: 180, fps: 30 } }),
      requestKeyframe: async () => {
        if (src) return;
        askedWhileBound = (await boundUdpPorts([video.rtp])).has(video.rtp);
        src = await startFfmpegRtpSource({ videoPort: video.rtp, audioPort: null, width: 320, height: 180, gopFrames: 300 });
      },
      close: async () => {},
    };
    cleanups.push(async () => {
      await src?.stop();
    });
    const small = parseProfile({ name: 'small', rungs: [{ name: '180p', width: 320, height: 180, videoKbps: 300, preset: 'ultrafast' }] });
    const dir = await mkdtemp(join(tmpdir(), 'onair-job-test-'));
    const job = new TranscodeJob({ stream: 'once', profile: small, input, ffmpegPath: '/usr/bin/ffmpeg', createPackager: () => new HlsPackager({ stream: 'once', dir, log }), log });
    cleanups.push(async () => {
      await job.close();
      await rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
    });
    await job.start();
    await waitFor(() => job.state === 'running', 5_000, 'output from the first keyframe');
    expect(askedWhileBound).toBe(true);
    const playlist = await waitFor(async () => {
      const p = await readDiskPlaylist(join(dir, '180p'));
      return p && p.segments.length >= 1 ? p : null;
    }, 10_000, 'a segment');
    const probe = await probeSegment(join(dir, '180p', playlist.segments[0]!.map!), join(dir, '180p', playlist.segments[0]!.uri));
    expect(probe).toMatchObject({ codec: 'h264', width: 320, height: 180, startsWithKeyframe: true });
    console.info(`[measure] spawn → first fMP4 byte with the keyframe sent at bind: ${job.getStats().firstOutputMs} ms`);
  }, 30_000);

  it('reports a failed start with ffmpeg\'s own reason, and does not retry', async () => {
    const badSdp = 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=bad\r\nc=IN IP4 not-an-address\r\nt=0 0\r\nm=video 42990 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n';
    const { job, states } = await jobWith(badSdp);
    await job.start();
    await waitFor(() => job.state === 'failed', 10_000, 'state failed');
    expect(states).toEqual(['starting', 'failed']);
    expect(job.getStats().lastError).toMatch(/failed to start/);
    expect(job.getStats().lastError).toMatch(/not-an-address|Input\/output error/);
    expect(job.getStats().restarts).toBe(0);
  }, 20_000);

  it('fails with ffmpeg_missing (and no crash) when the binary is absent', async () => {
    const job = new TranscodeJob({ stream: 'x', profile: DEFAULT_PROFILE, input: new StaticSdpInput('m=video 1 RTP/AVP 96\n'), ffmpegPath: '/nonexistent/ffmpeg', createPackager: () => ({ addRendition: () => ({ push() {} }), removeRendition() {}, discontinuity() {}, end() {}, close() {} }), log });
    await expect(job.start()).rejects.toMatchObject({ code: 'ffmpeg_missing' });
    expect(job.state).toBe('failed');
  });
});
