/**
 * ffmpeg's arguments for an on-demand VP8 rendition: the stream's video decoded from the ingest's
 * forward, scaled, encoded once with libvpx in real-time mode and sent as RTP (RFC 7741) to the
 * ingest, which serves it to WebRTC viewers that cannot decode the source (a VP8-only browser
 * watching an H.264 stream). Video only: viewers get the publisher's audio as it is. Pure.
 */
import { fitInto } from '../ladder/plan-renditions';
import { RTP_PACKET_BYTES, SDP_INPUT_OPTIONS } from './build-args';

/** The largest VP8 rendition: libvpx in real time costs about a core at 720p30. */
export const VP8_BOX = { width: 1280, height: 720 } as const;
/** VP8 bitrate at VP8_BOX, kbit/s; scaled by pixels below it, never under VP8_MIN_KBPS. */
export const VP8_KBPS_AT_BOX = 2000;
export const VP8_MIN_KBPS = 300;

export interface Vp8Rendition {
  /** `<height>p-vp8` (`720p-vp8`): the rendition's name for viewers and the layer resource. */
  name: string;
  width: number;
  height: number;
  videoKbps: number;
  frameRate: number;
}

/** The VP8 rendition of a source of `width`×`height` (unknown: the box), never upscaled. */
export function planVp8Rendition(source: { width?: number; height?: number; fps?: number }): Vp8Rendition {
  const portrait = (source.height ?? 0) > (source.width ?? 0);
  const box = portrait ? { width: VP8_BOX.height, height: VP8_BOX.width } : VP8_BOX;
  const size = source.width && source.height ? fitInto({ width: source.width, height: source.height }, box) : box;
  const share = (size.width * size.height) / (VP8_BOX.width * VP8_BOX.height);
  const frameRate = Math.min(30, Math.round(source.fps ?? 30)) || 30;
  return { name: `${Math.min(size.width, size.height)}p-vp8`, width: size.width, height: size.height, videoKbps: Math.max(VP8_MIN_KBPS, Math.round(VP8_KBPS_AT_BOX * share)), frameRate };
}

export interface Vp8ArgsOptions {
  sdpPath: string;
  rendition: Vp8Rendition;
  /** Where the RTP goes (`rtp://127.0.0.1:40000?…`) with the payload type and SSRC the ingest gave. */
  rtp: { host: string; port: number; payloadType: number; ssrc: number };
  /** Keyframe interval, s: a viewer starts at the next one. */
  gopSeconds?: number;
}

export function vp8Args({ sdpPath, rendition, rtp, gopSeconds = 1 }: Vp8ArgsOptions): string[] {
  const kbps = rendition.videoKbps;
  const gopFrames = Math.max(1, Math.round(rendition.frameRate * gopSeconds));
  const host = rtp.host.includes(':') ? `[${rtp.host}]` : rtp.host;
  return [
    '-hide_banner', '-loglevel', 'level+warning', '-nostats',
    ...SDP_INPUT_OPTIONS,
    '-i', sdpPath,
    '-map', '0:v:0',
    '-an',
    '-vf', `scale=${rendition.width}:${rendition.height},setsar=1,format=yuv420p`,
    '-c:v', 'libvpx',
    // Real time: no look-ahead (lag 0), the fastest speed, and error resilience so a lost packet
    // costs the frames up to the next keyframe rather than a broken reference forever.
    '-deadline', 'realtime', '-cpu-used', '8', '-lag-in-frames', '0', '-error-resilient', '1',
    '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`,
    // Keyframes from the clock: a viewer switching to this rendition waits at most a GOP.
    '-g', String(gopFrames * 2), '-keyint_min', String(gopFrames),
    '-force_key_frames', `expr:gte(t,n_forced*${gopSeconds})`,
    '-fps_mode', 'vfr', '-r', String(rendition.frameRate),
    '-f', 'rtp', '-payload_type', String(rtp.payloadType), '-ssrc', String(rtp.ssrc),
    `rtp://${host}:${rtp.port}?rtcpport=${rtp.port}&pkt_size=${RTP_PACKET_BYTES}`,
  ];
}
