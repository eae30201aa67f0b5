/**
 * The SDP that describes a forward: plain RTP (RTP/AVP, no SRTP) sent to local UDP ports, as
 * ffmpeg's `-i x.sdp` RTP demuxer reads it (RFC 4566 session description, RFC 3551 profile).
 * Payload types here are the ones the forward writes into each packet, so ffmpeg never sees a
 * payload type it was not told about.
 */

export interface ForwardTrack {
  kind: 'video' | 'audio';
  /** Encoding name as in rtpmap: `H264`, `VP8`, `opus`. */
  codec: string;
  clockRate: number;
  channels?: number;
  /** Payload type written into forwarded packets (96–127, dynamic). */
  payloadType: number;
  fmtp?: string;
  port: number;
}

export function forwardSdp({ streamName, host, tracks }: { streamName: string; host: string; tracks: ForwardTrack[] }): string {
  const family = host.includes(':') ? 'IP6' : 'IP4';
  const lines = ['v=0', `o=- 0 0 IN ${family} ${host}`, `s=onair ${streamName}`, `c=IN ${family} ${host}`, 't=0 0'];
  for (const track of tracks) {
    const encoding = track.channels && track.channels > 1 ? `${track.codec}/${track.clockRate}/${track.channels}` : `${track.codec}/${track.clockRate}`;
    lines.push(`m=${track.kind} ${track.port} RTP/AVP ${track.payloadType}`, `a=rtpmap:${track.payloadType} ${encoding}`);
    if (track.fmtp) lines.push(`a=fmtp:${track.payloadType} ${track.fmtp}`);
    lines.push('a=recvonly');
  }
  return `${lines.join('\r\n')}\r\n`;
}
