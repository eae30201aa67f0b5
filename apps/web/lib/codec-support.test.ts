import { describe, expect, it } from 'vitest';
import { canReceiveVideoCodec } from './codec-support';

const chromium = { codecs: [{ mimeType: 'video/VP8' }, { mimeType: 'video/rtx' }, { mimeType: 'video/H264' }, { mimeType: 'video/VP9' }, { mimeType: 'video/AV1' }] };
/** Debian's Firefox without the OpenH264 plugin. */
const firefoxNoH264 = { codecs: [{ mimeType: 'video/VP8' }, { mimeType: 'video/VP9' }, { mimeType: 'video/AV1' }, { mimeType: 'video/ulpfec' }, { mimeType: 'video/red' }] };

describe('canReceiveVideoCodec', () => {
  it.each([
    ['H264', chromium, true],
    ['H264', firefoxNoH264, false],
    // An H.264 stream the ingest also serves as VP8 (made on demand): Firefox stays on WebRTC.
    ['H264,VP8', firefoxNoH264, true],
    ['H264,VP8', chromium, true],
    ['H264,H265', firefoxNoH264, false],
    ['VP8', firefoxNoH264, true],
    ['h264', chromium, true],
    ['AV1', { codecs: [{ mimeType: 'video/av1' }] }, true],
    ['H265', chromium, false],
    // Unknown: try WebRTC (the ingest's 406 and the fallback policy still apply).
    [null, firefoxNoH264, null],
    ['', firefoxNoH264, null],
    ['H264', null, null],
    ['H264', { codecs: [] }, null],
    ['H264', { codecs: 'nope' } as unknown as { codecs: [] }, null],
    ['H264', { codecs: [null, { mimeType: 7 }] } as unknown as { codecs: [] }, false],
  ] as const)('%s with %j → %s', (codec, capabilities, expected) => {
    expect(canReceiveVideoCodec(codec, capabilities)).toBe(expected);
  });
});
