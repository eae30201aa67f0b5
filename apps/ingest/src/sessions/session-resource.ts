/**
 * What WHIP (RFC 9725) and WHEP share: reading and validating an SDP offer, the 201 answer with
 * its headers, and the session resource's PATCH (trickle ICE, RFC 8840) and DELETE.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OnairError } from '@onair/shared/errors';
import { bundleOnlyAsBundled, type CodecSelection, codecLabel, parseOffer, parseTrickleFragment, type ParsedSdp, restrictOffer, SdpError } from '@onair/shared/sdp';
import { readBody, requireContentType, type Router } from '@onair/service/http';
import type { IceServer, IngestConfig } from '../config';
import type { MediaRouter } from '../router/media-router';
import type { Session } from '../router/sessions';
import { isSdpPeer, type MediaPeer, type NegotiatedCodec, type SdpPeer } from '../webrtc/engine';
import { engineCandidate, LocalIceRelay, withCandidates } from '../webrtc/local-ice-relay';
import { addressFamily, addressScope } from './address-scope';
import { machineAddresses } from './local-addresses';
import { RemoteCandidateGate } from './remote-candidate-gate';

export const SDP_TYPE = 'application/sdp';
export const TRICKLE_TYPE = 'application/trickle-ice-sdpfrag';

/** Checks the media type, reads the offer within the size limit and parses it (415, 413, 400). */
export async function readOffer(req: IncomingMessage, config: IngestConfig): Promise<{ text: string; sdp: ParsedSdp }> {
  requireContentType(req, SDP_TYPE);
  const text = (await readBody(req, config.limits.sdpMaxBytes, 'sdp_too_large')).toString('utf8');
  try {
    return { text, sdp: parseOffer(text) };
  } catch (error) {
    if (error instanceof SdpError) throw new OnairError('invalid_sdp', `The SDP offer is invalid: ${error.message}.`, { cause: error });
    throw error;
  }
}

/**
 * The offer as the engine is given it: each chosen m-line restricted to its one codec,
 * Firefox's bundle-only m-lines (port 0 under max-bundle) given the BUNDLE port, which both
 * engines would otherwise answer as rejected (sdp.ts bundleOnlyAsBundled), and only the
 * candidates the session's gate admits.
 */
export function engineOffer(text: string, selections: Array<CodecSelection | undefined>, gate: RemoteCandidateGate): string {
  return gate.filterOffer(bundleOnlyAsBundled(restrictOffer(text, selections.filter((s) => s !== undefined))));
}

/** A new session's gate for remote candidates (see remote-candidate-gate.ts). */
export function candidateGate(config: IngestConfig): RemoteCandidateGate {
  return new RemoteCandidateGate({ iceHosts: config.ice.hosts, allowPrivate: config.ice.allowPrivate, maxCandidates: config.limits.maxRemoteCandidates }, machineAddresses().routable);
}

/**
 * The answer to send. With media on loopback only and ONAIR_ICE_LOCAL_RELAY on (the default), it
 * also offers the session on this machine's own addresses through a LocalIceRelay, for browsers
 * here that never send to loopback (Firefox, libnice); the relay closes with the session.
 */
export async function answerFor(session: Session<MediaPeer & SdpPeer>, config: IngestConfig): Promise<string> {
  const answer = session.peer.answer;
  const loopback = config.ice.hosts.find((host) => addressScope(host) === 'loopback');
  const engine = config.ice.localRelay && loopback ? engineCandidate(answer, loopback) : undefined;
  if (!engine || !loopback) return answer;
  const { all, routable } = machineAddresses();
  const family = addressFamily(loopback);
  const relay = await LocalIceRelay.open({ engine, addresses: routable.filter((address) => addressFamily(address) === family), localSources: new Set(all), portRange: config.ice.portRange });
  if (session.closed) relay.close();
  else session.once('closed', () => relay.close());
  return withCandidates(answer, relay.candidates);
}

/** The codecs chosen in an offer, as the engine takes them (the offerer's payload types and fmtp). */
export function negotiatedCodecs(selections: Array<CodecSelection | undefined>): { video?: NegotiatedCodec; audio?: NegotiatedCodec } {
  const codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec } = {};
  for (const selection of selections) {
    if (!selection) continue;
    const { codec } = selection;
    codecs[selection.kind] = {
      kind: selection.kind,
      name: codecLabel(codec),
      clockRate: codec.clockRate,
      payloadType: codec.payloadType,
      ...(codec.channels ? { channels: codec.channels } : {}),
      ...(codec.fmtp ? { fmtp: codec.fmtp } : {}),
    };
  }
  return codecs;
}

/** RFC 9725 §4.6: one `Link: <url>; rel="ice-server"` per STUN/TURN URL, with TURN credentials. */
export function iceServerLinks(servers: IceServer[]): string[] {
  const quote = (value: string) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  return servers.flatMap((server) =>
    (Array.isArray(server.urls) ? server.urls : [server.urls]).map((url) => {
      let link = `<${url}>; rel="ice-server"`;
      if (server.username !== undefined) link += `; username=${quote(server.username)}`;
      if (server.credential !== undefined) link += `; credential=${quote(server.credential)}; credential-type="password"`;
      return link;
    }),
  );
}

/**
 * 201 Created with the answer (RFC 9725 §4.2): Location, ETag, Accept-Patch, ICE server links and
 * the `Link`s of protocol extensions the resource supports (`extensionLinks`, RFC 9725 §4.9).
 */
export function sendAnswer(res: ServerResponse, session: Session<MediaPeer & SdpPeer>, config: IngestConfig, body: string = session.peer.answer, extensionLinks: string[] = []): void {
  const links = [...iceServerLinks(config.ice.servers), ...extensionLinks];
  res.writeHead(201, {
    'Content-Type': SDP_TYPE,
    'Content-Length': Buffer.byteLength(body),
    Location: `/${session.kind}/sessions/${session.id}`,
    ETag: session.etag,
    'Accept-Patch': TRICKLE_TYPE,
    'Cache-Control': 'no-store',
    ...(links.length > 0 ? { Link: links } : {}),
  });
  res.end(body);
}

/** PATCH and DELETE on `/<kind>/sessions/:id`. */
export function registerSessionResource(router: Router, kind: 'whip' | 'whep', media: MediaRouter, config: IngestConfig): void {
  router.on('PATCH', `/${kind}/sessions/:id`, async ({ req, res, params }) => {
    const session = media.session(kind, params.id ?? '');
    const peer = session.peer;
    if (!isSdpPeer(peer)) throw new OnairError('session_not_found', `No ${kind.toUpperCase()} session ${params.id ?? ''}.`);
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && ifMatch.trim() !== '*' && !ifMatch.split(',').some((tag) => tag.trim() === session.etag)) {
      throw new OnairError('etag_mismatch', `If-Match does not match the session's ETag ${session.etag}.`);
    }
    requireContentType(req, TRICKLE_TYPE);
    const text = (await readBody(req, config.limits.sdpMaxBytes, 'sdp_too_large')).toString('utf8');
    let fragment;
    try {
      fragment = parseTrickleFragment(text);
    } catch (error) {
      if (error instanceof SdpError) throw new OnairError('invalid_ice_fragment', `The trickle ICE fragment is invalid: ${error.message}.`, { cause: error });
      throw error;
    }
    // RFC 9725 §4.4.1: new ICE credentials request an ICE restart. werift cannot restart ICE as
    // the answering side here, so say so plainly: the client starts a new session instead.
    if (fragment.iceUfrag !== undefined && fragment.iceUfrag !== peer.remoteIceUfrag) {
      throw new OnairError('ice_restart_unsupported', 'This server does not support ICE restarts. DELETE this session and POST a new offer.');
    }
    await peer.addRemoteCandidates(session.remoteCandidates?.filterFragment(fragment) ?? fragment);
    res.writeHead(204, { ETag: session.etag });
    res.end();
  });

  router.on('DELETE', `/${kind}/sessions/:id`, ({ res, params }) => {
    const session = media.session(kind, params.id ?? '');
    session.close('deleted_by_client');
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
  });
}
