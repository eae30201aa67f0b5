/**
 * The MoQ ingest's entry point: a WebTransport session the server has accepted (CONNECT
 * answered 200 with a moq-lite `wt-protocol`, stream key checked) becomes a live publisher.
 */
import type { WebTransportSession } from '../webtransport/transport';
import { MoqPublisherPeer, type MoqPublisherOptions } from './moq-publisher-peer';

/**
 * Resolves with the peer 'connected' and its `codecs` filled once the publisher has announced a
 * broadcast, its catalog names the tracks and the first video keyframe's SPS was read. Rejects
 * with MoqIngestError (stable `code`) otherwise, the session closed with that code as reason.
 * `url` is the session's URL (`https://<authority><path>`); only its origin reaches @moq/lite.
 */
export async function acceptMoqPublisher(session: WebTransportSession, url: URL, options: MoqPublisherOptions): Promise<MoqPublisherPeer> {
  const peer = new MoqPublisherPeer(session, url, options);
  await peer.ready;
  return peer;
}

/** `wt-protocol` values onair answers with, best first (draft-ietf-webtrans-http3 §3.3). */
export const MOQ_WT_PROTOCOLS = ['moq-lite-04', 'moq-lite-03', 'moql'] as const;

/**
 * The protocol to answer a CONNECT with: the first of the client's offers that onair speaks, in
 * the client's order. Undefined → no `wt-protocol` header, and @moq/lite negotiates a moq-lite
 * version in SETUP (what older clients do); IETF moqt-* offers are never chosen (moq-lite only).
 */
export function selectMoqProtocol(offered: readonly string[]): string | undefined {
  return offered.find((protocol) => (MOQ_WT_PROTOCOLS as readonly string[]).includes(protocol));
}
