/**
 * WHEP playback: `POST /whep/<stream name>` (no auth) with an SDP offer → 201 with the answer;
 * the viewer receives the publisher's RTP as is (no re-encoding). PATCH/DELETE on the resource.
 */
import { OnairError } from '@onair/shared/errors';
import { restrictOffer, selectViewerCodecs } from '@onair/shared/sdp';
import type { Router } from '@onair/service/http';
import type { IngestConfig } from '../config';
import { layerLink } from '../renditions/layer-routes';
import type { MediaRouter } from '../router/media-router';
import type { StreamStore } from '../streams/stream-store';
import { negotiatedCodecs, readOffer, registerSessionResource, sendAnswer } from '../sessions/session-resource';

export interface WhepRouteDeps {
  store: StreamStore;
  media: MediaRouter;
  config: IngestConfig;
}

export function registerWhepRoutes(router: Router, { store, media, config }: WhepRouteDeps): void {
  router.on('POST', '/whep/:stream', async ({ req, res, params, log }) => {
    const started = performance.now();
    const name = params.stream ?? '';
    const record = store.findByName(name);
    if (!record) throw new OnairError('stream_not_found', `No stream named "${name}".`);
    const offer = await readOffer(req, config);
    const streamCodecs = media.streamCodecs(record.id);
    if (!streamCodecs) throw new OnairError('stream_offline', `The stream "${name}" is not live.`);
    // Viewers always get opus when they offer it, so a later publisher that adds audio is heard.
    const wanted = { ...streamCodecs, audio: streamCodecs.audio ?? { name: 'opus', clockRate: 48000, channels: 2 } };
    const chosen = selectViewerCodecs(offer.sdp, wanted);
    if (!chosen.video && !(chosen.audio && streamCodecs.audio)) {
      const carries = [streamCodecs.video && `${streamCodecs.video.name}${streamCodecs.video.fmtp ? ` (${streamCodecs.video.fmtp})` : ''}`, streamCodecs.audio?.name].filter(Boolean).join(' + ');
      throw new OnairError('no_supported_codec', `The offer cannot receive this stream, which carries ${carries} (forwarded without re-encoding).`, { extensions: { accepted: [streamCodecs.video?.name, streamCodecs.audio?.name].filter(Boolean) } });
    }
    const codecs = negotiatedCodecs([chosen.video, chosen.audio]);
    const restricted = restrictOffer(offer.text, [chosen.video, chosen.audio].filter((s) => s !== undefined));
    log.debug({ stream: record.id, offer: offer.text }, 'WHEP offer');
    const session = await media.view(record.id, { offer: restricted, codecs, ice: { hosts: config.ice.hosts, portRange: config.ice.portRange } });
    log.info({ stream: record.id, name, session: session.id, video: codecs.video?.name, audio: codecs.audio?.name, answerMs: Math.round(performance.now() - started) }, 'WHEP session created');
    sendAnswer(res, session, config, [layerLink(session.id)]);
  });
  registerSessionResource(router, 'whep', media, config);
}
