/**
 * Whether this browser can receive a stream's video codec over WebRTC, from
 * `RTCRtpReceiver.getCapabilities('video')` and the codec the public live list reports (`H264`,
 * `VP8`, …, as the ingest measured it). Debian's Firefox, without the OpenH264 download, receives
 * VP8, VP9 and AV1 only: it asked for an H.264 stream over WHEP, got 406 and reached HLS ~2 s later.
 * Pure; the player passes the capabilities in.
 */

/** The part of RTCRtpCapabilities looked at. */
export interface ReceiverCapabilities {
  codecs: ReadonlyArray<{ mimeType: string }>;
}

/**
 * true: it can; false: it cannot (go to HLS); null: unknown (no codec listed yet, no getCapabilities) — try WebRTC.
 * `codec` may list several, comma-separated (`H264,VP8`: the live list's `webrtcCodecs`, the source's
 * and the renditions' the ingest can serve over WebRTC, VP8 made on demand): any one is enough.
 */
export function canReceiveVideoCodec(codec: string | null | undefined, capabilities: ReceiverCapabilities | null | undefined): boolean | null {
  if (!codec || !capabilities || !Array.isArray(capabilities.codecs) || capabilities.codecs.length === 0) return null;
  const wanted = codec.split(',').filter(Boolean).map((name) => `video/${name.trim()}`.toLowerCase());
  return capabilities.codecs.some((entry) => typeof entry?.mimeType === 'string' && wanted.includes(entry.mimeType.toLowerCase()));
}

/** This browser's receive capabilities for video, or null where the API is missing or throws. */
export function videoReceiverCapabilities(): ReceiverCapabilities | null {
  try {
    const receiver = (globalThis as { RTCRtpReceiver?: { getCapabilities?: (kind: string) => ReceiverCapabilities | null } }).RTCRtpReceiver;
    return receiver?.getCapabilities?.('video') ?? null;
  } catch {
    return null;
  }
}
