/**
 * The ffmpeg command line for one stream, as a pure function of the planned renditions and the
 * input: one process decodes the RTP once, `split`s the video and `scale`s/encodes every rung,
 * and writes each rung as fragmented MP4 (H.264) to its own output target. The audio is encoded
 * once, to AAC, and written as one more fragmented MP4 (`AUDIO_RENDITION_ID`): the HLS playlists
 * carry it as an audio rendition group every variant shares (demuxed, RFC 8216bis §4.4.6.1).
 *
 * Why demuxed: a muxer interleaves its streams by decode time, so in a rung that also carried AAC
 * every video frame waited for an AAC frame at least as late to be encoded (the encoder's 1024
 * sample delay plus its 1024 sample frame): measured 77 ms from a frame's RTP to the rung's RTP,
 * 40 ms video-only. That wait was on every WebRTC viewer of a rung, and the HLS gains nothing
 * from it; AAC was also encoded once per rung instead of once.
 *
 * With RTP targets (the ingest's rendition set), each encoded rung's one x264 encode also goes
 * out as RTP to the ingest, for WebRTC viewers: the rung's output is a `tee` of the fMP4 and an
 * RTP muxer that takes the video only. Those rungs are H.264 Constrained Baseline (what every
 * WebRTC player decodes, Firefox's OpenH264 included), no B-frames, the ladder's aligned 1 s
 * keyframes each preceded by SPS/PPS in-band (`dump_extra`: players get no SDP parameter sets
 * from WHEP). The audio goes out once, as one Opus RTP track: copied when the source is Opus.
 */
import type { PlannedRendition, SourceInfo } from '../ladder/plan-renditions';
import { AUDIO_RENDITION_ID } from '../ladder/profile';

/** Where one RTP track goes (the ingest's answer to the rendition announcement). */
export interface RtpTarget {
  /** `rtp://host:port?…` */
  url: string;
  payloadType: number;
  /** As the ingest assigned it (1..2^31−1: ffmpeg's `-ssrc` is a signed int). */
  ssrc: number;
}

export interface RtpOutputs {
  /** Per rendition id; rungs without a target are not sent. */
  video: Record<string, RtpTarget>;
  audio?: RtpTarget;
}

export interface FfmpegPlan {
  /** Options placed before `-i` (global options included: ffmpeg accepts them there). */
  inputOptions: string[];
  input: string;
  filterComplex?: string;
  outputs: Array<{ id: string; options: string[]; target: string }>;
}

export interface BuildArgsOptions {
  sdpPath: string;
  source: SourceInfo;
  renditions: PlannedRendition[];
  /** Keyframe interval in seconds, the same for every rung so segments align. */
  gopSeconds: number;
  /** Output URL per rendition id (e.g. `unix:/tmp/…/720p.sock`), and for `AUDIO_RENDITION_ID` when the source has audio. */
  targets: Record<string, string>;
  /** Where `-progress` writes its key=value blocks. Default `pipe:1` (stdout). */
  progressTarget?: string;
  /** Longest fMP4 fragment in microseconds (a new fragment also starts at every keyframe). Default 100 000. */
  fragDurationUs?: number;
  /** RTP renditions to the ingest, for WebRTC viewers. */
  rtp?: RtpOutputs;
  /** The address ffmpeg receives its RTP input on (ONAIR_TRANSCODER_RTP_HOST). Default 127.0.0.1. */
  inputHost?: string;
  /** Write the HLS audio rendition when the source has audio. Default true (false: the run gave it up). */
  hlsAudio?: boolean;
}

/**
 * RTP packets at most this big (header included): fits a 1280-byte path once SRTP (10-byte tag)
 * and ICE/UDP/IP are added on the way to the viewer; libwebrtc's own limit is 1200 too.
 */
export const RTP_PACKET_BYTES = 1200;

/**
 * The decoder's frame threads each hold a frame: by default ffmpeg decodes on cores + 1 of them,
 * so every rung came out 2 frames (67 ms at 30 fps) after its input on 2 cores, 8 on 8, on every
 * WebRTC and LL-HLS viewer's latency (frame-holdback.int.test.ts). Slice threads hold none. One
 * thread decodes 720p30 in a few per cent of a core; the encoders are what need the cores.
 */
const DECODE_WITHOUT_FRAME_THREADS = ['-thread_type', 'slice'];

/**
 * Input flags for an RTP stream described by an SDP (FIELD-NOTES), tuned for time to first output:
 * - `-analyzeduration 100000 -fpsprobesize 0` instead of 500000 halved spawn → first fMP4 byte
 *   (measured ~1000 → ~500 ms with a keyframe at hand). The codec parameters of RTP come from the
 *   SDP and the first SPS, the frame rate is set per output with `-r`, and a keyframe that comes
 *   seconds later still starts the output (measured with a 3 s GOP).
 * - `-max_ts_probe 0`: probing ends once a keyframe is decoded (the size is known). Otherwise it
 *   also waits for H.264's first DTS, which libavformat derives only after 7 decoded frames —
 *   ~200 ms of live video even when the keyframe is there at once (measured: keyframe → first
 *   fMP4 byte ~170 → ~25 ms).
 * - No `+nobuffer`: with it, the packets read while probing are thrown away, and they hold the
 *   keyframe the ingest sends the moment ffmpeg listens (the decoder then waited for the next
 *   one, ~500 ms). Without it they are decoded right after the probe, which adds no latency
 *   once started: ffmpeg reads faster than real time.
 * - `-thread_type slice`: see DECODE_WITHOUT_FRAME_THREADS.
 */
export const SDP_INPUT_OPTIONS = ['-protocol_whitelist', 'file,udp,rtp', '-localaddr', '127.0.0.1', '-fflags', '+genpts', '-probesize', '200000', '-analyzeduration', '100000', '-fpsprobesize', '0', '-max_ts_probe', '0', ...DECODE_WITHOUT_FRAME_THREADS];

/**
 * Copying video needs its size before the MP4 header is written, and with RTP the size is only
 * known from the first SPS: the probe must last until a keyframe ("dimensions not set" otherwise,
 * seen under load). Probing stops as soon as every stream has its parameters, so the long limit
 * costs nothing when the keyframe comes early. The first DTS is waited for (copied packets need
 * it), and the probed packets are kept (no `+nobuffer`), so the keyframe that ended the probe is
 * the first one copied.
 */
export const SDP_INPUT_OPTIONS_COPY = ['-protocol_whitelist', 'file,udp,rtp', '-localaddr', '127.0.0.1', '-fflags', '+genpts', '-probesize', '5000000', '-analyzeduration', '5000000', '-fpsprobesize', '0', ...DECODE_WITHOUT_FRAME_THREADS];

/** The input options with `-localaddr` set to `host` (ffmpeg binds its RTP sockets there). */
function withLocalAddress(options: readonly string[], host: string | undefined): string[] {
  const out = [...options];
  const at = out.indexOf('-localaddr');
  if (host && at >= 0) out[at + 1] = host;
  return out;
}

/**
 * The longest GOP of a rung that also goes to WebRTC viewers (RTP to the ingest), s. A viewer the
 * rate controller moves to a rung starts on that rung's next keyframe, and until then keeps
 * receiving what its path no longer carries: behind a 3 → 0.6 Mbit/s token bucket with a 600 ms
 * queue, the queue was full (and dropping) ~1.1 s after the limit and the move was decided at
 * ~0.45 s, so a wait of up to a 1 s GOP froze the picture for 0.7–1.5 s; with 0.5 s the switch
 * comes before the queue drops. Keyframes stay on the clock (multiples of this), so the rungs'
 * HLS segments stay aligned with a 1 s GOP's. Cost at the same bitrate (x264 ultrafast, CBR,
 * 15 fps, 20 s; PSNR, 1 s → 0.5 s GOP): 180p at 200 kbit/s −0.88 dB on testsrc2, −0.51 on
 * mandelbrot, −0.10 with noise; 360p at 600 −0.53, −0.26, 0.00 (half as many frames a GOP at 30 fps).
 */
export const WEBRTC_RUNG_GOP_SECONDS = 0.5;

/**
 * The audio's fMP4 fragments, µs. The mp4 muxer ends a fragment before the packet that reaches
 * this length, so 190 ms makes fragments of 9 AAC frames (192 ms), one per LL-HLS part of the
 * packager's 0.2 s part target: 100 ms (as for video) would make 107 ms parts, twice the part and
 * blocking-playlist requests per viewer for no lower latency (a player needs the video part too).
 */
export const AUDIO_FRAGMENT_US = 190_000;

export function buildFfmpegPlan(opts: BuildArgsOptions): FfmpegPlan {
  const { source, renditions, gopSeconds } = opts;
  if (!source.hasVideo) throw new Error('the source has no video track');
  if (renditions.length === 0) throw new Error('no rendition to produce');
  const fragDurationUs = opts.fragDurationUs ?? 100_000;

  const inputOptions = [
    '-hide_banner',
    // `level+` prefixes every log line with its level, so the supervisor can pick out errors.
    '-loglevel', 'level+info',
    '-nostats',
    '-progress', opts.progressTarget ?? 'pipe:1',
    '-stats_period', '1',
    ...withLocalAddress(renditions.some((r) => r.video === 'copy') ? SDP_INPUT_OPTIONS_COPY : SDP_INPUT_OPTIONS, opts.inputHost),
  ];

  const encoded = renditions.filter((r) => r.video === 'encode');
  let filterComplex: string | undefined;
  if (encoded.length > 0) {
    const chains: string[] = [];
    const labels = encoded.map((_, i) => `s${i}`);
    chains.push(encoded.length > 1 ? `[0:v:0]split=${encoded.length}${labels.map((l) => `[${l}]`).join('')}` : '');
    encoded.forEach((r, i) => {
      const from = encoded.length > 1 ? `[${labels[i]}]` : '[0:v:0]';
      const steps = [...(r.fpsCap ? [`fps=${r.fpsCap}`] : []), scaleFilter(r), 'setsar=1', 'format=yuv420p'];
      chains.push(`${from}${steps.join(',')}[v${i}]`);
    });
    filterComplex = chains.filter(Boolean).join(';');
  }

  const movflags = '+frag_keyframe+empty_moov+default_base_moof';
  const container = ['-f', 'mp4', '-movflags', movflags, '-frag_duration', String(fragDurationUs), '-flush_packets', '1'];
  const outputs = renditions.map((r) => {
    const target = opts.targets[r.id];
    if (!target) throw new Error(`no output target for rendition ${r.id}`);
    const rtp = r.video === 'encode' ? opts.rtp?.video[r.id] : undefined;
    const video =
      r.video === 'copy'
        ? ['-map', '0:v:0', '-c:v', 'copy']
        : x264Options(r, rtp ? Math.min(gopSeconds, WEBRTC_RUNG_GOP_SECONDS) : gopSeconds, `[v${encoded.indexOf(r)}]`, rtp ? 'baseline' : 'main');
    if (!rtp) return { id: r.id, options: [...video, ...container], target };
    // One encode, two muxers. The tee cannot tell its encoder that the MP4 needs global headers
    // (avcC), so they are asked for here; the RTP side then gets SPS/PPS back in-band before each
    // keyframe. onfail=ignore: a failing RTP side never stops the HLS.
    const mp4 = `[f=mp4:movflags=${movflags}:frag_duration=${fragDurationUs}:flush_packets=1]${target}`;
    const rtpSlave = `[f=rtp:onfail=ignore:payload_type=${rtp.payloadType}:ssrc=${rtp.ssrc}:bsfs/v=dump_extra=freq=keyframe]${rtp.url}`;
    return { id: r.id, options: [...video, '-flags', '+global_header', '-f', 'tee'], target: `${mp4}|${rtpSlave}` };
  });
  if (source.hasAudio && opts.hlsAudio !== false) {
    const target = opts.targets[AUDIO_RENDITION_ID];
    if (!target) throw new Error(`no output target for the audio rendition (${AUDIO_RENDITION_ID})`);
    // One AAC bitrate for the whole ladder (the profile's audioKbps).
    const audioKbps = renditions[0]!.audioKbps;
    outputs.push({
      id: AUDIO_RENDITION_ID,
      options: ['-map', '0:a:0', '-c:a', 'aac', '-b:a', `${audioKbps}k`, '-ac', '2', '-ar', '48000', '-f', 'mp4', '-movflags', movflags, '-frag_duration', String(AUDIO_FRAGMENT_US), '-flush_packets', '1'],
      target,
    });
  }
  const audioRtp = opts.rtp?.audio;
  if (audioRtp && source.hasAudio) {
    // Once per stream, shared by every rung. An Opus source is copied: no second encode, no loss.
    const codec = source.audioCodec?.toLowerCase() === 'opus' ? ['-c:a', 'copy'] : ['-c:a', 'libopus', '-b:a', '64k', '-ar', '48000', '-ac', '2'];
    outputs.push({ id: 'audio-rtp', options: ['-map', '0:a:0', ...codec, '-f', 'rtp', '-payload_type', String(audioRtp.payloadType), '-ssrc', String(audioRtp.ssrc)], target: audioRtp.url });
  }

  return { inputOptions, input: opts.sdpPath, filterComplex, outputs };
}

function scaleFilter(r: PlannedRendition): string {
  if (r.width && r.height) return `scale=${r.width}:${r.height}`;
  const box = r.box ?? { width: 1280, height: 720 };
  // Unknown source size: fit into the box capped at the source, so never upscale.
  return `scale=w=min(${box.width}\\,iw):h=min(${box.height}\\,ih):force_original_aspect_ratio=decrease:force_divisible_by=2`;
}

function x264Options(r: PlannedRendition, gopSeconds: number, label: string, profile: 'baseline' | 'main'): string[] {
  const kbps = r.videoKbps ?? 1000;
  const nominalFps = r.frameRate ?? 30;
  const gopFrames = Math.max(1, Math.round(nominalFps * gopSeconds));
  return [
    '-map', label,
    '-c:v', 'libx264',
    '-preset', r.preset ?? 'veryfast',
    // zerolatency: no lookahead, no B-frames, sliced threads (encoder start-up ~85 ms, FIELD-NOTES).
    '-tune', 'zerolatency',
    // baseline: x264 writes Constrained Baseline (constraint_set1), what WebRTC players decode;
    // without WebRTC renditions, Main (CABAC) spends ~10 % fewer bits on the same picture.
    '-profile:v', profile,
    '-bf', '0',
    '-b:v', `${kbps}k`,
    '-maxrate', `${kbps}k`,
    '-bufsize', `${kbps}k`,
    // Keyframes come from the clock (force_key_frames), identical on every rung, so segment
    // boundaries align across renditions. -g is twice the nominal GOP so a faster-than-nominal
    // source never gets an extra, unaligned keyframe from the frame counter.
    '-g', String(gopFrames * 2),
    '-keyint_min', String(gopFrames),
    '-sc_threshold', '0',
    '-force_key_frames', `expr:gte(t,n_forced*${gopSeconds})`,
    // vfr: input timestamps kept, never a duplicated frame (cfr filled the wait for the first
    // keyframe with ~70 copies); with -r they are rounded to 1/fps and frames that collide are
    // dropped, which caps the rate. -r also tells x264 the frame rate: without it x264 took the
    // 90 kHz time base for 90000 fps and starved every frame of bits (QP 51).
    '-fps_mode', 'vfr',
    '-r', String(nominalFps),
  ];
}

/** The plan as one argument list (what ffmpeg receives; also what the tests compare). */
export function toArgs(plan: FfmpegPlan): string[] {
  // fluent-ffmpeg adds `-y` (overwrite) after the inputs when a target is not a `proto:` URL, as a
  // tee's `[…]…|[…]…` is not: said here too, so this list stays exactly what ffmpeg is given.
  const fileTarget = plan.outputs.some((output) => !/^[a-z]{2,}:/i.test(output.target));
  return [
    ...plan.inputOptions,
    '-i', plan.input,
    ...(fileTarget ? ['-y'] : []),
    ...(plan.filterComplex ? ['-filter_complex', plan.filterComplex] : []),
    ...plan.outputs.flatMap((o) => [...o.options, o.target]),
  ];
}
