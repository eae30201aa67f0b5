/**
 * The SDP that describes a rendition set as the ingest receives it (RFC 8866): one `m=video` per
 * rendition and one `m=audio`, all on the one UDP port the ingest bound, told apart by SSRC
 * (`a=ssrc`, RFC 5576) and bundled (RFC 9143), with RTCP on the same port (`a=rtcp-mux`, RFC
 * 5761). Pure. The transcoder sends exactly this: the payload types and SSRCs here are the ones
 * the ingest accepts, anything else on the port is dropped.
 */

/** A rendition set's video format: every rung of a set is in one codec. */
export interface RenditionVideoFormat {
  readonly codec: 'H264' | 'VP8';
  readonly payloadType: number;
  readonly clockRate: number;
  readonly fmtp?: string;
}

/** H.264 Constrained Baseline, packetization mode 1 (RFC 6184 §8.1): what WebRTC players decode. */
export const RENDITION_VIDEO = { codec: 'H264', payloadType: 96, clockRate: 90000, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' } as const satisfies RenditionVideoFormat;
/** VP8 (RFC 7741), made on demand for viewers that cannot decode the source (no fmtp: RFC 7741 §6.1). */
export const RENDITION_VP8 = { codec: 'VP8', payloadType: 97, clockRate: 90000 } as const satisfies RenditionVideoFormat;

/** The format of a set in `codec` (`H264` or `VP8`, any case). */
export function renditionVideoFormat(codec: string): RenditionVideoFormat {
  return codec.toUpperCase() === 'VP8' ? RENDITION_VP8 : RENDITION_VIDEO;
}
/** Opus, 48 kHz stereo (RFC 7587 §6.1). */
export const RENDITION_AUDIO = { codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' } as const;

export interface RenditionSdpTrack {
  name: string;
  ssrc: number;
  width: number;
  height: number;
  targetKbps: number;
  frameRate: number;
}

export interface RenditionSdpOptions {
  streamName: string;
  /** Default H.264 Constrained Baseline. */
  video?: RenditionVideoFormat;
  /** The address the ingest receives on. */
  host: string;
  port: number;
  renditions: RenditionSdpTrack[];
  audio: { ssrc: number } | undefined;
}

export function renditionSdp({ streamName, host, port, renditions, audio, video = RENDITION_VIDEO }: RenditionSdpOptions): string {
  const family = host.includes(':') ? 'IP6' : 'IP4';
  const cname = `onair-${streamName}`;
  const mids = [...renditions.map((r) => r.name), ...(audio ? ['audio'] : [])];
  const lines = ['v=0', `o=- 0 0 IN ${family} ${host}`, `s=onair ${streamName} renditions`, `c=IN ${family} ${host}`, 't=0 0', `a=group:BUNDLE ${mids.join(' ')}`];
  const { payloadType: pt } = video;
  for (const r of renditions) {
    lines.push(
      `m=video ${port} RTP/AVP ${pt}`,
      `b=AS:${r.targetKbps}`,
      `a=mid:${r.name}`,
      `a=rtpmap:${pt} ${video.codec}/${video.clockRate}`,
      ...(video.fmtp ? [`a=fmtp:${pt} ${video.fmtp}`] : []),
      // RFC 6236 §3.1: the picture size of this rendition.
      `a=imageattr:${pt} recv [x=${r.width},y=${r.height}]`,
      `a=framerate:${r.frameRate}`,
      `a=ssrc:${r.ssrc} cname:${cname}`,
      'a=rtcp-mux',
      'a=recvonly',
    );
  }
  if (audio) {
    const a = RENDITION_AUDIO;
    lines.push(`m=audio ${port} RTP/AVP ${a.payloadType}`, 'a=mid:audio', `a=rtpmap:${a.payloadType} ${a.codec}/${a.clockRate}/${a.channels}`, `a=fmtp:${a.payloadType} ${a.fmtp}`, `a=ssrc:${audio.ssrc} cname:${cname}`, 'a=rtcp-mux', 'a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}
