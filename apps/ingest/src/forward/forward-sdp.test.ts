import { describe, expect, it } from 'vitest';
import { forwardSdp } from './forward-sdp';

describe('forwardSdp', () => {
  it('describes H.264 + Opus on the given ports with the forwarded payload types', () => {
    const sdp = forwardSdp({
      streamName: 'demo',
      host: '127.0.0.1',
      tracks: [
        { kind: 'video', codec: 'H264', clockRate: 90000, payloadType: 96, fmtp: 'packetization-mode=1;profile-level-id=42e01f', port: 5000 },
        { kind: 'audio', codec: 'opus', clockRate: 48000, channels: 2, payloadType: 111, port: 5002 },
      ],
    });
    expect(sdp.split('\r\n')).toEqual([
      'v=0',
      'o=- 0 0 IN IP4 127.0.0.1',
      's=onair demo',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=video 5000 RTP/AVP 96',
      'a=rtpmap:96 H264/90000',
      'a=fmtp:96 packetization-mode=1;profile-level-id=42e01f',
      'a=recvonly',
      'm=audio 5002 RTP/AVP 111',
      'a=rtpmap:111 opus/48000/2',
      'a=recvonly',
      '',
    ]);
  });

  it('uses IP6 for an IPv6 host and omits fmtp when there is none', () => {
    const sdp = forwardSdp({ streamName: 'v', host: '::1', tracks: [{ kind: 'video', codec: 'VP8', clockRate: 90000, payloadType: 97, port: 6000 }] });
    expect(sdp).toContain('c=IN IP6 ::1\r\n');
    expect(sdp).toContain('a=rtpmap:97 VP8/90000\r\n');
    expect(sdp).not.toContain('fmtp');
  });
});
