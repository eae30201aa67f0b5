/**
 * What the transcoder needs from an input SDP (RFC 8866): which media it carries, their codecs
 * and ports. A hand-written parser: it never throws, unknown lines are ignored.
 */
export interface SdpMedia {
  kind: string;
  port: number;
  payloadTypes: number[];
  /** Codec of the first payload type (`H264`, `VP8`, `opus`), from `a=rtpmap`. */
  codec?: string;
  clockRate?: number;
}

export interface SdpInfo {
  media: SdpMedia[];
  video?: SdpMedia;
  audio?: SdpMedia;
}

export function parseSdpInfo(sdp: string): SdpInfo {
  const media: SdpMedia[] = [];
  let current: SdpMedia | undefined;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    const m = /^m=(\w+)\s+(\d+)(?:\/\d+)?\s+\S+\s*(.*)$/.exec(line);
    if (m) {
      current = { kind: m[1]!, port: Number(m[2]), payloadTypes: (m[3] ?? '').split(/\s+/).filter(Boolean).map(Number).filter(Number.isInteger) };
      media.push(current);
      continue;
    }
    const rtpmap = /^a=rtpmap:(\d+)\s+([^/\s]+)\/(\d+)/.exec(line);
    if (rtpmap && current && Number(rtpmap[1]) === current.payloadTypes[0] && current.codec === undefined) {
      current.codec = rtpmap[2];
      current.clockRate = Number(rtpmap[3]);
    }
  }
  return { media, video: media.find((x) => x.kind === 'video'), audio: media.find((x) => x.kind === 'audio') };
}
