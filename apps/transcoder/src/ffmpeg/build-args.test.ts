import { describe, expect, it } from 'vitest';
import { planRenditions, type SourceInfo } from '../ladder/plan-renditions';
import { DEFAULT_PROFILE, PASSTHROUGH_PROFILE } from '../ladder/profile';
import { buildFfmpegPlan, type RtpOutputs, toArgs } from './build-args';
import { fluentArgs, toFluentCommand } from './command';

const source720: SourceInfo = { hasVideo: true, hasAudio: true, videoCodec: 'H264', width: 1280, height: 720, fps: 30 };
const targets = { '720p': 'unix:/t/720p.sock', '480p': 'unix:/t/480p.sock', '360p': 'unix:/t/360p.sock', '180p': 'unix:/t/180p.sock', source: 'unix:/t/source.sock', audio: 'unix:/t/audio.sock' };

function plan(source: SourceInfo, profile = DEFAULT_PROFILE) {
  return buildFfmpegPlan({ sdpPath: '/t/in.sdp', source, renditions: planRenditions(profile, source), gopSeconds: profile.gopSeconds, targets });
}

/** The options of one output as a map of flag → value (flags without a value map to ''). */
function optionsOf(output: { options: string[] }): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < output.options.length; i++) {
    const flag = output.options[i]!;
    const value = output.options[i + 1];
    if (value !== undefined && !value.startsWith('-')) {
      (out[flag] ??= []).push(value);
      i++;
    } else (out[flag] ??= []).push('');
  }
  return out;
}

describe('buildFfmpegPlan', () => {
  it('reads the SDP with the measured low-latency input flags', () => {
    const args = toArgs(plan(source720));
    const input = args.slice(0, args.indexOf('-i') + 2);
    expect(input).toEqual(expect.arrayContaining(['-protocol_whitelist', 'file,udp,rtp', '-localaddr', '127.0.0.1', '-fflags', '+genpts', '-probesize', '200000', '-analyzeduration', '100000', '-fpsprobesize', '0', '-max_ts_probe', '0', '-progress', 'pipe:1', '-nostats']));
    // +nobuffer would throw away the probed packets, and with them the keyframe replayed by the ingest.
    expect(input.join(' ')).not.toContain('nobuffer');
    expect(input.slice(-2)).toEqual(['-i', '/t/in.sdp']);
  });

  it('binds the RTP input on the configured address (a transcoder on another host than the ingest)', () => {
    const input = (args: string[]) => args.slice(0, args.indexOf('-i'));
    const local = input(toArgs(plan(source720)));
    expect(local[local.indexOf('-localaddr') + 1]).toBe('127.0.0.1');
    const remote = input(toArgs(buildFfmpegPlan({ sdpPath: '/t/in.sdp', source: source720, renditions: planRenditions(DEFAULT_PROFILE, source720), gopSeconds: 1, targets, inputHost: '10.0.0.21' })));
    expect(remote[remote.indexOf('-localaddr') + 1]).toBe('10.0.0.21');
    expect(remote.filter((arg) => arg === '-localaddr')).toHaveLength(1);
  });

  it.each([
    ['1080p', { width: 1920, height: 1080 }, '[0:v:0]split=3[s0][s1][s2];[s0]scale=1280:720,setsar=1,format=yuv420p[v0];[s1]scale=854:480,setsar=1,format=yuv420p[v1];[s2]scale=640:360,setsar=1,format=yuv420p[v2]', ['720p', '480p', '360p']],
    ['720p', { width: 1280, height: 720 }, '[0:v:0]split=3[s0][s1][s2];[s0]scale=1280:720,setsar=1,format=yuv420p[v0];[s1]scale=854:480,setsar=1,format=yuv420p[v1];[s2]scale=640:360,setsar=1,format=yuv420p[v2]', ['720p', '480p', '360p']],
    ['360p', { width: 640, height: 360 }, '[0:v:0]split=2[s0][s1];[s0]scale=640:360,setsar=1,format=yuv420p[v0];[s1]scale=320:180,setsar=1,format=yuv420p[v1]', ['360p', '180p']],
    ['720p60', { width: 1280, height: 720, fps: 60 }, '[0:v:0]split=3[s0][s1][s2];[s0]fps=30,scale=1280:720,setsar=1,format=yuv420p[v0];[s1]fps=30,scale=854:480,setsar=1,format=yuv420p[v1];[s2]fps=30,scale=640:360,setsar=1,format=yuv420p[v2]', ['720p', '480p', '360p']],
    ['unknown size', { width: undefined, height: undefined }, '[0:v:0]split=3[s0][s1][s2];[s0]scale=w=min(1280\\,iw):h=min(720\\,ih):force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1,format=yuv420p[v0];[s1]scale=w=min(854\\,iw):h=min(480\\,ih):force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1,format=yuv420p[v1];[s2]scale=w=min(640\\,iw):h=min(360\\,ih):force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1,format=yuv420p[v2]', ['720p', '480p', '360p']],
  ])('%s source → filter graph and outputs', (_name, size, filter, ids) => {
    const p = plan({ ...source720, ...size });
    expect(p.filterComplex).toBe(filter);
    expect(p.outputs.map((o) => o.id)).toEqual([...ids, 'audio']);
    expect(p.outputs.map((o) => o.target)).toEqual([...ids, 'audio'].map((id) => `unix:/t/${id}.sock`));
  });

  it('encodes each rung with x264 zerolatency, no B-frames, keyframes forced every second, fMP4 out', () => {
    const [top, , bottom] = plan(source720).outputs;
    expect(optionsOf(top!)).toMatchObject({
      '-map': ['[v0]'],
      '-c:v': ['libx264'],
      '-preset': ['veryfast'],
      '-tune': ['zerolatency'],
      '-bf': ['0'],
      '-b:v': ['2800k'],
      '-maxrate': ['2800k'],
      '-g': ['60'],
      '-keyint_min': ['30'],
      '-sc_threshold': ['0'],
      '-force_key_frames': ['expr:gte(t,n_forced*1)'],
      '-r': ['30'],
      '-f': ['mp4'],
      '-movflags': ['+frag_keyframe+empty_moov+default_base_moof'],
      '-frag_duration': ['100000'],
    });
    expect(optionsOf(bottom!)['-map']).toEqual(['[v2]']);
    expect(optionsOf(bottom!)['-b:v']).toEqual(['800k']);
  });

  it('encodes the audio once, to AAC in an fMP4 of its own (the playlists\' audio rendition), not in every rung', () => {
    const p = plan(source720);
    expect(toArgs(p).filter((arg) => arg === 'aac')).toHaveLength(1);
    for (const rung of p.outputs.slice(0, -1)) expect(rung.options).not.toContain('0:a:0');
    const audio = p.outputs.at(-1)!;
    expect(audio).toMatchObject({ id: 'audio', target: 'unix:/t/audio.sock' });
    expect(optionsOf(audio)).toMatchObject({
      '-map': ['0:a:0'],
      '-c:a': ['aac'],
      '-b:a': ['128k'],
      '-ac': ['2'],
      '-ar': ['48000'],
      '-f': ['mp4'],
      '-movflags': ['+frag_keyframe+empty_moov+default_base_moof'],
      // 9 AAC frames (192 ms) a fragment: one per 0.2 s part.
      '-frag_duration': ['190000'],
    });
    expect(() => buildFfmpegPlan({ sdpPath: 'x', source: source720, renditions: planRenditions(DEFAULT_PROFILE, source720), gopSeconds: 1, targets: { ...targets, audio: '' } })).toThrow(/audio rendition/);
  });

  it('passthrough copies the video and still encodes AAC, without a filter graph', () => {
    const p = plan(source720, PASSTHROUGH_PROFILE);
    expect(p.filterComplex).toBeUndefined();
    expect(p.outputs.map((o) => o.id)).toEqual(['source', 'audio']);
    expect(optionsOf(p.outputs[0]!)).toMatchObject({ '-map': ['0:v:0'], '-c:v': ['copy'] });
    expect(optionsOf(p.outputs[1]!)).toMatchObject({ '-map': ['0:a:0'], '-c:a': ['aac'] });
    expect(p.outputs[0]!.options).not.toContain('libx264');
    // The copy needs the size from the first SPS: a probe long enough to see a keyframe.
    const args = toArgs(p);
    expect(args[args.indexOf('-analyzeduration') + 1]).toBe('5000000');
    expect(args[args.indexOf('-fpsprobesize') + 1]).toBe('0');
  });

  it('maps no audio for a video-only source', () => {
    const p = plan({ ...source720, hasAudio: false });
    for (const output of p.outputs) {
      expect(output.options).not.toContain('0:a:0');
      expect(output.options).not.toContain('aac');
    }
    expect(p.outputs.map((o) => o.id)).toEqual(['720p', '480p', '360p']);
  });

  it('refuses a source without video and a rendition without a target', () => {
    expect(() => plan({ ...source720, hasVideo: false })).toThrow(/no video/);
    expect(() => buildFfmpegPlan({ sdpPath: 'x', source: source720, renditions: planRenditions(DEFAULT_PROFILE, source720), gopSeconds: 1, targets: {} })).toThrow(/no output target/);
  });

  it('fluent-ffmpeg passes exactly the planned arguments', () => {
    for (const p of [plan(source720), plan(source720, PASSTHROUGH_PROFILE), plan({ ...source720, hasAudio: false }), planWithRtp(source720)]) {
      expect(fluentArgs(toFluentCommand(p, '/usr/bin/ffmpeg'))).toEqual(toArgs(p));
    }
  });
});

const URL = 'rtp://127.0.0.1:40000?rtcpport=40000&pkt_size=1200';
const rtp: RtpOutputs = {
  video: { '720p': { url: URL, payloadType: 96, ssrc: 720 }, '480p': { url: URL, payloadType: 96, ssrc: 480 }, '360p': { url: URL, payloadType: 96, ssrc: 360 } },
  audio: { url: URL, payloadType: 111, ssrc: 111 },
};

function planWithRtp(source: SourceInfo, outputs: RtpOutputs = rtp, profile = DEFAULT_PROFILE) {
  return buildFfmpegPlan({ sdpPath: '/t/in.sdp', source, renditions: planRenditions(profile, source), gopSeconds: profile.gopSeconds, targets, rtp: outputs });
}

describe('buildFfmpegPlan with RTP renditions for WebRTC', () => {
  it('tees each rung\'s one encode into its fMP4 and an RTP muxer (video only: no AAC to wait for; SPS/PPS before each keyframe)', () => {
    const p = planWithRtp({ ...source720, audioCodec: 'opus' });
    const [top] = p.outputs;
    expect(top!.target).toBe(
      '[f=mp4:movflags=+frag_keyframe+empty_moov+default_base_moof:frag_duration=100000:flush_packets=1]unix:/t/720p.sock' +
        `|[f=rtp:onfail=ignore:payload_type=96:ssrc=720:bsfs/v=dump_extra=freq=keyframe]${URL}`,
    );
    expect(optionsOf(top!)).toMatchObject({
      '-map': ['[v0]'],
      '-c:v': ['libx264'],
      // Constrained Baseline for WebRTC players, no B-frames; keyframes on the clock every 0.5 s
      // (a viewer moved to this rung starts at its next one), still aligned with a 1 s GOP's.
      '-profile:v': ['baseline'],
      '-bf': ['0'],
      '-force_key_frames': ['expr:gte(t,n_forced*0.5)'],
      '-flags': ['+global_header'],
      '-f': ['tee'],
    });
    expect(top!.options).not.toContain('0:a:0');
    expect(p.outputs.map((o) => o.id)).toEqual(['720p', '480p', '360p', 'audio', 'audio-rtp']);
    expect(p.outputs[2]!.target).toContain('ssrc=360:');
    // One encode per rung: as many x264 instances as rungs, RTP or not.
    expect(toArgs(p).filter((arg) => arg === 'libx264')).toHaveLength(3);
  });

  it('sends the audio once, as Opus: copied from an Opus source, encoded otherwise', () => {
    const copied = planWithRtp({ ...source720, audioCodec: 'opus' }).outputs.at(-1)!;
    expect(copied.target).toBe(URL);
    expect(copied.options).toEqual(['-map', '0:a:0', '-c:a', 'copy', '-f', 'rtp', '-payload_type', '111', '-ssrc', '111']);
    const encoded = planWithRtp({ ...source720, audioCodec: 'PCMU' }).outputs.at(-1)!;
    expect(optionsOf(encoded)).toMatchObject({ '-c:a': ['libopus'], '-ar': ['48000'], '-ac': ['2'], '-f': ['rtp'] });
    // A video-only source (or run) sends no audio.
    expect(planWithRtp({ ...source720, hasAudio: false }).outputs.map((o) => o.id)).toEqual(['720p', '480p', '360p']);
    // A run that gave up its HLS audio (none came) still sends WebRTC viewers the SDP's audio.
    const withoutHls = buildFfmpegPlan({ sdpPath: '/t/in.sdp', source: source720, hlsAudio: false, renditions: planRenditions(DEFAULT_PROFILE, source720), gopSeconds: 1, targets, rtp });
    expect(withoutHls.outputs.map((o) => o.id)).toEqual(['720p', '480p', '360p', 'audio-rtp']);
  });

  it('keeps Main and plain fMP4 for rungs without a target, and never tees a copied source', () => {
    const partial = planWithRtp(source720, { video: { '480p': rtp.video['480p']! } });
    expect(partial.outputs.map((o) => optionsOf(o)['-f']![0])).toEqual(['mp4', 'tee', 'mp4', 'mp4']);
    expect(optionsOf(partial.outputs[0]!)['-profile:v']).toEqual(['main']);
    // The HLS-only rungs keep the profile's GOP; the WebRTC one has half of it.
    expect(partial.outputs.slice(0, 3).map((o) => optionsOf(o)['-force_key_frames']![0])).toEqual(['expr:gte(t,n_forced*1)', 'expr:gte(t,n_forced*0.5)', 'expr:gte(t,n_forced*1)']);
    const passthrough = planWithRtp(source720, { video: { source: rtp.video['720p']! } }, PASSTHROUGH_PROFILE);
    expect(passthrough.outputs.map((o) => o.target)).toEqual(['unix:/t/source.sock', 'unix:/t/audio.sock']);
  });
});
