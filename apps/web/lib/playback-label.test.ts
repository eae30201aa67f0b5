import { describe, expect, it } from 'vitest';
import { hlsManifestUrl, hlsPublicBase } from './hls-url';
import { activeLayerLabel, latencyLabel, modeLabel, renditionLabel } from './playback-label';

describe('renditionLabel', () => {
  it.each([
    [{ width: 854, height: 480, bitrate: 1_200_000 }, '480p · 1.2 Mbps'],
    [{ width: 1280, height: 720, bitrate: 2_500_000 }, '720p · 2.5 Mbps'],
    [{ width: 640, height: 360, bitrate: 650_000 }, '360p · 650 kbps'],
    [{ width: 1000, height: 500, bitrate: 0 }, '1000×500'],
    [{ bitrate: 800_000 }, '800 kbps'],
    [{}, null],
    [null, null],
  ])('%j → %s', (level, expected) => {
    expect(renditionLabel(level)).toBe(expected);
  });
});

describe('modeLabel / latencyLabel', () => {
  it('names the mode and, for HLS, the rendition', () => {
    expect(modeLabel('webrtc', null)).toBe('WebRTC');
    expect(modeLabel('webrtc', '360p')).toBe('WebRTC · 360p');
    expect(modeLabel('hls', '480p · 1.2 Mbps')).toBe('HLS · 480p · 1.2 Mbps');
    expect(modeLabel('hls', null)).toBe('HLS');
    expect(modeLabel('hls', null, true)).toBe('HLS (native)');
  });
  it('shows latency in seconds', () => {
    expect(latencyLabel(1.234)).toBe('latency 1.2 s');
    expect(latencyLabel(12.6)).toBe('latency 13 s');
    expect(latencyLabel(null)).toBeNull();
    expect(latencyLabel(Number.NaN)).toBeNull();
  });
});

describe('activeLayerLabel (a WHEP session\'s rendition)', () => {
  const layers = [
    { encodingId: 'source', kind: 'source' as const, codec: 'H264', width: 1280, height: 720, frameRate: 30, bitrateKbps: 2500, targetKbps: null },
    { encodingId: '360p', kind: 'transcoded' as const, codec: 'H264', width: 640, height: 360, frameRate: 30, bitrateKbps: 700, targetKbps: 800 },
    { encodingId: 'odd', kind: 'transcoded' as const, codec: 'H264', width: null, height: null, frameRate: null, bitrateKbps: 0, targetKbps: 100 },
  ];
  it.each([
    ['source', 'source 720p'],
    ['360p', '360p'],
    ['odd', 'odd'],
    ['gone', 'gone'],
  ])('active %s → %s', (active, expected) => {
    expect(activeLayerLabel({ pinned: null, active, pending: null, layers })).toBe(expected);
  });
  it('no layer resource: nothing to show', () => {
    expect(activeLayerLabel(null)).toBeNull();
  });
});

describe('HLS URLs', () => {
  it('uses the web origin unless ONAIR_HLS_PUBLIC_URL is a valid http(s) URL', () => {
    expect(hlsPublicBase({})).toBe('');
    expect(hlsPublicBase({ ONAIR_HLS_PUBLIC_URL: 'https://cdn.example.org/' })).toBe('https://cdn.example.org');
    expect(hlsPublicBase({ ONAIR_HLS_PUBLIC_URL: 'https://cdn.example.org/live/' })).toBe('https://cdn.example.org/live');
    expect(hlsPublicBase({ ONAIR_HLS_PUBLIC_URL: 'javascript:alert(1)' })).toBe('');
    expect(hlsManifestUrl('', 'demo')).toBe('/hls/demo/index.m3u8');
    expect(hlsManifestUrl('https://cdn.example.org/live', 'my stream')).toBe('https://cdn.example.org/live/hls/my%20stream/index.m3u8');
  });
});
