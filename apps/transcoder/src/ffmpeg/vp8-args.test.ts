import { describe, expect, it } from 'vitest';
import { planVp8Rendition, vp8Args } from './vp8-args';

describe('planVp8Rendition', () => {
  it.each([
    ['1080p source → 720p, 2000 kbit/s', { width: 1920, height: 1080, fps: 30 }, { name: '720p-vp8', width: 1280, height: 720, videoKbps: 2000, frameRate: 30 }],
    ['360p source stays 360p, bitrate scaled by pixels', { width: 640, height: 360, fps: 30 }, { name: '360p-vp8', width: 640, height: 360, videoKbps: 500, frameRate: 30 }],
    ['a tiny source gets the floor bitrate', { width: 320, height: 180, fps: 15 }, { name: '180p-vp8', width: 320, height: 180, videoKbps: 300, frameRate: 15 }],
    ['portrait 1080x1920 → 720x1280', { width: 1080, height: 1920, fps: 60 }, { name: '720p-vp8', width: 720, height: 1280, videoKbps: 2000, frameRate: 30 }],
    ['unknown size → the box', {}, { name: '720p-vp8', width: 1280, height: 720, videoKbps: 2000, frameRate: 30 }],
  ])('%s', (_name, source, expected) => {
    expect(planVp8Rendition(source)).toEqual(expected);
  });
});

describe('vp8Args', () => {
  it('decodes the SDP, scales, encodes libvpx in real time with 1 s keyframes, and sends RTP with the given payload type and SSRC', () => {
    const args = vp8Args({ sdpPath: '/t/in.sdp', rendition: planVp8Rendition({ width: 640, height: 360 }), rtp: { host: '127.0.0.1', port: 40_000, payloadType: 97, ssrc: 1234 } });
    const at = (flag: string) => args[args.indexOf(flag) + 1];
    expect(at('-i')).toBe('/t/in.sdp');
    expect(at('-vf')).toBe('scale=640:360,setsar=1,format=yuv420p');
    expect(at('-c:v')).toBe('libvpx');
    expect(at('-deadline')).toBe('realtime');
    expect(at('-b:v')).toBe('500k');
    expect(at('-force_key_frames')).toBe('expr:gte(t,n_forced*1)');
    expect(args).toContain('-an');
    expect([at('-f'), at('-payload_type'), at('-ssrc')]).toEqual(['rtp', '97', '1234']);
    expect(args.at(-1)).toBe('rtp://127.0.0.1:40000?rtcpport=40000&pkt_size=1200');
    expect(vp8Args({ sdpPath: '/t/in.sdp', rendition: planVp8Rendition({}), rtp: { host: '::1', port: 5, payloadType: 97, ssrc: 1 } }).at(-1)).toMatch(/^rtp:\/\/\[::1\]:5\?/);
  });
});
