/**
 * Renditions (admin API): the transcoder announces the rungs it encodes for a live stream and the
 * ingest answers where to send them — one UDP port it bound for the set, a payload type and an
 * SSRC per rung, the Opus track's SSRC, and the SDP that says all of it (rendition-sdp.ts). Like
 * a forward, a set is created under the lease of a transcoder instance that holds the event
 * stream open (forward/forward-leases.ts) and ends with it; it also ends when the stream goes
 * offline, and a stream has one set per codec (a new one from the same instance replaces it): the
 * H.264 ladder, and a VP8 rendition the transcoder makes while a viewer that cannot decode the
 * source watches (`renditions.wanted` on /api/events).
 *
 *   POST   /api/streams/<id>/renditions {instance, host?, codec?: H264|VP8, renditions: [{name, width, height, videoKbps, frameRate}], audio?}
 *          → 201 {id, host, port, video: {codec, payloadType, clockRate, fmtp?}, renditions: [{name, ssrc}], audio: {…, ssrc} | null, sdp}
 *          (404 stream_offline, 409 forward_lease_unknown, 409 renditions_in_use, 503 unavailable: no port)
 *   GET    /api/streams/<id>/renditions → 200 {sets: [{id, codec, owner, instance, host, port, renditions: [{name, ssrc, packets, bitrateKbps, …}], audio, rejectedDatagrams}]}
 *   DELETE /api/streams/<id>/renditions/<setId> → 204
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { OnairError } from '@onair/shared/errors';
import { readJson, sendJson, type Router } from '@onair/service/http';
import type { IngestConfig } from '../config';
import type { ForwardLeases } from '../forward/forward-leases';
import { isAllowedForwardHost } from '../forward/forward-routes';
import { RtpForwardPeer } from '../forward/rtp-forward-peer';
import type { MediaRouter } from '../router/media-router';
import { requireAdmin } from '../streams/admin-auth';
import type { StreamStore } from '../streams/stream-store';
import { RenditionSet } from './rendition-set';
import { RENDITION_AUDIO, renditionSdp } from './rendition-sdp';

/** Most rungs in one set: the transcoder's profiles allow 8. */
export const MAX_RENDITIONS_PER_SET = 8;

const renditionSchema = z
  .object({
    /** The rung's name, as in the transcoder's profile; `source` and `auto` mean something else to viewers. */
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1–32 of a–z 0–9 _ - starting with a letter or digit')
      .refine((name) => name !== 'source' && name !== 'auto', 'source and auto are reserved'),
    width: z.number().int().min(16).max(4096),
    height: z.number().int().min(16).max(4096),
    videoKbps: z.number().int().min(50).max(50_000),
    frameRate: z.number().min(1).max(120),
  })
  .strict();

const createRenditionsSchema = z
  .object({
    /** The transcoder instance whose lease (its open event stream) the set lives under. */
    instance: z.string().min(1).max(128),
    /** The ingest's address to receive on: loopback (default) or one of the ICE hosts. */
    host: z
      .string()
      .refine((value) => isIP(value) !== 0, 'host must be an IP address')
      .default('127.0.0.1'),
    /** Video codec of every rung: the H.264 ladder (default) or a VP8 rendition made on demand. */
    codec: z.enum(['H264', 'VP8']).default('H264'),
    renditions: z
      .array(renditionSchema)
      .min(1)
      .max(MAX_RENDITIONS_PER_SET)
      .refine((list) => new Set(list.map((r) => r.name)).size === list.length, 'rendition names must be distinct'),
    /** The transcoder sends one Opus track as well. */
    audio: z.boolean().default(false),
    /** The forward (its id) the renditions are made from: their frames are dated by it (rendition-timeline.ts). */
    forward: z.string().min(1).max(64).optional(),
  })
  .strict();

export function registerRenditionRoutes(router: Router, { store, media, config, leases }: { store: StreamStore; media: MediaRouter; config: IngestConfig; leases: ForwardLeases }): void {
  const setsOf = (streamId: string): RenditionSet[] => media.renditionSets(streamId).filter((set): set is RenditionSet => set instanceof RenditionSet);

  router.on('POST', '/api/streams/:id/renditions', async ({ req, res, params, log }) => {
    requireAdmin(req, config.adminToken);
    const record = await store.requireByIdOrName(params.id!);
    const body = await readJson(req, createRenditionsSchema);
    // The set binds a port on this address: only the ingest's own (loopback or an ICE host).
    if (!isAllowedForwardHost(body.host, config)) {
      throw new OnairError('bad_request', `Renditions cannot be received on ${body.host}: only loopback or the configured ICE hosts (${config.ice.hosts.join(', ')}).`);
    }
    if (!leases.isHeld(body.instance)) {
      throw new OnairError('forward_lease_unknown', `The transcoder instance "${body.instance}" holds no event stream (GET /api/events?owner=…&instance=…): open it first; the renditions end when it closes.`);
    }
    if (!media.isLive(record.id)) throw new OnairError('stream_offline', `The stream "${record.name}" is not live.`);
    // Refused before a port is bound; attachRenditions checks again after.
    const existing = media.renditionSets(record.id).find((set) => set.instance !== body.instance);
    if (existing) {
      throw new OnairError('renditions_in_use', `Another transcoder instance (${existing.instance}) sends the renditions of "${record.name}".`);
    }
    const set = await RenditionSet.open({
      codec: body.codec,
      host: body.host,
      portRange: config.ice.portRange,
      renditions: body.renditions.map((r) => ({ name: r.name, width: r.width, height: r.height, targetKbps: r.videoKbps, frameRate: r.frameRate })),
      audio: body.audio,
      instance: body.instance,
      log: log.child({ stream: record.id, component: 'renditions' }),
    });
    // The renditions' frames are dated by the forward they are made from (rendition-timeline.ts):
    // the one named, of this instance; unnamed (an older transcoder), its newest (it opens its
    // input, then announces). One that is gone leaves the reports dated by departure.
    const ofInstance = media.forwards(record.id).filter((session) => leases.instanceOf(session) === body.instance);
    const forward = (body.forward === undefined ? ofInstance.at(-1) : ofInstance.find((session) => session.id === body.forward))?.peer;
    if (forward instanceof RtpForwardPeer) set.useSourceTimeline(forward.video);
    try {
      leases.attach(body.instance, set);
      media.attachRenditions(record.id, set);
    } catch (error) {
      set.close('refused');
      throw error;
    }
    const { port } = set;
    log.info({ stream: record.name, set: set.id, codec: set.codec, host: body.host, port, renditions: body.renditions.map((r) => r.name), audio: body.audio, instance: body.instance }, 'renditions announced');
    sendJson(
      res,
      201,
      {
        id: set.id,
        host: body.host,
        port,
        video: set.video,
        renditions: set.feeds.map((feed) => ({ name: feed.name, ssrc: feed.ssrc })),
        audio: set.audio ? { ...RENDITION_AUDIO, ssrc: set.audio.ssrc } : null,
        sdp: renditionSdp({ streamName: record.name, host: body.host, port, video: set.video, renditions: set.feeds.map((f) => ({ name: f.name, ssrc: f.ssrc, width: f.width, height: f.height, targetKbps: f.targetKbps, frameRate: f.frameRate })), audio: set.audio && { ssrc: set.audio.ssrc } }),
      },
      { Location: `/api/streams/${record.id}/renditions/${set.id}` },
    );
  });

  router.on('GET', '/api/streams/:id/renditions', async ({ req, res, params }) => {
    requireAdmin(req, config.adminToken);
    const record = await store.requireByIdOrName(params.id!);
    const sets = setsOf(record.id).map((set) => ({ ...set.getStats(), owner: leases.ownerOf(set.instance) ?? null }));
    sendJson(res, 200, { sets });
  });

  router.on('DELETE', '/api/streams/:id/renditions/:setId', async ({ req, res, params, log }) => {
    requireAdmin(req, config.adminToken);
    const record = await store.requireByIdOrName(params.id!);
    const set = setsOf(record.id).find((held) => held.id === params.setId);
    if (!set) throw new OnairError('not_found', `No rendition set ${params.setId} on stream "${record.name}".`);
    set.close('deleted');
    log.info({ stream: record.name, set: set.id }, 'renditions ended');
    res.writeHead(204).end();
  });
}
