/**
 * The ingest's forward to the transcoder ends each H.264 frame for ffmpeg as it sends it
 * (apps/ingest/src/forward/access-unit-delimiter.ts): the recorded source, stepped one frame at a
 * time through the ingest's RtpForwardPeer into the transcoder's real ffmpeg command
 * (test/support/ladder-holdback.ts), leaves every rung before the next frame goes in. As plain RTP
 * it left one frame later (apps/transcoder/src/ffmpeg/frame-holdback.int.test.ts): 33 ms at
 * 30 fps on every transcoded rung, WebRTC and LL-HLS alike. With sound, a rung's fMP4 muxer still
 * holds each video frame until the AAC of its instant is encoded (ARCHITECTURE.md, the transcoder).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RtpForwardPeer } from '../../apps/ingest/src/forward/rtp-forward-peer';
import type { OutboundRtp } from '../../apps/ingest/src/webrtc/engine';
import { pollUntil } from '../support/poll';
import { measureFrameLags, type Delivery } from '../support/ladder-holdback';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
});

/** The recorded packets handed to the forward as the router hands it a sink's packets. */
const throughForward: Delivery = async (ports, cleanup) => {
  const peer = new RtpForwardPeer(
    { video: { kind: 'video', name: 'H264', clockRate: 90_000, payloadType: 96 }, audio: { kind: 'audio', name: 'opus', clockRate: 48_000, channels: 2, payloadType: 97 } },
    { host: '127.0.0.1', ports },
  );
  cleanup.push(() => peer.close());
  await pollUntil('the forward to connect', () => peer.state === 'connected', { timeoutMs: 1_000, intervalMs: 5 });
  return (kind, packet) => {
    const rtp: OutboundRtp = {
      sequenceNumber: packet.readUInt16BE(2),
      timestamp: packet.readUInt32BE(4),
      ssrc: packet.readUInt32BE(8),
      payloadType: packet[1]! & 0x7f,
      marker: (packet[1]! & 0x80) !== 0,
      payload: packet.subarray(12),
    };
    peer.send(kind, rtp);
  };
};

describe('the ingest forward ends each frame for ffmpeg', () => {
  it('every frame leaves every rung as RTP before the next source frame arrives', async () => {
    const { lags, stepped, frames, exited } = await measureFrameLags({ audio: false, allowedLag: 0, deliver: throughForward, cleanups });
    expect(exited).toBe(false);
    expect(lags, `frames in − out after each input`).toEqual(lags.map(() => 0));
    expect(stepped).toBe(frames);
  }, 90_000);
});
