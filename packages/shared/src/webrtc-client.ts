/**
 * Browser-safe WHIP (RFC 9725) and WHEP client: one offer/answer exchange over HTTP, a session
 * object that owns the RTCPeerConnection and the HTTP resource; its pure helpers (Link header
 * parsing, problem+json parsing, codec preference ordering) are in webrtc-client-helpers.ts and
 * exported from here too.
 *
 * No `node:` imports: this file is bundled into the web app. A WHIP offer waits for candidates
 * (bounded), which on loopback/LAN costs a few milliseconds and saves a PATCH round trip; a WHEP
 * offer without STUN/TURN goes out at once (see playWhep). Reconnect policy lives with the caller
 * (player, broadcaster), not here.
 */
import { OnairError } from './errors';
import { buildTrickleFragment, iceParamsFromSdp, iceServersFromLinkHeader, orderAudioCodecs, orderVideoCodecs, readProblem, resolveResourceUrl, TRICKLE_ICE_TYPE, type VideoCodecPreference } from './webrtc-client-helpers';
import type { StatsLike } from './webrtc-client-stats';
import { simulcastEncodings } from './simulcast-encodings';

export * from './webrtc-client-helpers';

// ───────────────────────────── sessions ─────────────────────────────

/** Life cycle of a WHIP/WHEP session, derived from the peer connection's `connectionState`. */
export type SessionState = 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

type Listener<T> = (value: T) => void;

export interface SessionEvents {
  state: SessionState;
  track: MediaStreamTrack;
  close: undefined;
}

export interface SessionOptions {
  /** STUN/TURN servers for the peer connection. Default none (host candidates only). */
  iceServers?: RTCIceServer[];
  /**
   * Longest wait for ICE gathering before the offer is sent anyway, in ms. Default 1000 with
   * `iceServers`, 300 without. Candidates gathered later are trickled (PATCH) if the
   * server accepts them.
   */
  gatherTimeoutMs?: number;
  /**
   * Without STUN/TURN servers, send the offer once no new candidate came for this long after the
   * first, in ms. Default 20. Ignored when `iceServers` are given.
   */
  gatherQuietMs?: number;
  /** Aborts the POST (not the session once established). */
  signal?: AbortSignal;
  /** fetch to use (tests, instrumentation). Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Bearer token for the POST, PATCH and DELETE. */
  token?: string;
  /** Preferred video codec. Default `'h264'` (Constrained Baseline, packetization-mode=1). */
  videoCodec?: VideoCodecPreference;
}

/** A WHIP or WHEP session: the peer connection plus the HTTP resource that controls it. */
export class WebrtcSession {
  readonly pc: RTCPeerConnection;
  /** Absolute URL of the session resource (the POST's `Location`), target of PATCH and DELETE. */
  readonly resourceUrl: string;
  readonly etag: string | null;
  /** ICE servers announced by the endpoint in `Link` headers. */
  readonly iceServers: RTCIceServer[];
  /** The answer's `Link` header as received (extensions such as the WHEP layer resource: whep-layers-client.ts). */
  readonly linkHeader: string | null;
  /** Milliseconds from the start of the exchange to the 201 answer. */
  readonly answerMs: number;
  /** Of `answerMs`: offer creation + ICE gathering before the POST, then the HTTP round trip. */
  readonly gatherMs: number;
  private readonly listeners = new Map<keyof SessionEvents, Set<Listener<never>>>();
  private readonly fetchImpl: typeof fetch;
  private readonly token: string | undefined;
  private readonly trickle: CandidateTrickler | undefined;
  private closed = false;
  private _state: SessionState = 'connecting';

  constructor(init: { pc: RTCPeerConnection; resourceUrl: string; etag: string | null; iceServers: RTCIceServer[]; linkHeader?: string | null; answerMs: number; gatherMs: number; fetch: typeof fetch; token: string | undefined; trickle?: CandidateTrickler }) {
    this.pc = init.pc;
    this.linkHeader = init.linkHeader ?? null;
    this.resourceUrl = init.resourceUrl;
    this.etag = init.etag;
    this.iceServers = init.iceServers;
    this.answerMs = init.answerMs;
    this.gatherMs = init.gatherMs;
    this.fetchImpl = init.fetch;
    this.token = init.token;
    this.trickle = init.trickle;
    this.pc.addEventListener('connectionstatechange', this.onConnectionState);
    this.onConnectionState();
  }

  get state(): SessionState {
    return this._state;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof SessionEvents>(event: K, listener: Listener<SessionEvents[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  protected emit<K extends keyof SessionEvents>(event: K, value: SessionEvents[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as Listener<SessionEvents[K]>)(value);
      } catch (error) {
        console.error('onair session listener failed', error);
      }
    }
  }

  private readonly onConnectionState = (): void => {
    if (this.closed) return;
    const s = this.pc.connectionState;
    const next: SessionState = s === 'connected' ? 'connected' : s === 'disconnected' ? 'disconnected' : s === 'failed' ? 'failed' : s === 'closed' ? 'closed' : 'connecting';
    if (next === this._state) return;
    this._state = next;
    this.emit('state', next);
  };

  /** Current `getStats()` of the peer connection as a plain array of stats objects. */
  async getStats(): Promise<StatsLike[]> {
    const report = await this.pc.getStats();
    const out: StatsLike[] = [];
    report.forEach((value: RTCStats) => out.push(value as unknown as StatsLike));
    return out;
  }

  /**
   * Ends the session: closes the peer connection and DELETEs the resource (RFC 9725 §4.3).
   * Safe to call twice; never throws (the server also expires sessions whose ICE fails).
   * `keepalive` lets the DELETE outlive the page when called from `pagehide`.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.trickle?.stop();
    this.pc.removeEventListener('connectionstatechange', this.onConnectionState);
    try {
      this.pc.close();
    } catch {
      // already closed
    }
    if (this._state !== 'closed') {
      this._state = 'closed';
      this.emit('state', 'closed');
    }
    this.emit('close', undefined);
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    try {
      await this.fetchImpl(this.resourceUrl, { method: 'DELETE', headers, keepalive: true });
    } catch {
      // unreachable server: it expires the session on its own
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** A WHEP session: `stream` receives the remote tracks as they arrive. */
export class WhepSession extends WebrtcSession {
  readonly stream: MediaStream;

  constructor(init: ConstructorParameters<typeof WebrtcSession>[0] & { stream: MediaStream }) {
    super(init);
    this.stream = init.stream;
  }

  /** @internal called by playWhep for tracks that arrive after the session object exists. */
  addTrack(track: MediaStreamTrack): void {
    if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
    this.emit('track', track);
  }
}

/** A WHIP session: publishing the given stream's tracks. */
export class WhipSession extends WebrtcSession {
  readonly senders: RTCRtpSender[] = [];
}

/**
 * Waits until ICE gathering completes, or `timeoutMs` passes, or — when `quietMs` is given —
 * `quietMs` pass without a new candidate after the first one. Chromium reports host candidates
 * within ~15 ms but "complete" only ~130 ms later; with no STUN/TURN server there is nothing
 * more to wait for, so a short quiet period saves ~100 ms of time to first frame.
 */
export function waitForIceGathering(pc: RTCPeerConnection, timeoutMs: number, quietMs?: number): Promise<void> {
  if (pc.iceGatheringState === 'complete' || timeoutMs <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    let quiet: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      clearTimeout(timer);
      clearTimeout(quiet);
      pc.removeEventListener('icegatheringstatechange', onChange);
      pc.removeEventListener('icecandidate', onCandidate);
      resolve();
    };
    const onChange = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const onCandidate = (event: RTCPeerConnectionIceEvent) => {
      if (!event.candidate) return done();
      if (quietMs !== undefined) {
        clearTimeout(quiet);
        quiet = setTimeout(done, quietMs);
      }
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', onChange);
    pc.addEventListener('icecandidate', onCandidate);
  });
}

/**
 * Sends the candidates gathered after the offer went out as PATCHes of the session resource
 * (RFC 9725 §4.4.1), batched, in order, ending with `a=end-of-candidates`. Only once the server
 * said it accepts them (`Accept-Patch: application/trickle-ice-sdpfrag`); any failure stops it
 * (the server's own candidates usually suffice: the browser's checks reach them).
 */
export class CandidateTrickler {
  private readonly pending: string[] = [];
  private collecting = false;
  private ended = false;
  private endSent = false;
  private stopped = false;
  private inflight = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private target: { url: string; etag: string | null; token: string | undefined; fetch: typeof fetch } | undefined;

  constructor(private readonly pc: RTCPeerConnection) {
    pc.addEventListener('icecandidate', this.onCandidate);
  }

  /**
   * Candidates from now on are not in the offer being sent; `already`: ones gathered after it
   * was sent but before this trickler existed (an offer made by the page's inline script).
   */
  markSent(already: readonly string[] = []): void {
    this.collecting = true;
    this.pending.push(...already);
  }

  enable(target: { url: string; etag: string | null; token: string | undefined; fetch: typeof fetch }): void {
    this.target = target;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.pc.removeEventListener('icecandidate', this.onCandidate);
  }

  private readonly onCandidate = (event: RTCPeerConnectionIceEvent): void => {
    if (!this.collecting || this.stopped) return;
    if (!event.candidate || !event.candidate.candidate) this.ended = true;
    else this.pending.push(event.candidate.candidate);
    this.schedule();
  };

  private schedule(): void {
    if (!this.target || this.stopped || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, 10);
  }

  private async flush(): Promise<void> {
    const target = this.target;
    if (!target || this.stopped || this.inflight) return;
    const end = this.ended && !this.endSent;
    if (this.pending.length === 0 && !end) return;
    const params = iceParamsFromSdp(this.pc.localDescription?.sdp ?? '');
    if (!params) return this.stop();
    const candidates = this.pending.splice(0);
    const headers: Record<string, string> = { 'content-type': TRICKLE_ICE_TYPE };
    if (target.etag) headers['if-match'] = target.etag;
    if (target.token) headers.authorization = `Bearer ${target.token}`;
    this.inflight = true;
    try {
      const res = await target.fetch(target.url, { method: 'PATCH', headers, body: buildTrickleFragment(params, candidates, end) });
      if (!res.ok) return this.stop();
      if (end) this.endSent = true;
    } catch {
      return this.stop();
    } finally {
      this.inflight = false;
    }
    if (this.pending.length > 0 || (this.ended && !this.endSent)) this.schedule();
  }
}

interface ExchangeResult {
  resourceUrl: string;
  etag: string | null;
  iceServers: RTCIceServer[];
  linkHeader: string | null;
  answer: string;
  answerMs: number;
  gatherMs: number;
  trickle: CandidateTrickler;
}

/** POSTs the local offer and returns the answer and resource, or throws an OnairError. */
async function exchange(url: string, pc: RTCPeerConnection, options: SessionOptions, started: number): Promise<ExchangeResult> {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const trickle = new CandidateTrickler(pc);
  try {
    return await exchangeOnce(url, pc, options, started, fetchImpl, trickle);
  } catch (error) {
    trickle.stop();
    throw error;
  }
}

async function exchangeOnce(url: string, pc: RTCPeerConnection, options: SessionOptions, started: number, fetchImpl: typeof fetch, trickle: CandidateTrickler): Promise<ExchangeResult> {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  // Host candidates come within milliseconds; later ones (TCP, srflx, relay) are trickled when
  // the server accepts PATCH. With STUN/TURN configured, give srflx/relay a chance to be in the
  // offer itself, for servers that do not take trickled candidates.
  const hostOnly = !options.iceServers || options.iceServers.length === 0;
  await waitForIceGathering(pc, options.gatherTimeoutMs ?? (hostOnly ? 300 : 1000), hostOnly ? (options.gatherQuietMs ?? 20) : undefined);
  const gatherMs = performance.now() - started;
  const sdp = pc.localDescription?.sdp ?? offer.sdp ?? '';
  trickle.markSent();
  const headers: Record<string, string> = { 'content-type': 'application/sdp', accept: 'application/sdp, application/problem+json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await fetchImpl(url, { method: 'POST', headers, body: sdp, signal: options.signal, cache: 'no-store' });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new OnairError('upstream_unreachable', `Could not reach ${url}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return readAnswer(response, url, { token: options.token, started, gatherMs, fetch: fetchImpl, trickle });
}

/**
 * Reads the POST's answer (201 + SDP + Location, RFC 9725 §4.2) or throws its problem as an
 * OnairError; turns trickling on when the server accepts PATCHed candidates.
 */
async function readAnswer(response: Response, url: string, o: { token: string | undefined; started: number; gatherMs: number; fetch: typeof fetch; trickle: CandidateTrickler }): Promise<ExchangeResult> {
  if (response.status !== 201 && response.status !== 200) throw await readProblem(response);
  const answer = await response.text();
  const location = response.headers.get('location');
  if (!location) throw new OnairError('bad_request', 'The server answered without a Location header (RFC 9725 §4.2).');
  const base = typeof globalThis.location !== 'undefined' ? globalThis.location.href : undefined;
  const resourceUrl = resolveResourceUrl(location, url, base);
  const etag = response.headers.get('etag');
  if ((response.headers.get('accept-patch') ?? '').toLowerCase().includes(TRICKLE_ICE_TYPE)) o.trickle.enable({ url: resourceUrl, etag, token: o.token, fetch: o.fetch });
  else o.trickle.stop();
  return {
    resourceUrl,
    etag,
    iceServers: iceServersFromLinkHeader(response.headers.get('link')),
    linkHeader: response.headers.get('link'),
    answer,
    answerMs: performance.now() - o.started,
    gatherMs: o.gatherMs,
    trickle: o.trickle,
  };
}

function applyCodecPreferences(transceiver: RTCRtpTransceiver, kind: 'video' | 'audio', prefer: VideoCodecPreference, direction: 'send' | 'recv'): void {
  if (typeof transceiver.setCodecPreferences !== 'function') return;
  const caps = direction === 'send' ? RTCRtpSender.getCapabilities?.(kind) : RTCRtpReceiver.getCapabilities?.(kind);
  if (!caps) return;
  try {
    transceiver.setCodecPreferences(kind === 'video' ? orderVideoCodecs(caps.codecs, prefer) : orderAudioCodecs(caps.codecs));
  } catch {
    // Some browsers reject send capabilities on a sendonly transceiver; keep their default order.
  }
}

async function abortable<T>(pc: RTCPeerConnection, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    pc.close();
    throw error;
  }
}

export interface PlayOptions extends SessionOptions {}

/**
 * Starts a WHEP session: recvonly video + audio, offer POSTed to `url` (RFC 9725 §4.2 shape,
 * as WHEP uses it). Resolves once the answer is applied; media arrives on `session.stream`.
 * Rejects with an OnairError, e.g. code `stream_offline` / `stream_not_found` (404).
 */
export async function playWhep(url: string, options: PlayOptions = {}): Promise<WhepSession> {
  const started = performance.now();
  const pc = new RTCPeerConnection({ iceServers: options.iceServers ?? [], bundlePolicy: 'max-bundle' });
  const stream = new MediaStream();
  let session: WhepSession | undefined;
  const early: MediaStreamTrack[] = [];
  pc.addEventListener('track', (event) => {
    if (session) session.addTrack(event.track);
    else early.push(event.track);
  });
  return abortable(pc, async () => {
    const video = pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    applyCodecPreferences(video, 'video', options.videoCodec ?? 'h264', 'recv');
    // A viewer's offer goes out without waiting for its candidates when there is no STUN/TURN
    // server: the ingest learns the browser's address from the browser's own connectivity checks
    // (a peer-reflexive candidate, RFC 8445 §7.3.1.3), the candidates follow as PATCHes (RFC 9725
    // §4.4.1), and the wait — 15 ms to over 200 ms in a page that is busy loading — is saved.
    const hostOnly = !options.iceServers || options.iceServers.length === 0;
    const result = await exchange(url, pc, { ...options, gatherTimeoutMs: options.gatherTimeoutMs ?? (hostOnly ? 0 : undefined) }, started);
    await pc.setRemoteDescription({ type: 'answer', sdp: result.answer });
    session = new WhepSession({ pc, stream, resourceUrl: result.resourceUrl, etag: result.etag, iceServers: result.iceServers, linkHeader: result.linkHeader, answerMs: result.answerMs, gatherMs: result.gatherMs, trickle: result.trickle, fetch: options.fetch ?? globalThis.fetch.bind(globalThis), token: options.token });
    for (const track of early) session.addTrack(track);
    return session;
  });
}

export interface PublishOptions extends SessionOptions {
  /** Upper bound for the video encoder, in bits per second. Default 2 500 000. */
  maxVideoBitrate?: number;
  /** What the encoder gives up first under constraint. Default `'maintain-framerate'` for camera-like sources. */
  degradationPreference?: RTCDegradationPreference;
  /** Sends the video as three simulcast layers (simulcast-encodings.ts) within `maxVideoBitrate`. */
  simulcast?: boolean;
}

/**
 * Publishes `stream` over WHIP to `url` with `Authorization: Bearer <token>` (RFC 9725 §4.2).
 * Sends one video and one audio track at most (the first of each kind). H.264 is preferred,
 * VP8 allowed, Opus for audio. Rejects with an OnairError, e.g. `invalid_stream_key` (403).
 */
export async function publishWhip(url: string, token: string, stream: MediaStream, options: PublishOptions = {}): Promise<WhipSession> {
  const started = performance.now();
  const pc = new RTCPeerConnection({ iceServers: options.iceServers ?? [], bundlePolicy: 'max-bundle' });
  return abortable(pc, async () => {
    const senders: RTCRtpSender[] = [];
    const videoTrack = stream.getVideoTracks()[0];
    const audioTrack = stream.getAudioTracks()[0];
    if (!videoTrack && !audioTrack) throw new OnairError('bad_request', 'Nothing to publish: the stream has no audio or video track.');
    if (videoTrack) {
      const t = pc.addTransceiver(videoTrack, { direction: 'sendonly', streams: [stream], sendEncodings: options.simulcast ? simulcastEncodings(options.maxVideoBitrate ?? 2_500_000) : [{ maxBitrate: options.maxVideoBitrate ?? 2_500_000 }] });
      applyCodecPreferences(t, 'video', options.videoCodec ?? 'h264', 'send');
      senders.push(t.sender);
    }
    if (audioTrack) {
      const t = pc.addTransceiver(audioTrack, { direction: 'sendonly', streams: [stream] });
      applyCodecPreferences(t, 'audio', 'h264', 'send');
      senders.push(t.sender);
    }
    const result = await exchange(url, pc, { ...options, token }, started);
    await pc.setRemoteDescription({ type: 'answer', sdp: result.answer });
    if (videoTrack) {
      const sender = senders[0]!;
      try {
        const params = sender.getParameters();
        if (options.degradationPreference) params.degradationPreference = options.degradationPreference;
        await sender.setParameters(params);
      } catch {
        // degradationPreference is not settable everywhere: the default is fine
      }
    }
    const session = new WhipSession({ pc, resourceUrl: result.resourceUrl, etag: result.etag, iceServers: result.iceServers, answerMs: result.answerMs, gatherMs: result.gatherMs, trickle: result.trickle, fetch: options.fetch ?? globalThis.fetch.bind(globalThis), token });
    session.senders.push(...senders);
    return session;
  });
}
