/**
 * The pure helpers of the WHIP (RFC 9725) / WHEP client (webrtc-client.ts): Link header parsing,
 * problem+json parsing, codec preference ordering, the session URL and trickle fragments. No I/O
 * beyond reading a Response's body; browser-safe (bundled into the web app).
 */
import { OnairError, problemFromResponse, type ErrorCode } from './errors';

/** One link-value of an HTTP `Link` header (RFC 8288). */
export interface LinkValue {
  uri: string;
  params: Record<string, string>;
}

/**
 * Parses an HTTP `Link` header into its link-values. Tolerates several headers folded with
 * commas, quoted parameter values containing commas or semicolons, and parameters without value.
 */
export function parseLinkHeader(header: string | null | undefined): LinkValue[] {
  if (!header) return [];
  const links: LinkValue[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && /\s/.test(header[i]!)) i++;
  };
  while (i < n) {
    skipSpace();
    if (header[i] === ',') {
      i++;
      continue;
    }
    if (header[i] !== '<') {
      // Malformed link-value: skip to the next comma outside quotes.
      let quoted = false;
      while (i < n && (quoted || header[i] !== ',')) {
        if (header[i] === '"') quoted = !quoted;
        i++;
      }
      continue;
    }
    const end = header.indexOf('>', i);
    if (end < 0) break;
    const uri = header.slice(i + 1, end).trim();
    i = end + 1;
    const params: Record<string, string> = {};
    for (;;) {
      skipSpace();
      if (header[i] !== ';') break;
      i++;
      skipSpace();
      let name = '';
      while (i < n && /[^\s=;,]/.test(header[i]!)) name += header[i++];
      skipSpace();
      let value = '';
      if (header[i] === '=') {
        i++;
        skipSpace();
        if (header[i] === '"') {
          i++;
          while (i < n && header[i] !== '"') {
            if (header[i] === '\\' && i + 1 < n) i++;
            value += header[i++];
          }
          i++; // closing quote
        } else {
          while (i < n && /[^\s;,]/.test(header[i]!)) value += header[i++];
        }
      }
      if (name) {
        const key = name.toLowerCase();
        // RFC 8288 §3: only the first occurrence of a parameter counts.
        if (!(key in params)) params[key] = value;
      }
    }
    links.push({ uri, params });
  }
  return links;
}

/**
 * ICE servers announced by a WHIP/WHEP endpoint (RFC 9725 §4.6): `Link` values with
 * `rel="ice-server"`, optionally carrying `username`, `credential` and `credential-type`.
 */
export function iceServersFromLinkHeader(header: string | null | undefined): RTCIceServer[] {
  const servers: RTCIceServer[] = [];
  for (const link of parseLinkHeader(header)) {
    const rels = (link.params.rel ?? '').toLowerCase().split(/\s+/);
    if (!rels.includes('ice-server')) continue;
    if (!/^(stuns?|turns?):/i.test(link.uri)) continue;
    const server: RTCIceServer = { urls: link.uri };
    if (link.params.username !== undefined) server.username = link.params.username;
    if (link.params.credential !== undefined) server.credential = link.params.credential;
    servers.push(server);
  }
  return servers;
}

/** Status → code for error responses that are not onair problem documents (e.g. a proxy's HTML page). */
function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'missing_credentials';
  if (status === 404) return 'not_found';
  if (status === 405) return 'method_not_allowed';
  if (status === 412) return 'etag_mismatch';
  if (status === 413) return 'body_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 500) return 'internal_error';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'upstream_unreachable';
  return 'bad_request';
}

/**
 * Turns a failed response's status, content type and body text into an OnairError: the
 * server's own `code` and `detail` when the body is an onair problem+json document, else a
 * code chosen from the status with the start of the body as detail.
 */
export function problemFromText(status: number, contentType: string | null, text: string): OnairError {
  if (contentType && /json/i.test(contentType)) {
    try {
      const body: unknown = JSON.parse(text);
      const error = problemFromResponse(status, body);
      if (body && typeof body === 'object' && 'code' in body && error.code === (body as { code: unknown }).code) return error;
      const detail = body && typeof body === 'object' && 'detail' in body && typeof body.detail === 'string' ? body.detail : `HTTP ${status}`;
      return new OnairError(codeForStatus(status), detail, { extensions: { status } });
    } catch {
      // fall through: not JSON after all
    }
  }
  const snippet = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
  return new OnairError(codeForStatus(status), snippet ? `HTTP ${status}: ${snippet}` : `HTTP ${status}`, { extensions: { status } });
}

/** Reads a failed fetch Response into an OnairError (see {@link problemFromText}). */
export async function readProblem(response: Response): Promise<OnairError> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // body unreadable: the status alone decides
  }
  return problemFromText(response.status, response.headers.get('content-type'), text);
}

/** Minimal codec description: what `RTCRtpSender.getCapabilities()` returns per codec. */
export interface CodecLike {
  mimeType: string;
  clockRate: number;
  channels?: number;
  sdpFmtpLine?: string;
}

export type VideoCodecPreference = 'h264' | 'vp8';

function fmtp(codec: CodecLike): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (codec.sdpFmtpLine ?? '').split(';')) {
    const [k, v] = part.split('=');
    if (k && v !== undefined) out[k.trim().toLowerCase()] = v.trim();
  }
  return out;
}

/**
 * Rank of a video codec for publishing/playing with onair: lower is better. H.264 Constrained
 * Baseline with packetization-mode=1 first (what the ingest forwards without re-encoding and what
 * every browser decodes in hardware), then other Baseline, other H.264 without B-frames risk last
 * among H.264; VP8 next; then anything else. Codecs that are not media (rtx, red, ulpfec,
 * flexfec) keep their relative order at the end — they must stay in the list for RTX to work.
 */
function videoRank(codec: CodecLike, prefer: VideoCodecPreference): number {
  const mime = codec.mimeType.toLowerCase();
  if (/\/(rtx|red|ulpfec|flexfec-03)$/.test(mime)) return 100;
  const h264Base = prefer === 'h264' ? 0 : 10;
  const vp8Base = prefer === 'h264' ? 10 : 0;
  if (mime === 'video/h264') {
    const p = fmtp(codec);
    const pm1 = p['packetization-mode'] === '1';
    const profile = (p['profile-level-id'] ?? '').toLowerCase();
    const profileIdc = profile.slice(0, 2);
    const constraints = Number.parseInt(profile.slice(2, 4), 16);
    // Constrained Baseline: profile_idc 0x42 with constraint_set1 (0x40), RFC 6184 §8.1.
    const constrainedBaseline = profileIdc === '42' && Number.isFinite(constraints) && (constraints & 0x40) !== 0;
    if (pm1 && constrainedBaseline) return h264Base;
    if (pm1 && profileIdc === '42') return h264Base + 1;
    if (pm1) return h264Base + 2;
    return 30; // packetization-mode=0 (single NAL): usable but a poor fit for 720p frames
  }
  if (mime === 'video/vp8') return vp8Base;
  return 20;
}

/**
 * Orders codec capabilities for `RTCRtpTransceiver.setCodecPreferences`. Stable: codecs of equal
 * rank keep their input order. Nothing is dropped, so negotiation can still fall back.
 */
export function orderVideoCodecs<T extends CodecLike>(codecs: readonly T[], prefer: VideoCodecPreference = 'h264'): T[] {
  return codecs
    .map((codec, index) => ({ codec, index, rank: videoRank(codec, prefer) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.codec);
}

/** Puts Opus first among audio codecs (stable, nothing dropped). */
export function orderAudioCodecs<T extends CodecLike>(codecs: readonly T[]): T[] {
  const rank = (c: CodecLike) => {
    const mime = c.mimeType.toLowerCase();
    if (mime === 'audio/opus') return 0;
    if (/\/(rtx|red|cn|telephone-event)$/.test(mime)) return 100;
    return 10;
  };
  return codecs
    .map((codec, index) => ({ codec, index }))
    .sort((a, b) => rank(a.codec) - rank(b.codec) || a.index - b.index)
    .map((entry) => entry.codec);
}

/** Resolves a `Location` header against the URL that was POSTed to (RFC 9725 §4.2: it may be relative). */
export function resolveResourceUrl(location: string, requestUrl: string, base?: string): string {
  return new URL(location, new URL(requestUrl, base)).toString();
}

/** ICE credentials and the first (bundle-tagged) mid of a local SDP, for trickle fragments. */
export function iceParamsFromSdp(sdp: string): { ufrag: string; pwd: string; mid: string } | null {
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
  const pwd = /^a=ice-pwd:(\S+)/m.exec(sdp)?.[1];
  const mid = /^a=mid:(\S+)/m.exec(sdp)?.[1];
  return ufrag && pwd && mid !== undefined ? { ufrag, pwd, mid } : null;
}

export const TRICKLE_ICE_TYPE = 'application/trickle-ice-sdpfrag';

/**
 * An `application/trickle-ice-sdpfrag` body (RFC 8840 §4.4, RFC 9725 §4.4.1): ICE credentials,
 * then one m-line for the bundle's first mid carrying the new candidates (with BUNDLE every
 * candidate belongs to it), and `a=end-of-candidates` when gathering is over.
 */
export function buildTrickleFragment(params: { ufrag: string; pwd: string; mid: string }, candidates: readonly string[], endOfCandidates: boolean): string {
  const lines = [`a=ice-ufrag:${params.ufrag}`, `a=ice-pwd:${params.pwd}`, 'm=audio 9 RTP/AVP 0', `a=mid:${params.mid}`];
  for (const candidate of candidates) lines.push(`a=${candidate.replace(/^a=/, '')}`);
  if (endOfCandidates) lines.push('a=end-of-candidates');
  return `${lines.join('\r\n')}\r\n`;
}
