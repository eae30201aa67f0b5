import { describe, expect, it } from 'vitest';
import { h264Profile, parseSdp } from '@onair/shared/sdp';
import { RENDITION_VP8, renditionSdp } from './rendition-sdp';

const renditions = [
  { name: '720p', ssrc: 111, width: 1280, height: 720, targetKbps: 2800, frameRate: 30 },
  { name: '360p', ssrc: 333, width: 640, height: 360, targetKbps: 800, frameRate: 30 },
];

describe('renditionSdp', () => {
  it('describes every rendition and the audio on one bundled port, each by its SSRC', () => {
    const sdp = renditionSdp({ streamName: 'studio', host: '127.0.0.1', port: 40_000, renditions, audio: { ssrc: 999 } });
    const parsed = parseSdp(sdp);
    expect(parsed.media.map((m) => [m.kind, m.port, m.mid, m.direction])).toEqual([
      ['video', 40_000, '720p', 'recvonly'],
      ['video', 40_000, '360p', 'recvonly'],
      ['audio', 40_000, 'audio', 'recvonly'],
    ]);
    expect(parsed.media[0]!.codecs).toMatchObject([{ payloadType: 96, name: 'H264', clockRate: 90_000 }]);
    expect(h264Profile(parsed.media[0]!.codecs[0]!.fmtp)?.name).toBe('constrained-baseline');
    expect(parsed.media[2]!.codecs).toMatchObject([{ payloadType: 111, name: 'opus', clockRate: 48_000, channels: 2 }]);
    expect(sdp).toContain('a=group:BUNDLE 720p 360p audio\r\n');
    expect(sdp).toContain('a=ssrc:333 cname:onair-studio\r\n');
    expect(sdp).toContain('a=imageattr:96 recv [x=640,y=360]\r\n');
    expect(sdp).toContain('b=AS:2800\r\n');
    expect(sdp.match(/a=rtcp-mux/g)).toHaveLength(3);
  });

  it('uses IP6 for an IPv6 address and leaves audio out when there is none', () => {
    const sdp = renditionSdp({ streamName: 's', host: '::1', port: 40_002, renditions: renditions.slice(0, 1), audio: undefined });
    expect(sdp).toContain('c=IN IP6 ::1\r\n');
    expect(sdp).not.toContain('m=audio');
    expect(sdp).toContain('a=group:BUNDLE 720p\r\n');
  });

  it('describes a VP8 set (made on demand) with its own payload type and no fmtp', () => {
    const sdp = renditionSdp({ streamName: 's', host: '127.0.0.1', port: 40_004, renditions: [{ ...renditions[0]!, name: '720p-vp8' }], audio: undefined, video: RENDITION_VP8 });
    const parsed = parseSdp(sdp);
    expect(parsed.media[0]!.codecs).toEqual([{ payloadType: 97, name: 'VP8', clockRate: 90_000, rtcpFb: [] }]);
    expect(sdp).not.toContain('a=fmtp');
    expect(sdp).toContain('a=imageattr:97 recv [x=1280,y=720]\r\n');
  });
});
