/**
 * The encodings a browser publisher sends for simulcast (RFC 8853 through `sendEncodings`): three
 * layers named by rid, full, half and quarter size, each with its share of the bitrate ceiling.
 * The server serves them as renditions without transcoding (apps/ingest router/simulcast-layers.ts)
 * and tells them apart by rid only, so the names are conventions, not a contract. libwebrtc drops
 * the layers a small picture cannot carry (640×360 sends two), which the server measures.
 */

/** The rids, largest picture first (`f`ull, `h`alf, `q`uarter: Chrome's and Janus's convention). */
export const SIMULCAST_RIDS = ['f', 'h', 'q'] as const;

/** `sendEncodings` for simulcast under a total ceiling of `maxBitrate` bit/s (full 60 %, half 28 %, quarter 12 %). */
export function simulcastEncodings(maxBitrate: number): RTCRtpEncodingParameters[] {
  const share = { f: 0.6, h: 0.28, q: 0.12 } as const;
  const scale = { f: 1, h: 2, q: 4 } as const;
  return SIMULCAST_RIDS.map((rid) => ({ rid, scaleResolutionDownBy: scale[rid], maxBitrate: Math.round(maxBitrate * share[rid]) }));
}
