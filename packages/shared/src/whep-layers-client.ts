/**
 * The client side of a WHEP session's video layer selection (draft-ietf-wish-whep-00, "Video
 * Layer Selection extension"): the 201 announces the resource as
 * `Link: <…/layer>; rel="urn:ietf:params:whep:ext:core:layer"`; GET lists the renditions and says
 * which one the session receives, POST `{"encodingId": "480p"}` pins one and `{"encodingId":
 * "auto"}` gives the choice back to the server. Browser and Node (fetch only).
 */
import { whepLayersSchema, type WhepLayers } from './api';
import { readProblem, parseLinkHeader } from './webrtc-client';

export const WHEP_LAYER_REL = 'urn:ietf:params:whep:ext:core:layer';

/** The layer resource's absolute URL from a WHEP answer's `Link` header (relative to the session resource), or null. */
export function layerUrlFromLinkHeader(header: string | null | undefined, resourceUrl: string): string | null {
  for (const link of parseLinkHeader(header)) {
    const rels = (link.params.rel ?? '').split(/\s+/);
    if (!rels.includes(WHEP_LAYER_REL)) continue;
    try {
      return new URL(link.uri, resourceUrl).toString();
    } catch {
      return null;
    }
  }
  return null;
}

async function layersFrom(response: Response): Promise<WhepLayers> {
  if (!response.ok) throw await readProblem(response);
  const parsed = whepLayersSchema.safeParse(await response.json());
  if (!parsed.success) throw new Error('The layer resource answered something that is not a layer list.');
  return parsed.data;
}

/** GET: the renditions the session may receive, the one it receives and its pin. Throws an OnairError on a problem answer. */
export async function getWhepLayers(url: string, options: { fetch?: typeof fetch; signal?: AbortSignal } = {}): Promise<WhepLayers> {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  return layersFrom(await fetchImpl(url, { cache: 'no-store', signal: options.signal, headers: { accept: 'application/json' } }));
}

/** POST: pins `encodingId`, or gives the choice back to the server (`null`). The session switches at the rendition's next keyframe. */
export async function selectWhepLayer(url: string, encodingId: string | null, options: { fetch?: typeof fetch; signal?: AbortSignal } = {}): Promise<WhepLayers> {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const body = JSON.stringify({ encodingId: encodingId ?? 'auto' });
  return layersFrom(await fetchImpl(url, { method: 'POST', cache: 'no-store', signal: options.signal, headers: { 'content-type': 'application/json', accept: 'application/json' }, body }));
}
