/**
 * The WHEP session's video layer selection (draft-ietf-wish-whep-00, "Video Layer Selection
 * extension"; the 201 announces it as `Link: <…/layer>; rel="urn:ietf:params:whep:ext:core:layer"`):
 *
 *   GET  /whep/sessions/<id>/layer → 200 {pinned, active, pending, audioHoldMs, layers: [{encodingId, kind, codec, width, height, frameRate, bitrateKbps, targetKbps, delayMs}]}
 *   POST /whep/sessions/<id>/layer {"encodingId": "480p"} → 200 (same body): switches at the rendition's next keyframe
 *        {} or {"encodingId": "auto"} → the server chooses again, from the session's own RTCP feedback (router/rendition-selector.ts)
 *
 * The draft lists layers in a server-sent `layers` event; onair answers them to GET on the same
 * URL (no event stream yet). No credential beyond the session URL, as for PATCH and DELETE.
 */
import { whepLayerRequestSchema } from '@onair/shared/api';
import { readJson, sendJson, type Router } from '@onair/service/http';
import type { MediaRouter } from '../router/media-router';

export const LAYER_EXTENSION_REL = 'urn:ietf:params:whep:ext:core:layer';

/** The Link header value announcing a session's layer resource (in the WHEP 201). */
export function layerLink(sessionId: string): string {
  return `</whep/sessions/${sessionId}/layer>; rel="${LAYER_EXTENSION_REL}"`;
}

export function registerLayerRoutes(router: Router, media: MediaRouter): void {
  router.on('GET', '/whep/sessions/:id/layer', ({ res, params }) => {
    sendJson(res, 200, media.layers(params.id ?? ''), { 'Cache-Control': 'no-store' });
  });

  router.on('POST', '/whep/sessions/:id/layer', async ({ req, res, params, log }) => {
    const body = await readJson(req, whepLayerRequestSchema, 4 * 1024);
    const name = body.encodingId === undefined || body.encodingId === 'auto' ? undefined : body.encodingId;
    const layers = media.pinRendition(params.id ?? '', name);
    log.debug({ session: params.id, encodingId: name ?? 'auto' }, 'WHEP layer selected');
    sendJson(res, 200, layers, { 'Cache-Control': 'no-store' });
  });
}
