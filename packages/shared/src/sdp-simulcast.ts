/**
 * Simulcast in SDP (pure, browser-safe): the `a=rid` (RFC 8851) and `a=simulcast` (RFC 8853)
 * attributes of one m-line, and the rule for which offered layers a WHIP answer accepts.
 *
 * A publisher that offers simulcast sends one RTP stream per layer on the same m-line, each with
 * its own SSRC and tagged with its rid in the `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id`
 * header extension (RFC 8852) — no `a=ssrc` signalling. onair accepts every layer it can tell
 * apart (OBS 32.1 gives up when the answer accepts fewer layers than it offered), up to
 * MAX_SIMULCAST_LAYERS.
 */
import { SdpError } from './sdp-error';

/** RFC 8852 §3.1: the header extension that names a packet's rid. */
export const RTP_STREAM_ID_URI = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';
/** RFC 8852 §3.2: the rid of the stream a repair (RTX) packet repairs. */
export const REPAIRED_RTP_STREAM_ID_URI = 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id';

/** Most layers accepted on one m-line: OBS offers up to 4, libwebrtc encodes at most 4. */
export const MAX_SIMULCAST_LAYERS = 4;
/** RFC 8851 §10 puts no bound on a rid's length; onair names renditions after rids, so it does. */
export const MAX_RID_LENGTH = 32;

export interface SdpRid {
  /** RFC 8851 §10: `rid-id = 1*(alpha-numeric / "-" / "_")`, case-sensitive. */
  id: string;
  direction: 'send' | 'recv';
  /** `pt=` (RFC 8851 §5): the payload types this rid may use; undefined means any of the m-line's. */
  payloadTypes: number[] | undefined;
  /** The other restrictions (`max-width=1280`, …), verbatim, in order. */
  restrictions: string[];
}

/** One simulcast stream: alternative rids (RFC 8853 §5.1 `sc-alt-list`), the first preferred. */
export interface SimulcastStream {
  rids: Array<{ id: string; paused: boolean }>;
}

export interface SdpSimulcast {
  send: SimulcastStream[];
  recv: SimulcastStream[];
}

const RID_ID = /^[A-Za-z0-9_-]+$/;

/** Parses an `a=rid:` value (after the colon): `<id> <send|recv> [pt=1,2;max-width=1280…]`. */
export function parseRid(value: string): SdpRid {
  const [id = '', direction = '', params, ...extra] = value.trim().split(/\s+/);
  if (!RID_ID.test(id) || id.length > MAX_RID_LENGTH) throw new SdpError(`malformed rid "${truncate(id)}" (RFC 8851: 1–${MAX_RID_LENGTH} of A–Z a–z 0–9 - _)`);
  if (direction !== 'send' && direction !== 'recv') throw new SdpError(`a=rid:${truncate(id)} has direction "${truncate(direction)}" (expected send or recv)`);
  if (extra.length > 0) throw new SdpError(`a=rid:${truncate(id)} has more than one parameter list`);
  let payloadTypes: number[] | undefined;
  const restrictions: string[] = [];
  for (const param of params ? params.split(';') : []) {
    if (param === '') continue;
    if (param.startsWith('pt=')) {
      const list = param.slice(3).split(',');
      if (list.some((pt) => !/^\d{1,3}$/.test(pt) || Number(pt) > 127)) throw new SdpError(`a=rid:${truncate(id)} has a malformed pt list "${truncate(param)}"`);
      payloadTypes = list.map(Number);
    } else {
      if (!/^[A-Za-z0-9_-]+(=[^;\s]*)?$/.test(param)) throw new SdpError(`a=rid:${truncate(id)} has a malformed restriction "${truncate(param)}"`);
      restrictions.push(param);
    }
  }
  return { id, direction, payloadTypes, restrictions };
}

/**
 * Parses an `a=simulcast:` value (RFC 8853 §5.1): `send <list> [recv <list>]` or the reverse,
 * each list `stream;stream…`, each stream `rid,rid…` (alternatives), a rid prefixed `~` paused.
 */
export function parseSimulcast(value: string): SdpSimulcast {
  const tokens = value.trim().split(/\s+/);
  const out: SdpSimulcast = { send: [], recv: [] };
  if (tokens.length !== 2 && tokens.length !== 4) throw new SdpError(`malformed simulcast "${truncate(value)}" (expected "send <rids>" and/or "recv <rids>")`);
  for (let i = 0; i < tokens.length; i += 2) {
    const direction = tokens[i];
    if (direction !== 'send' && direction !== 'recv') throw new SdpError(`malformed simulcast "${truncate(value)}": "${truncate(direction ?? '')}" is not send or recv`);
    if (out[direction].length > 0) throw new SdpError(`malformed simulcast "${truncate(value)}": ${direction} given twice`);
    out[direction] = tokens[i + 1]!.split(';').map((stream) => ({
      rids: stream.split(',').map((entry) => {
        const paused = entry.startsWith('~');
        const id = paused ? entry.slice(1) : entry;
        if (!RID_ID.test(id) || id.length > MAX_RID_LENGTH) throw new SdpError(`malformed simulcast "${truncate(value)}": "${truncate(entry)}" is not a rid`);
        return { id, paused };
      }),
    }));
  }
  return out;
}

/** An `a=rid:` value as parseRid reads it (restrictions after `pt=`, RFC 8851 §10). */
export function formatRid(rid: SdpRid): string {
  const params = [...(rid.payloadTypes ? [`pt=${rid.payloadTypes.join(',')}`] : []), ...rid.restrictions];
  return `${rid.id} ${rid.direction}${params.length > 0 ? ` ${params.join(';')}` : ''}`;
}

/** An `a=simulcast:` value as parseSimulcast reads it (RFC 8853 §5.1). */
export function formatSimulcast(simulcast: SdpSimulcast): string {
  const list = (streams: SimulcastStream[]) => streams.map((stream) => stream.rids.map((rid) => `${rid.paused ? '~' : ''}${rid.id}`).join(',')).join(';');
  return (['send', 'recv'] as const)
    .filter((direction) => simulcast[direction].length > 0)
    .map((direction) => `${direction} ${list(simulcast[direction])}`)
    .join(' ');
}

/** What `acceptSimulcastLayers` reads of one offered m-line. */
export interface SimulcastOffer {
  rids: SdpRid[];
  simulcast: SdpSimulcast | undefined;
  /** Whether the m-line offers the rtp-stream-id header extension (a=extmap with RTP_STREAM_ID_URI). */
  ridExtension: boolean;
}

/**
 * The rids of the layers a WHIP answer accepts on an m-line whose codec is `payloadType`, in the
 * offer's order; undefined when the m-line offers no simulcast onair can receive (then the answer
 * drops the attributes and the publisher sends one stream, RFC 8853 §5.3). Each layer is the first
 * alternative of a `send` stream that has an `a=rid … send` line allowing the payload type.
 * Without the rtp-stream-id extension the layers cannot be told apart: no simulcast.
 * Throws SdpError past MAX_SIMULCAST_LAYERS: accepting fewer would be refused by OBS, whose
 * error says less than this one.
 */
export function acceptSimulcastLayers(offer: SimulcastOffer, payloadType: number): string[] | undefined {
  if (!offer.simulcast || offer.simulcast.send.length === 0 || !offer.ridExtension) return undefined;
  const sendRids = new Map(offer.rids.filter((rid) => rid.direction === 'send').map((rid) => [rid.id, rid]));
  const layers: string[] = [];
  for (const stream of offer.simulcast.send) {
    // RFC 8853 §5.3.1: an answerer takes one alternative per stream; the first it can receive.
    const usable = stream.rids.find(({ id }) => {
      const rid = sendRids.get(id);
      return rid !== undefined && (rid.payloadTypes === undefined || rid.payloadTypes.includes(payloadType)) && !layers.includes(id);
    });
    if (usable) layers.push(usable.id);
  }
  if (layers.length > MAX_SIMULCAST_LAYERS) throw new SdpError(`the offer has ${layers.length} simulcast layers; onair receives at most ${MAX_SIMULCAST_LAYERS}`);
  // One layer is no simulcast: the answer then takes the m-line as a single stream.
  return layers.length >= 2 ? layers : undefined;
}

function truncate(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
