/**
 * WHEP playback: `POST /whep/<stream name>` (no auth) with an SDP offer → 201 with the answer;
 * the viewer receives the publisher's RTP as is (no re-encoding). PATCH/DELETE on the resource.
 * `?layer=<rendition>` starts the session pinned to that rendition (as a POST to its layer
 * resource would, renditions/layer-routes.ts; 404 rendition_not_found without it); for another
 * node's edge pull the pin admits nothing else (the session ends with the rendition).
 * In a cluster, a stream live on another node is pulled here first (or the viewer is redirected
 * there, 307), and another node's edge pull (edge credentials) is served like a viewer that is
 * not counted as one and not held to the per-client caps.
 */
import { OnairError } from '@onair/shared/errors';
import { selectViewerCodecs } from '@onair/shared/sdp';
import type { Router } from '@onair/service/http';
import type { IngestConfig } from '../config';
import { layerLink } from '../renditions/layer-routes';
import type { MediaRouter } from '../router/media-router';
import type { SessionAdmission } from '../sessions/session-admission';
import type { StreamStore } from '../streams/stream-store';
import type { ClusterGateway } from '../cluster/cluster-node';
import { answerFor, candidateGate, engineOffer, negotiatedCodecs, readOffer, registerSessionResource, sendAnswer } from '../sessions/session-resource';

export interface WhepRouteDeps {
  store: StreamStore;
  media: MediaRouter;
  config: IngestConfig;
  admission: SessionAdmission;
  /** Set in a cluster. */
  cluster?: ClusterGateway;
}

/** Longest a `?layer=` POST on an edge waits for the stream's renditions to be pulled, ms. */
const RENDITIONS_SETTLE_MS = 3_000;

export function registerWhepRoutes(router: Router, { store, media, config, admission, cluster }: WhepRouteDeps): void {
  /**
   * Pins a new session to `layer`. A stream this node has only just begun to pull from its origin
   * has no renditions yet: the pin waits for their first pulls (≤ RENDITIONS_SETTLE_MS) before a 404.
   */
  async function pinAtStart(sessionId: string, streamId: string, layer: string, only: boolean): Promise<void> {
    try {
      media.pinRendition(sessionId, layer, only);
    } catch (error) {
      if (!cluster || (error as OnairError).code !== 'rendition_not_found') throw error;
      await cluster.renditionsSettled(streamId, RENDITIONS_SETTLE_MS);
      media.pinRendition(sessionId, layer, only);
    }
  }

  router.on('POST', '/whep/:stream', async ({ req, res, url, params, log }) => {
    const started = performance.now();
    const client = admission.clientOf(req);
    const edge = cluster?.edgeRequest(req);
    // Counted first: key guesses and offers for streams that do not exist cost the client too.
    if (!edge) admission.admitPost(client, 'whep', res, log);
    const name = params.stream ?? '';
    const layer = url.searchParams.get('layer') ?? undefined;
    if (layer !== undefined && (layer.length === 0 || layer.length > 64)) throw new OnairError('bad_request', 'The layer query parameter names a rendition (1 to 64 characters).');
    const record = await store.findByName(name);
    if (!record) throw new OnairError('stream_not_found', `No stream named "${name}".`);
    // An edge that takes this node for the origin is told at once when it is not (any more).
    if (cluster && edge?.leaseToken !== undefined) await cluster.confirmOrigin(record.id, edge.leaseToken);
    // Redirected before the offer is read: the origin reads it (307 keeps method and body).
    const redirect = cluster && !media.isLive(record.id) ? await cluster.redirectFor(record, edge) : undefined;
    if (redirect) {
      log.info({ client, stream: record.id, name, location: redirect }, "WHEP viewer redirected to the stream's origin");
      // The query (`?layer=`) goes along: the origin reads it.
      res.writeHead(307, { Location: `${redirect}${url.search}`, 'Cache-Control': 'no-store', 'Content-Length': 0 });
      res.end();
      return;
    }
    const offer = await readOffer(req, config);
    // Pulled after the offer is read: a bad offer starts no pull.
    if (cluster && !media.isLive(record.id)) await cluster.reach(record, edge);
    const streamCodecs = media.streamCodecs(record.id);
    if (!streamCodecs) throw new OnairError('stream_offline', `The stream "${name}" is not live.`);
    // Viewers always get opus when they offer it, so a later publisher that adds audio is heard.
    const wanted = { ...streamCodecs, audio: streamCodecs.audio ?? { name: 'opus', clockRate: 48000, channels: 2 } };
    // The source's video codec first (forwarded as is), then renditions' and on-demand ones (a
    // VP8-only browser watching an H.264 stream gets a VP8 rendition: router/on-demand-codecs.ts).
    const videoOptions = media.webrtcVideoCodecs(record.id);
    const chosen = selectViewerCodecs(offer.sdp, wanted);
    for (const video of videoOptions.slice(1)) {
      if (chosen.video) break;
      chosen.video = selectViewerCodecs(offer.sdp, { ...wanted, video }).video;
    }
    if (!chosen.video && !(chosen.audio && streamCodecs.audio)) {
      const carries = [streamCodecs.video && `${streamCodecs.video.name}${streamCodecs.video.fmtp ? ` (${streamCodecs.video.fmtp})` : ''}`, streamCodecs.audio?.name].filter(Boolean).join(' + ');
      const renditions = videoOptions.length > 1 ? `, or video as ${videoOptions.slice(1).map((codec) => codec.name).join(' / ')} renditions` : ' (forwarded without re-encoding; no transcoder makes renditions of it now)';
      throw new OnairError('no_supported_codec', `The offer cannot receive this stream, which carries ${carries}${renditions}.`, { extensions: { accepted: [...videoOptions.map((codec) => codec.name), streamCodecs.audio?.name].filter(Boolean) } });
    }
    const codecs = negotiatedCodecs([chosen.video, chosen.audio]);
    const gate = candidateGate(config);
    const restricted = engineOffer(offer.text, [chosen.video, chosen.audio], gate);
    log.debug({ stream: record.id, offer: offer.text }, 'WHEP offer');
    const peerOptions = { offer: restricted, codecs, ice: { hosts: config.ice.hosts, portRange: config.ice.viewerPorts } };
    const session = edge ? await media.view(record.id, peerOptions, { edgeNode: edge.path.at(-1) }) : await admission.hold(client, 'viewer', res, log, () => media.view(record.id, peerOptions));
    session.remoteCandidates = gate;
    if (layer !== undefined && layer !== 'auto') {
      try {
        await pinAtStart(session.id, record.id, layer, edge !== undefined);
      } catch (error) {
        session.close(error instanceof OnairError ? error.code : 'rejected');
        throw error;
      }
    }
    log.info({ client, stream: record.id, name, session: session.id, edge: edge?.path.join(','), video: codecs.video?.name, audio: codecs.audio?.name, candidates: gate.accepted, candidatesDropped: gate.dropped, answerMs: Math.round(performance.now() - started) }, 'WHEP session created');
    sendAnswer(res, session, config, await answerFor(session, config), [layerLink(session.id)]);
  });
  registerSessionResource(router, 'whep', media, config);
}
