/**
 * A WHEP exchange begun before the page's JavaScript bundle has loaded: a page's server-rendered
 * HTML carries `earlyWhepScript(url, videoSelector)` as an inline script, which makes the peer
 * connection, POSTs the offer, applies the answer and puts the stream on the page's (server-
 * rendered) <video> while the bundle is still downloading; the player, once it runs, adopts that
 * session (`takeEarlyWhep` + `adoptEarlyWhep`) instead of starting its own. A viewer's first
 * frame then waits neither for the bundle nor for hydration and the player's effects.
 *
 * Browser-safe; `startEarlyWhep` is serialized into the page, so it refers to nothing outside
 * itself (no imports, no helpers).
 */
import { OnairError } from './errors';
import { CandidateTrickler, iceServersFromLinkHeader, problemFromText, resolveResourceUrl, TRICKLE_ICE_TYPE, WhepSession } from './webrtc-client';

/** The window property the inline script leaves its exchange under. */
export const EARLY_WHEP_KEY = '__onairEarlyWhep';

/** The POST's response as the inline script read it (its body is consumed there). */
export interface EarlyAnswer {
  status: number;
  body: string;
  contentType: string | null;
  location: string | null;
  etag: string | null;
  link: string | null;
  acceptPatch: string | null;
  /** performance.now() when the answer had been read. */
  receivedAt: number;
}

/** What the inline script leaves behind for the player. */
export interface EarlyWhep {
  /** The URL the offer was POSTed to, as the page wrote it. */
  url: string;
  pc: RTCPeerConnection;
  /** The remote tracks, as they arrive; on the page's <video> once it exists. */
  stream: MediaStream;
  /** Local candidates gathered after the offer (they go out as PATCHes once adopted). */
  candidates: string[];
  /** performance.now() when the script began. */
  started: number;
  /** performance.now() when the offer was POSTed. */
  offerSentAt: number | undefined;
  /** The POST's response, with the answer applied when it was a 201 (rejects when the request or the answer failed). */
  answer: Promise<EarlyAnswer>;
}

/**
 * The inline script's body. Recvonly video + audio, offered at once without waiting for ICE
 * candidates (the ingest learns the browser's address from its checks, RFC 8445 §7.3.1.3; the
 * candidates are trickled once the player adopts the session). The stream goes on the first
 * element matching `videoSelector` that has no source yet (muted autoplay: the element's own
 * attributes start it). Any failure leaves nothing behind, and the player starts its own
 * exchange as it would without the script.
 */
export function startEarlyWhep(url: string, key: string, videoSelector: string): void {
  try {
    if (typeof RTCPeerConnection !== 'function' || typeof MediaStream !== 'function' || typeof fetch !== 'function') return;
    // A browser that receives neither video codec the ingest sends over WebRTC (H.264, VP8) is
    // left to the player: its codec check sends it to HLS (`codec_unsupported`).
    const receiver = typeof RTCRtpReceiver === 'function' && RTCRtpReceiver.getCapabilities ? RTCRtpReceiver.getCapabilities('video') : null;
    if (receiver && !receiver.codecs.some((codec) => /^video\/(h264|vp8)$/i.test(codec.mimeType))) return;
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    const stream = new MediaStream();
    const early: Partial<EarlyWhep> & { candidates: string[] } = { url, pc, stream, candidates: [], started: performance.now(), offerSentAt: undefined };
    const show = () => {
      const video = document.querySelector(videoSelector) as HTMLVideoElement | null;
      if (video && !video.srcObject && stream.getTracks().length > 0) video.srcObject = stream;
    };
    pc.addEventListener('track', (event) => {
      if (stream.getTracks().indexOf(event.track) < 0) stream.addTrack(event.track);
      show();
    });
    document.addEventListener('DOMContentLoaded', show);
    pc.addEventListener('icecandidate', (event) => {
      if (event.candidate && event.candidate.candidate) early.candidates.push(event.candidate.candidate);
    });
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    early.answer = pc
      .createOffer()
      .then((offer) => pc.setLocalDescription(offer))
      .then(() => {
        early.offerSentAt = performance.now();
        const sdp = pc.localDescription ? pc.localDescription.sdp : '';
        return fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp', accept: 'application/sdp, application/problem+json' }, body: sdp, cache: 'no-store' });
      })
      .then((response) =>
        response.text().then((body) => {
          const h = response.headers;
          const answer = { status: response.status, body, contentType: h.get('content-type'), location: h.get('location'), etag: h.get('etag'), link: h.get('link'), acceptPatch: h.get('accept-patch'), receivedAt: performance.now() };
          if (answer.status !== 201 && answer.status !== 200) return answer;
          return pc.setRemoteDescription({ type: 'answer', sdp: body }).then(() => answer);
        }),
      );
    early.answer.catch(() => undefined);
    (window as unknown as Record<string, unknown>)[key] = early;
  } catch {
    // no early exchange: the player makes its own
  }
}

/** The inline script for a page: starts the exchange with `url` (same origin), plays on `videoSelector`. */
export function earlyWhepScript(url: string, videoSelector: string): string {
  // JSON, with `<` escaped: nothing in the arguments can end the <script> element.
  const arg = (value: string) => JSON.stringify(value).replace(/</g, '\\u003c');
  return `(${startEarlyWhep.toString()})(${arg(url)},${arg(EARLY_WHEP_KEY)},${arg(videoSelector)});`;
}

/** The exchange the page's inline script began for `url`, once: it is removed from the page. */
export function takeEarlyWhep(url: string): EarlyWhep | undefined {
  if (typeof window === 'undefined') return undefined;
  const holder = window as unknown as Record<string, EarlyWhep | undefined>;
  const early = holder[EARLY_WHEP_KEY];
  if (!early) return undefined;
  delete holder[EARLY_WHEP_KEY];
  if (early.url !== url) {
    discardEarlyWhep(early);
    return undefined;
  }
  return early;
}

/** Ends an exchange nobody will use: closes the connection and DELETEs the session if one was made. */
export function discardEarlyWhep(early: EarlyWhep): void {
  early.pc.close();
  void early.answer
    .then((answer) => {
      if (answer.status === 201 && answer.location) return fetch(resolveResourceUrl(answer.location, early.url, globalThis.location?.href), { method: 'DELETE', keepalive: true });
    })
    .catch(() => undefined);
}

/**
 * Turns the inline script's exchange into a session, as `playWhep` would have made it: waits for
 * the answer (rejecting with an OnairError as playWhep does, or when `signal` aborts) and trickles
 * the candidates gathered meanwhile. `session.stream` is the stream the page may already play.
 */
export async function adoptEarlyWhep(early: EarlyWhep, options: { signal?: AbortSignal; fetch?: typeof fetch } = {}): Promise<WhepSession> {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const { pc, stream } = early;
  let session: WhepSession | undefined;
  pc.addEventListener('track', (event) => session?.addTrack(event.track));
  const trickle = new CandidateTrickler(pc);
  trickle.markSent(early.candidates);
  try {
    const answer = await abortable(early.answer, options.signal, early.url);
    if (answer.status !== 201 && answer.status !== 200) throw problemFromText(answer.status, answer.contentType, answer.body);
    if (!answer.location) throw new OnairError('bad_request', 'The server answered without a Location header (RFC 9725 §4.2).');
    const resourceUrl = resolveResourceUrl(answer.location, early.url, globalThis.location?.href);
    if ((answer.acceptPatch ?? '').toLowerCase().includes(TRICKLE_ICE_TYPE)) trickle.enable({ url: resourceUrl, etag: answer.etag, token: undefined, fetch: fetchImpl });
    else trickle.stop();
    const gatherMs = (early.offerSentAt ?? early.started) - early.started;
    session = new WhepSession({ pc, stream, resourceUrl, etag: answer.etag, iceServers: iceServersFromLinkHeader(answer.link), linkHeader: answer.link, answerMs: answer.receivedAt - early.started, gatherMs, trickle, fetch: fetchImpl, token: undefined });
    return session;
  } catch (error) {
    trickle.stop();
    discardEarlyWhep(early);
    throw error;
  }
}

function abortable(answer: Promise<EarlyAnswer>, signal: AbortSignal | undefined, url: string): Promise<EarlyAnswer> {
  const request = answer.catch((error: unknown) => {
    throw new OnairError('upstream_unreachable', `Could not reach ${url}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  if (!signal) return request;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    request.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
