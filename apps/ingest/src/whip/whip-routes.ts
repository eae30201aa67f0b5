/**
 * WHIP (RFC 9725) ingest: `POST /whip` with `Authorization: Bearer <stream key>` and an SDP
 * offer → 201 with the answer and the session resource; PATCH/DELETE on that resource.
 */
import { OnairError } from '@onair/shared/errors';
import { ACCEPTED_CODECS, SdpError, selectPublisherCodecs } from '@onair/shared/sdp';
import { bearerToken, type Router } from '@onair/service/http';
import type { IngestConfig } from '../config';
import type { MediaRouter } from '../router/media-router';
import type { SessionAdmission } from '../sessions/session-admission';
import type { StreamStore } from '../streams/stream-store';
import { answerFor, candidateGate, engineOffer, negotiatedCodecs, readOffer, registerSessionResource, sendAnswer } from '../sessions/session-resource';

export interface WhipRouteDeps {
  store: StreamStore;
  media: MediaRouter;
  config: IngestConfig;
  admission: SessionAdmission;
}

export function registerWhipRoutes(router: Router, { store, media, config, admission }: WhipRouteDeps): void {
  router.on('POST', '/whip', async ({ req, res, log }) => {
    const started = performance.now();
    const client = admission.clientOf(req);
    // Counted first: key guesses and offers for streams that do not exist cost the client too.
    admission.admitPost(client, 'whip', res, log);
    // Credentials before the body: an unauthenticated client cannot make the server parse SDP.
    const key = bearerToken(req);
    const record = await store.findByKey(key);
    if (!record) throw new OnairError('invalid_stream_key', 'The stream key is not valid (it may have been rotated).');
    const offer = await readOffer(req, config);
    const chosen = choosePublisherCodecs(offer.sdp);
    if (!chosen.video && !chosen.audio) {
      throw new OnairError('no_supported_codec', `The offer has no codec onair accepts. Accepted: ${ACCEPTED_CODECS.join(', ')}.`, { extensions: { accepted: ACCEPTED_CODECS } });
    }
    const codecs = negotiatedCodecs([chosen.video, chosen.audio]);
    const gate = candidateGate(config);
    const restricted = engineOffer(offer.text, [chosen.video, chosen.audio], gate);
    log.debug({ stream: record.id, offer: offer.text }, 'WHIP offer');
    const simulcast = chosen.video?.simulcast;
    const session = await admission.hold(client, 'publisher', res, log, () => media.publish(record.id, { offer: restricted, codecs, ice: { hosts: config.ice.hosts, portRange: config.ice.publisherPorts }, ...(simulcast ? { simulcast } : {}) }));
    session.remoteCandidates = gate;
    log.info({ client, stream: record.id, name: record.name, session: session.id, video: codecs.video?.name, audio: codecs.audio?.name, simulcast, candidates: gate.accepted, candidatesDropped: gate.dropped, answerMs: Math.round(performance.now() - started) }, 'WHIP session created');
    sendAnswer(res, session, config, await answerFor(session, config));
  });
  registerSessionResource(router, 'whip', media, config);
}

/** The codecs and simulcast layers taken from a publisher's offer; an offer onair cannot take is a 400. */
function choosePublisherCodecs(sdp: Parameters<typeof selectPublisherCodecs>[0]): ReturnType<typeof selectPublisherCodecs> {
  try {
    return selectPublisherCodecs(sdp);
  } catch (error) {
    if (error instanceof SdpError) throw new OnairError('invalid_sdp', `The SDP offer cannot be received: ${error.message}.`, { cause: error });
    throw error;
  }
}
