/**
 * SDP helpers for WHIP/WHEP (no I/O, browser-safe): parse and validate an offer, choose the
 * codecs onair forwards, restrict an offer to those codecs, and parse RFC 8840 trickle-ICE
 * fragments. The ingest rejects what it cannot serve with a message a person can act on.
 */

import { parseIceCandidate } from './ice-candidate';
import { SdpError } from './sdp-error';
import { acceptSimulcastLayers, formatRid, formatSimulcast, parseRid, parseSimulcast, RTP_STREAM_ID_URI, type SdpRid, type SdpSimulcast } from './sdp-simulcast';

export { SdpError };

export interface SdpCodec {
  payloadType: number;
  /** Encoding name as written (`H264`, `VP8`, `opus`). */
  name: string;
  clockRate: number;
  channels?: number;
  /** `a=fmtp` parameters, verbatim. */
  fmtp?: string;
  /** `a=rtcp-fb` values for this payload type (`nack`, `nack pli`, …). */
  rtcpFb: string[];
}

export interface SdpMedia {
  kind: string;
  port: number;
  protocol: string;
  /** Payload types listed on the m-line, in preference order. */
  formats: number[];
  mid: string | undefined;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  codecs: SdpCodec[];
  iceUfrag: string | undefined;
  icePwd: string | undefined;
  candidates: string[];
  /** `a=bundle-only` (RFC 8843 §6): with port 0, bundled media rather than a rejected m-line. */
  bundleOnly: boolean;
  /** `a=extmap` header extensions (RFC 8285): the local id per URI. */
  extensions: Array<{ id: number; uri: string }>;
  /** `a=rid` lines (RFC 8851). */
  rids: SdpRid[];
  /** `a=simulcast` (RFC 8853), if any. */
  simulcast: SdpSimulcast | undefined;
}

export interface ParsedSdp {
  media: SdpMedia[];
  /** Session-level ICE credentials (media-level ones override). */
  iceUfrag: string | undefined;
  icePwd: string | undefined;
  fingerprint: boolean;
  /** Mids of the first `a=group:BUNDLE` (RFC 8843 §7.1), in order; empty without one. */
  bundle: string[];
}

const MAX_MEDIA_SECTIONS = 16;
/** a=rid lines per m-line: an offer naming hundreds of layers is refused, not walked. */
const MAX_RIDS = 16;
/** Hash length in bytes per `a=fingerprint` hash function (RFC 8122 §5). */
const FINGERPRINT_BYTES: Record<string, number> = { 'sha-1': 20, 'sha-224': 28, 'sha-256': 32, 'sha-384': 48, 'sha-512': 64 };
const DIRECTIONS = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

function splitLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.length > 0);
}

/**
 * Parses an SDP (RFC 8866) far enough for WHIP/WHEP. Throws SdpError naming the first problem
 * (with its line number) for anything that is not a well-formed offer.
 */
export function parseSdp(text: string): ParsedSdp {
  const lines = splitLines(text);
  if (lines.length === 0) throw new SdpError('the SDP is empty');
  if (lines[0] !== 'v=0') throw new SdpError('the SDP must start with "v=0"');
  const parsed: ParsedSdp = { media: [], iceUfrag: undefined, icePwd: undefined, fingerprint: false, bundle: [] };
  let current: SdpMedia | undefined;
  const fmtpByMedia = new Map<SdpMedia, Map<number, string>>();
  const fbByMedia = new Map<SdpMedia, Map<string, string[]>>();
  lines.forEach((line, index) => {
    const at = `line ${index + 1}`;
    if (!/^[a-z]=/.test(line)) throw new SdpError(`${at} is not "<type>=<value>": ${truncate(line)}`);
    const type = line[0];
    const value = line.slice(2);
    if (type === 'm') {
      const match = /^(\w+) (\d+)(?:\/\d+)? (\S+) ?(.*)$/.exec(value);
      if (!match) throw new SdpError(`${at}: malformed m-line: ${truncate(line)}`);
      const [, kind = '', port = '0', protocol = '', formats = ''] = match;
      if (parsed.media.length >= MAX_MEDIA_SECTIONS) throw new SdpError(`more than ${MAX_MEDIA_SECTIONS} m-lines`);
      const isRtp = protocol.includes('RTP');
      const formatList = formats.trim() === '' ? [] : formats.trim().split(/\s+/);
      if (isRtp && formatList.some((f) => !/^\d{1,3}$/.test(f) || Number(f) > 127)) {
        throw new SdpError(`${at}: m-line payload types must be numbers 0-127: ${truncate(line)}`);
      }
      current = {
        kind,
        port: Number(port),
        protocol,
        formats: isRtp ? formatList.map(Number) : [],
        mid: undefined,
        direction: 'sendrecv',
        codecs: [],
        iceUfrag: undefined,
        icePwd: undefined,
        candidates: [],
        bundleOnly: false,
        extensions: [],
        rids: [],
        simulcast: undefined,
      };
      parsed.media.push(current);
      fmtpByMedia.set(current, new Map());
      fbByMedia.set(current, new Map());
      return;
    }
    if (type !== 'a') return;
    const colon = value.indexOf(':');
    const name = colon < 0 ? value : value.slice(0, colon);
    const rest = colon < 0 ? '' : value.slice(colon + 1);
    if (name === 'ice-ufrag') {
      if (current) current.iceUfrag = rest;
      else parsed.iceUfrag = rest;
      return;
    }
    if (name === 'ice-pwd') {
      if (current) current.icePwd = rest;
      else parsed.icePwd = rest;
      return;
    }
    if (name === 'fingerprint') {
      // RFC 8122 §5: hash function, then the hash as colon-separated hex byte pairs; a known
      // function fixes the length (a short one passed here once and made the WebRTC stack throw).
      const fingerprint = /^(\S+) ((?:[0-9A-Fa-f]{2}:)*[0-9A-Fa-f]{2})$/.exec(rest);
      const bytes = fingerprint ? FINGERPRINT_BYTES[fingerprint[1]!.toLowerCase()] : undefined;
      if (!fingerprint || (bytes !== undefined && fingerprint[2]!.split(':').length !== bytes)) throw new SdpError(`${at}: malformed fingerprint`);
      parsed.fingerprint = true;
      return;
    }
    if (name === 'group' && !current) {
      const [semantics, ...mids] = rest.trim().split(/\s+/);
      if (semantics === 'BUNDLE' && parsed.bundle.length === 0) parsed.bundle = mids;
      return;
    }
    if (!current) return;
    if (name === 'mid') current.mid = rest;
    else if (name === 'bundle-only') current.bundleOnly = true;
    else if (DIRECTIONS.has(name)) current.direction = name as SdpMedia['direction'];
    else if (name === 'candidate') current.candidates.push(rest);
    else if (name === 'extmap') {
      // RFC 8285 §8: `<id>[/<direction>] <uri> [<attributes>]`.
      const match = /^(\d{1,4})(?:\/\w+)? (\S+)/.exec(rest);
      if (!match) throw new SdpError(`${at}: malformed extmap "${truncate(rest)}"`);
      current.extensions.push({ id: Number(match[1]), uri: match[2]! });
    } else if (name === 'rid') {
      if (current.rids.length >= MAX_RIDS) throw new SdpError(`${at}: more than ${MAX_RIDS} a=rid lines in one m-line`);
      current.rids.push(wrap(at, () => parseRid(rest)));
    } else if (name === 'simulcast') {
      if (current.simulcast) throw new SdpError(`${at}: a second a=simulcast in one m-line`);
      current.simulcast = wrap(at, () => parseSimulcast(rest));
    }
    else if (name === 'rtpmap') {
      const match = /^(\d{1,3}) ([\w.-]+)\/(\d+)(?:\/(\d+))?$/.exec(rest.trim());
      if (!match) throw new SdpError(`${at}: malformed rtpmap "${truncate(rest)}" (expected "<pt> <name>/<clock rate>[/<channels>]")`);
      const [, pt = '', codecName = '', clock = '', channels] = match;
      current.codecs.push({ payloadType: Number(pt), name: codecName, clockRate: Number(clock), ...(channels ? { channels: Number(channels) } : {}), rtcpFb: [] });
    } else if (name === 'fmtp') {
      const match = /^(\d{1,3}) (.+)$/.exec(rest);
      if (!match) throw new SdpError(`${at}: malformed fmtp "${truncate(rest)}" (expected "<pt> <parameters>")`);
      fmtpByMedia.get(current)?.set(Number(match[1]), (match[2] ?? '').trim());
    } else if (name === 'rtcp-fb') {
      const match = /^(\d{1,3}|\*) (.+)$/.exec(rest);
      if (!match) throw new SdpError(`${at}: malformed rtcp-fb "${truncate(rest)}"`);
      const fb = fbByMedia.get(current);
      const key = match[1] ?? '*';
      fb?.set(key, [...(fb.get(key) ?? []), (match[2] ?? '').trim()]);
    }
  });
  for (const media of parsed.media) {
    // Only payload types listed on the m-line are offered (RFC 8866 §5.14).
    media.codecs = media.codecs.filter((codec) => media.formats.includes(codec.payloadType));
    const fmtp = fmtpByMedia.get(media);
    const fb = fbByMedia.get(media);
    for (const codec of media.codecs) {
      const params = fmtp?.get(codec.payloadType);
      if (params !== undefined) codec.fmtp = params;
      codec.rtcpFb = [...(fb?.get('*') ?? []), ...(fb?.get(String(codec.payloadType)) ?? [])];
    }
  }
  return parsed;
}

/**
 * Parses and checks what a WHIP/WHEP offer needs: audio/video m-lines over (UDP/TLS/)RTP/SAVPF,
 * a mid on each, ICE credentials and a DTLS fingerprint.
 */
export function parseOffer(text: string): ParsedSdp {
  const sdp = parseSdp(text);
  const av = sdp.media.filter((m) => m.kind === 'audio' || m.kind === 'video');
  if (av.length === 0) throw new SdpError('the offer has no audio or video m-line');
  if (!sdp.fingerprint) throw new SdpError('the offer has no a=fingerprint (DTLS-SRTP is required)');
  sdp.media.forEach((media, index) => {
    if (media.kind !== 'audio' && media.kind !== 'video') return;
    if (!/SAVPF$/.test(media.protocol)) throw new SdpError(`m-line ${index} (${media.kind}) uses ${media.protocol}; WebRTC needs UDP/TLS/RTP/SAVPF`);
    if (media.mid === undefined) throw new SdpError(`m-line ${index} (${media.kind}) has no a=mid`);
    if (!(media.iceUfrag ?? sdp.iceUfrag) || !(media.icePwd ?? sdp.icePwd)) throw new SdpError(`m-line ${index} (${media.kind}) has no a=ice-ufrag/a=ice-pwd`);
  });
  return sdp;
}

/**
 * Whether an m-line carries media: a non-zero port, or port 0 with `a=bundle-only` inside a
 * BUNDLE group whose tagged (first) m-line has a port — bundled, not rejected (RFC 8843 §6,
 * §7.3.1; Firefox offers every m-line but the first this way under max-bundle). Port 0 without
 * bundle-only is a rejected or disabled m-line (RFC 8843 §7.3 note, RFC 3264 §6).
 */
export function isActiveMedia(sdp: ParsedSdp, media: SdpMedia): boolean {
  if (media.port !== 0) return true;
  if (!media.bundleOnly || media.mid === undefined || !sdp.bundle.includes(media.mid)) return false;
  const tagged = sdp.media.find((m) => m.mid === sdp.bundle[0]);
  return tagged !== undefined && tagged.port !== 0;
}

/**
 * The offer as the WebRTC engines are given it: each bundled `bundle-only` m-line (see
 * isActiveMedia) gets the tagged m-line's port and loses `a=bundle-only`. werift and
 * libdatachannel read port 0 as "rejected" whatever follows; with the port they answer the
 * m-line like any bundled one — the BUNDLE port and no `a=bundle-only`, as RFC 9143 §7.3 has the
 * answerer do (RFC 8843 §7.3's port 0 + bundle-only in answers was dropped for JSEP's form).
 */
export function bundleOnlyAsBundled(text: string): string {
  const sdp = parseSdp(text);
  const activate = new Set<number>();
  sdp.media.forEach((media, index) => {
    if (media.port === 0 && isActiveMedia(sdp, media)) activate.add(index);
  });
  if (activate.size === 0) return text;
  const taggedPort = sdp.media.find((m) => m.mid === sdp.bundle[0])!.port;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const out: string[] = [];
  let mIndex = -1;
  for (const line of splitLines(text)) {
    if (line.startsWith('m=')) {
      mIndex += 1;
      if (activate.has(mIndex)) {
        out.push(line.replace(/^(m=\S+ )0( |\/)/, `$1${taggedPort}$2`));
        continue;
      }
    } else if (activate.has(mIndex) && line === 'a=bundle-only') continue;
    out.push(line);
  }
  return out.join(eol) + eol;
}

/** `a=fmtp` parameters (`k=v;k2=v2`) → record with lower-cased keys. */
export function parseFmtp(fmtp: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (fmtp ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    if (key) out[key] = part.slice(eq + 1).trim();
  }
  return out;
}

export interface H264Profile {
  profileIdc: number;
  /** constraint_set flags byte (`profile_iop`). */
  constraints: number;
  levelIdc: number;
  name: 'constrained-baseline' | 'baseline' | 'main' | 'constrained-high' | 'high' | 'other';
}

/** Reads `profile-level-id` (RFC 6184 §8.1); default 42000a when absent. Undefined when malformed. */
export function h264Profile(fmtp: string | undefined): H264Profile | undefined {
  const id = parseFmtp(fmtp)['profile-level-id'] ?? '42000a';
  if (!/^[0-9a-fA-F]{6}$/.test(id)) return undefined;
  const profileIdc = parseInt(id.slice(0, 2), 16);
  const constraints = parseInt(id.slice(2, 4), 16);
  const levelIdc = parseInt(id.slice(4, 6), 16);
  let name: H264Profile['name'] = 'other';
  if (profileIdc === 0x42) name = constraints & 0x40 ? 'constrained-baseline' : 'baseline';
  else if (profileIdc === 0x4d) name = constraints & 0x80 ? 'constrained-baseline' : 'main';
  else if (profileIdc === 0x58 && constraints & 0xc0) name = 'constrained-baseline';
  else if (profileIdc === 0x64) name = constraints & 0x0c ? 'constrained-high' : 'high';
  return { profileIdc, constraints, levelIdc, name };
}

function packetizationMode(codec: SdpCodec): number {
  return Number(parseFmtp(codec.fmtp)['packetization-mode'] ?? '0');
}

const H264_RANK: Record<H264Profile['name'], number> = { 'constrained-baseline': 0, baseline: 1, main: 2, 'constrained-high': 3, high: 4, other: 99 };

/** What onair accepts from a publisher, for error messages. */
export const ACCEPTED_CODECS = ['H264 (packetization-mode=1; Constrained Baseline, Baseline, Main or High profile)', 'VP8', 'opus/48000/2'];

export interface CodecSelection {
  /** Index of the m-line in the offer. */
  mLineIndex: number;
  mid: string;
  kind: 'audio' | 'video';
  codec: SdpCodec;
  /** The rids of the simulcast layers the answer accepts (a publisher's video, RFC 8853); undefined: one stream. */
  simulcast?: string[];
}

function isLower(name: string, wanted: string): boolean {
  return name.toLowerCase() === wanted.toLowerCase();
}

/** The video codec onair prefers among one m-line's codecs: H.264 (CB > B > Main > High, pm=1), then VP8. */
export function pickPublisherVideoCodec(codecs: SdpCodec[]): SdpCodec | undefined {
  const h264 = codecs
    .filter((c) => isLower(c.name, 'H264') && c.clockRate === 90000 && packetizationMode(c) === 1)
    .map((c) => ({ c, profile: h264Profile(c.fmtp) }))
    .filter((x) => x.profile && x.profile.name !== 'other')
    .sort((a, b) => H264_RANK[a.profile!.name] - H264_RANK[b.profile!.name]);
  if (h264[0]) return h264[0].c;
  return codecs.find((c) => isLower(c.name, 'VP8') && c.clockRate === 90000);
}

export function pickOpus(codecs: SdpCodec[]): SdpCodec | undefined {
  return codecs.find((c) => isLower(c.name, 'opus') && c.clockRate === 48000);
}

/**
 * Chooses one video codec (first video m-line) and one audio codec (first audio m-line) from a
 * publisher's offer, and the simulcast layers of the video it accepts. Other m-lines are left for
 * the engine to reject. Throws SdpError for more simulcast layers than onair receives.
 */
export function selectPublisherCodecs(offer: ParsedSdp): { video?: CodecSelection; audio?: CodecSelection } {
  const out: { video?: CodecSelection; audio?: CodecSelection } = {};
  offer.media.forEach((media, mLineIndex) => {
    if (!isActiveMedia(offer, media) || media.mid === undefined) return;
    if (media.kind === 'video' && !out.video) {
      const codec = pickPublisherVideoCodec(media.codecs);
      if (!codec) return;
      const simulcast = acceptSimulcastLayers({ rids: media.rids, simulcast: media.simulcast, ridExtension: media.extensions.some((e) => e.uri === RTP_STREAM_ID_URI) }, codec.payloadType);
      out.video = { mLineIndex, mid: media.mid, kind: 'video', codec, ...(simulcast ? { simulcast } : {}) };
    } else if (media.kind === 'audio' && !out.audio) {
      const codec = pickOpus(media.codecs);
      if (codec) out.audio = { mLineIndex, mid: media.mid, kind: 'audio', codec };
    }
  });
  return out;
}

/** What a viewer must be able to receive: the stream's codecs (name + fmtp). */
export interface StreamCodecs {
  video?: { name: string; clockRate: number; fmtp?: string };
  audio?: { name: string; clockRate: number; channels?: number; fmtp?: string };
}

/**
 * Picks, in a viewer's offer, the codec matching what the stream carries (forwarding without
 * re-encoding needs the same codec). For H.264 the viewer must take packetization-mode=1;
 * an exact profile-level-id is preferred, then the same profile, then any H.264.
 */
export function selectViewerCodecs(offer: ParsedSdp, stream: StreamCodecs): { video?: CodecSelection; audio?: CodecSelection } {
  const out: { video?: CodecSelection; audio?: CodecSelection } = {};
  offer.media.forEach((media, mLineIndex) => {
    if (!isActiveMedia(offer, media) || media.mid === undefined) return;
    if (media.kind === 'video' && !out.video && stream.video) {
      const codec = pickMatchingVideo(media.codecs, stream.video);
      if (codec) out.video = { mLineIndex, mid: media.mid, kind: 'video', codec };
    } else if (media.kind === 'audio' && !out.audio && stream.audio) {
      const codec = pickOpus(media.codecs);
      if (codec) out.audio = { mLineIndex, mid: media.mid, kind: 'audio', codec };
    }
  });
  return out;
}

function pickMatchingVideo(codecs: SdpCodec[], wanted: { name: string; fmtp?: string }): SdpCodec | undefined {
  const same = codecs.filter((c) => isLower(c.name, wanted.name) && c.clockRate === 90000);
  if (!isLower(wanted.name, 'H264')) return same[0];
  const target = h264Profile(wanted.fmtp);
  const candidates = same.filter((c) => packetizationMode(c) === 1).map((c) => ({ c, p: h264Profile(c.fmtp) })).filter((x) => x.p);
  const score = (p: H264Profile): number => {
    if (!target) return 3;
    if (p.profileIdc === target.profileIdc && p.constraints === target.constraints && p.levelIdc === target.levelIdc) return 0;
    if (p.profileIdc === target.profileIdc && p.constraints === target.constraints) return 1;
    if (p.name === target.name) return 2;
    return 3;
  };
  return candidates.sort((a, b) => score(a.p!) - score(b.p!))[0]?.c;
}

/**
 * Rewrites an offer so that each selected m-line lists only the chosen payload type (and drops
 * its RTX/RED/FEC companions). The engine then negotiates exactly that codec with the offerer's
 * own payload type and fmtp, whatever its own matching rules (werift matches by mimeType only).
 * A selection with simulcast layers keeps them as `a=rid:<id> send` (restrictions dropped: werift
 * reads the rest of the line as the direction) and one `a=simulcast:send` with the accepted rids,
 * and loses its `a=ssrc` lines (layers are told apart by rid, RFC 8853 §5.3; OBS declares its top
 * layer's SSRC, which made werift open a second track for it); any other simulcast is dropped
 * (RFC 8853 §5.3: the answer then takes one stream). Other m-lines are left as they are.
 */
export function restrictOffer(text: string, selections: CodecSelection[]): string {
  const keepByIndex = new Map(selections.map((s) => [s.mLineIndex, s.codec.payloadType]));
  const layersByIndex = new Map(selections.filter((s) => s.simulcast).map((s) => [s.mLineIndex, s.simulcast!]));
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = splitLines(text);
  // Repair (RTX) SSRCs of `a=ssrc-group:FID <media> <repair>` in restricted m-lines go with RTX.
  const repairSsrcs = new Set<string>();
  let scan = -1;
  for (const line of lines) {
    if (line.startsWith('m=')) scan += 1;
    const fid = /^a=ssrc-group:FID \S+ (\S+)/.exec(line);
    if (fid?.[1] && keepByIndex.has(scan)) repairSsrcs.add(fid[1]);
  }
  const out: string[] = [];
  let mIndex = -1;
  // The accepted layers close their m-section (attributes come after c=/b=, RFC 8866 §5).
  const closeSection = () => {
    const layers = layersByIndex.get(mIndex);
    if (layers) out.push(...layers.map((id) => `a=rid:${formatRid({ id, direction: 'send', payloadTypes: undefined, restrictions: [] })}`), `a=simulcast:${formatSimulcast({ send: layers.map((id) => ({ rids: [{ id, paused: false }] })), recv: [] })}`);
  };
  for (const line of lines) {
    if (line.startsWith('m=')) {
      closeSection();
      mIndex += 1;
      const keep = keepByIndex.get(mIndex);
      if (keep !== undefined) {
        const parts = line.split(' ');
        out.push([...parts.slice(0, 3), String(keep)].join(' '));
        continue;
      }
    } else if (mIndex >= 0 && keepByIndex.has(mIndex)) {
      const keep = keepByIndex.get(mIndex);
      const pt = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+) /.exec(line)?.[1];
      if (pt !== undefined && Number(pt) !== keep) continue;
      // RTX SSRCs belong to the dropped RTX payload type.
      if (line.startsWith('a=ssrc-group:FID') || (layersByIndex.has(mIndex) && line.startsWith('a=ssrc-group:'))) continue;
      // Accepted layers were written after the m-line; the rest is not received (RFC 8853 §5.3).
      if (line.startsWith('a=simulcast:') || line.startsWith('a=rid:')) continue;
      const ssrc = /^a=ssrc:(\S+) /.exec(line)?.[1];
      if (ssrc !== undefined && (repairSsrcs.has(ssrc) || layersByIndex.has(mIndex))) continue;
    }
    out.push(line);
  }
  closeSection();
  return out.join(eol) + eol;
}

/** Codec as written in live state and logs: `H264`, `VP8`, `opus`. */
export function codecLabel(codec: { name: string }): string {
  const lower = codec.name.toLowerCase();
  if (lower === 'h264') return 'H264';
  if (lower === 'vp8') return 'VP8';
  return lower;
}

export interface TrickleFragment {
  iceUfrag: string | undefined;
  icePwd: string | undefined;
  media: Array<{ mid: string | undefined; mLineIndex: number; candidates: string[]; endOfCandidates: boolean }>;
  /** `a=end-of-candidates` at session level, or in any m-line (with BUNDLE there is one transport). */
  endOfCandidates: boolean;
}

/** Session description lines that make a body a whole SDP, not a fragment (RFC 8840 §9). */
const SESSION_ONLY_TYPES = new Set(['v', 'o', 's', 't']);

/**
 * Parses an `application/trickle-ice-sdpfrag` body (RFC 8840 §4.4 / RFC 9725 §4.3.1): optional
 * session-level a=ice-ufrag/a=ice-pwd, then m-lines each with a=mid and a=candidate /
 * a=end-of-candidates lines. Attributes it does not understand, an empty `a=` included, are
 * ignored (RFC 8866 §5.13) so they never cost the candidates beside them; a malformed candidate,
 * a line that is not `<type>=<value>` or a whole SDP throws SdpError.
 */
export function parseTrickleFragment(text: string): TrickleFragment {
  const fragment: TrickleFragment = { iceUfrag: undefined, icePwd: undefined, media: [], endOfCandidates: false };
  let current: TrickleFragment['media'][number] | undefined;
  splitLines(text).forEach((line, index) => {
    const at = `line ${index + 1}`;
    if (!/^[a-z]=/.test(line)) throw new SdpError(`${at} is not "<type>=<value>": ${truncate(line)}`);
    const type = line[0]!;
    if (SESSION_ONLY_TYPES.has(type)) throw new SdpError(`${at}: "${type}=" belongs to a whole SDP, not a trickle-ice-sdpfrag`);
    if (type === 'm') {
      current = { mid: undefined, mLineIndex: fragment.media.length, candidates: [], endOfCandidates: false };
      fragment.media.push(current);
      return;
    }
    if (type !== 'a') return; // c=, b=, i=: nothing ICE needs
    const value = line.slice(2);
    const colon = value.indexOf(':');
    const name = colon < 0 ? value : value.slice(0, colon);
    const rest = colon < 0 ? '' : value.slice(colon + 1);
    if (name === 'ice-ufrag') {
      if (current) throw new SdpError(`${at}: a=ice-ufrag must come before the m-lines`);
      fragment.iceUfrag = rest;
    } else if (name === 'ice-pwd') {
      if (current) throw new SdpError(`${at}: a=ice-pwd must come before the m-lines`);
      fragment.icePwd = rest;
    } else if (name === 'mid') {
      if (!current) throw new SdpError(`${at}: a=mid outside an m-line`);
      current.mid = rest;
    } else if (name === 'candidate') {
      if (!current) throw new SdpError(`${at}: a=candidate outside an m-line`);
      try {
        parseIceCandidate(rest);
      } catch (error) {
        throw new SdpError(`${at}: malformed candidate "${truncate(rest)}": ${error instanceof Error ? error.message : String(error)}`);
      }
      current.candidates.push(rest);
    } else if (name === 'end-of-candidates') {
      fragment.endOfCandidates = true;
      if (current) current.endOfCandidates = true;
    }
    // Anything else (ice-options, group, an empty a=, an extension) is ignored: RFC 8866 §5.13.
  });
  return fragment;
}

/** Runs an attribute parser, prefixing its SdpError with the line it came from. */
function wrap<T>(at: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof SdpError) throw new SdpError(`${at}: ${error.message}`);
    throw error;
  }
}

function truncate(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
