/**
 * quiche configurations for the server (per certificate) and the client, with the limits turned
 * into QUIC transport parameters: the stream and connection windows are fixed (initial = max),
 * so a peer can never have more unread bytes in flight than the limits say.
 */
import { quiche, type QuicheConfig } from './quiche';

/** Bytes of a UDP payload we send: fits a 1500-byte MTU with IPv6 and tunnel headroom. */
export const MAX_SEND_UDP_PAYLOAD = 1350;
const MAX_RECV_UDP_PAYLOAD = 1500;
/** HTTP/3 needs 3 unidirectional streams of each peer: control, QPACK encoder and decoder. */
const H3_UNI_STREAMS = 3;

export interface QuicLimits {
  idleTimeoutMs: number;
  streamReceiveWindow: number;
  sessionReceiveWindow: number;
  /** Peer-opened streams at once (the MAX_STREAMS credit), WebTransport streams only. */
  maxIncomingUniStreams: number;
  maxIncomingBidiStreams: number;
  /** Request streams the peer may open besides (CONNECTs, refused requests). */
  maxRequestStreams: number;
}

function applyLimits(config: QuicheConfig, limits: QuicLimits): QuicheConfig {
  config.setApplicationProtos(['h3']);
  config.setMaxIdleTimeout(limits.idleTimeoutMs);
  config.setMaxRecvUdpPayloadSize(MAX_RECV_UDP_PAYLOAD);
  config.setMaxSendUdpPayloadSize(MAX_SEND_UDP_PAYLOAD);
  config.setInitialMaxData(limits.sessionReceiveWindow);
  config.setMaxConnectionWindow(limits.sessionReceiveWindow);
  config.setInitialMaxStreamDataBidiLocal(limits.streamReceiveWindow);
  config.setInitialMaxStreamDataBidiRemote(limits.streamReceiveWindow);
  config.setInitialMaxStreamDataUni(limits.streamReceiveWindow);
  config.setMaxStreamWindow(limits.streamReceiveWindow);
  config.setInitialMaxStreamsBidi(limits.maxIncomingBidiStreams + limits.maxRequestStreams);
  config.setInitialMaxStreamsUni(limits.maxIncomingUniStreams + H3_UNI_STREAMS);
  config.setDisableActiveMigration(true);
  // RFC 9221 max_datagram_frame_size is advertised by enabling datagrams; queues in datagrams.
  config.enableDgram(true, 256, 256);
  return config;
}

/** Throws (with quiche's reason) when the PEM pair is unusable. */
export function createServerConfig(certificate: { certPem: string; keyPem: string }, limits: QuicLimits): QuicheConfig {
  const encoder = new TextEncoder();
  const config = quiche.Config.withBoringSslCtx(false, false, null, [encoder.encode(certificate.keyPem)], [encoder.encode(certificate.certPem)], null);
  return applyLimits(config, limits);
}

/**
 * A client configuration: with `caPem`, BoringSSL verifies the chain; without, the caller checks
 * the leaf's SHA-256 itself after the handshake (W3C `serverCertificateHashes`).
 */
export function createClientConfig(limits: QuicLimits, caPem?: string): QuicheConfig {
  const config = caPem ? quiche.Config.withBoringSslCtx(true, false, new TextEncoder().encode(caPem), null, null, null) : quiche.Config.withBoringSslCtx(false, false, null, null, null, null);
  return applyLimits(config, limits);
}
