/**
 * Shapes of the JSON APIs that cross a process boundary (ingest admin API, public live list,
 * transcoder API). Both sides import these, so a field changes in one place.
 */
import { z } from 'zod';

/** Stream names appear in URLs (`/whep/<name>`, `/hls/<name>/…`): keep them URL- and path-safe. */
export const streamNameSchema = z
  .string()
  .trim()
  .min(1, 'name must not be empty')
  .max(64, 'name must be at most 64 characters')
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'name may contain only lower-case letters, digits, "-" and "_", and must start with a letter or digit');

export const createStreamRequestSchema = z.object({ name: streamNameSchema }).strict();
export const renameStreamRequestSchema = z.object({ name: streamNameSchema }).strict();

export const trackInfoSchema = z.object({
  kind: z.enum(['video', 'audio']),
  codec: z.string(),
  clockRate: z.number(),
  /** Payload type the publisher negotiated. */
  payloadType: z.number(),
  fmtp: z.string().optional(),
  channels: z.number().optional(),
});
export type TrackInfo = z.infer<typeof trackInfoSchema>;

/**
 * One video rendition of a live stream as WHEP viewers can be served it: `source` (the publisher's
 * own video, forwarded as is), one of the publisher's other simulcast layers (forwarded as is), or
 * a rung the transcoder encodes and sends back as RTP.
 */
export const renditionStateSchema = z.object({
  /** `source`, a simulcast layer's rid, or the rung's name (`720p`, `720p-vp8`). */
  name: z.string(),
  kind: z.enum(['source', 'simulcast', 'transcoded']),
  /** Video codec (`H264`, `VP8`); a viewer is served the renditions in the codec it negotiated. Null when not known yet. */
  codec: z.string().nullable(),
  width: z.number().nullable(),
  height: z.number().nullable(),
  /** Measured over the last second; null when unknown. */
  frameRate: z.number().nullable(),
  /** Measured over the last second (RTP as received), kbit/s. */
  bitrateKbps: z.number(),
  /** The encoder's target for a transcoded rung, kbit/s; null for the source. */
  targetKbps: z.number().nullable(),
  /** Connected WHEP viewers receiving this rendition now. */
  viewers: z.number(),
  /** How much later than the source's frames this rendition's are (the transcode), ms; null when not measured. */
  delayMs: z.number().nullable().optional(),
});
export type RenditionState = z.infer<typeof renditionStateSchema>;

/** What is known about a stream while it is live (measured from the packets, not declared). */
export const liveStateSchema = z.object({
  live: z.boolean(),
  /** ISO time the current publish session started. */
  since: z.string().nullable(),
  /** `edge`: in a cluster, this node pulls the stream from the node its publisher is on. */
  publisher: z.object({ protocol: z.enum(['whip', 'webtransport', 'edge']), sessionId: z.string() }).nullable(),
  video: z
    .object({
      codec: z.string(),
      width: z.number().nullable(),
      height: z.number().nullable(),
      fps: z.number().nullable(),
      bitrateKbps: z.number(),
      packetsLost: z.number(),
    })
    .nullable(),
  audio: z.object({ codec: z.string(), bitrateKbps: z.number() }).nullable(),
  viewers: z.object({ whep: z.number(), total: z.number() }),
  /** Video renditions WHEP viewers can get (the source first), with their viewers; empty when offline. */
  renditions: z.array(renditionStateSchema).optional(),
  /** Video codecs a WHEP viewer can be served: the source's first, then renditions' and those made on demand (`VP8`). */
  webrtcCodecs: z.array(z.string()).optional(),
});
export type LiveState = z.infer<typeof liveStateSchema>;

export const streamSchema = z.object({
  id: z.string(),
  name: streamNameSchema,
  streamKey: z.string(),
  createdAt: z.string(),
  whipUrl: z.string(),
  whepUrl: z.string(),
  watchUrl: z.string().optional(),
  state: liveStateSchema,
});
export type Stream = z.infer<typeof streamSchema>;

/** Public view of a live stream: never contains the key. */
export const publicLiveStreamSchema = z.object({
  name: streamNameSchema,
  since: z.string().nullable(),
  video: liveStateSchema.shape.video,
  audio: liveStateSchema.shape.audio,
  viewers: z.number(),
  whepUrl: z.string(),
  renditions: z.array(renditionStateSchema).optional(),
  /**
   * Video codecs a WHEP viewer can be served, the source's first: a browser that decodes none of
   * them goes to HLS. Includes codecs the transcoder makes on demand (`VP8`) before anyone asked.
   */
  webrtcCodecs: z.array(z.string()).optional(),
});
export type PublicLiveStream = z.infer<typeof publicLiveStreamSchema>;

/**
 * `GET /api/webtransport` (public, on the ingest and the web origin): where a browser publishes
 * over WebTransport. Connect to `<url>?key=<stream key>`, passing `serverCertificateHashes` to
 * `new WebTransport()` when present (a self-made certificate; absent with a configured one).
 */
export const webTransportDiscoverySchema = z.object({
  url: z.string().url(),
  serverCertificateHashes: z.array(z.object({ algorithm: z.literal('sha-256'), value: z.string().regex(/^[0-9a-f]{64}$/) })),
});
export type WebTransportDiscovery = z.infer<typeof webTransportDiscoverySchema>;

/**
 * WHEP video layer selection (the `urn:ietf:params:whep:ext:core:layer` extension of
 * draft-ietf-wish-whep-00, "Video Layer Selection extension"): `POST <session>/layer` with `{"encodingId": "480p"}` pins a
 * rendition, `{}` or `{"encodingId": "auto"}` returns to the server's choice. `mediaId` names the
 * video m-line; a session has one, so it is accepted and not needed.
 */
export const whepLayerRequestSchema = z
  .object({
    mediaId: z.string().max(64).optional(),
    encodingId: z.string().min(1).max(64).optional(),
  })
  .strict();
export type WhepLayerRequest = z.infer<typeof whepLayerRequestSchema>;

/** `GET <session>/layer` (and the answer to a POST): what the session may receive and what it gets. */
export const whepLayersSchema = z.object({
  /** The pinned rendition, or null when the server chooses (`auto`). */
  pinned: z.string().nullable(),
  /** The rendition the session receives now. */
  active: z.string(),
  /** The rendition it switches to at that rendition's next keyframe, if any. */
  pending: z.string().nullable(),
  /** What the server holds the session's sound back by now, to keep it with a transcoded picture (lip sync), ms. */
  audioHoldMs: z.number().optional(),
  layers: z.array(
    z.object({
      encodingId: z.string(),
      kind: renditionStateSchema.shape.kind,
      codec: renditionStateSchema.shape.codec,
      width: z.number().nullable(),
      height: z.number().nullable(),
      frameRate: z.number().nullable(),
      bitrateKbps: z.number(),
      targetKbps: z.number().nullable(),
      /** As in renditionStateSchema: lets another node hold the sound back as this one does (lip sync). */
      delayMs: z.number().nullable().optional(),
    }),
  ),
});
export type WhepLayers = z.infer<typeof whepLayersSchema>;
