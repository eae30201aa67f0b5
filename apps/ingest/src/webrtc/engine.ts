/**
 * The WebRTC engine behind the media path, reduced to what the ingest needs: answer an offer
 * as a receiving peer (publisher) or a sending peer (viewer), move RTP packets, ask for and
 * hear about keyframes. werift implements both sides (werift-engine.ts); node-datachannel
 * implements viewers for the fan-out's cost per packet (datachannel-engine.ts, DESIGN.md §7);
 * create-engine.ts puts them together.
 */
import { OnairError } from '@onair/shared/errors';
import type { TrickleFragment } from '@onair/shared/sdp';

export type MediaKind = 'audio' | 'video';

/** One negotiated codec, with the remote's payload type and fmtp. */
export interface NegotiatedCodec {
  kind: MediaKind;
  /** `H264`, `VP8`, `opus`. */
  name: string;
  clockRate: number;
  channels?: number;
  payloadType: number;
  fmtp?: string;
}

export interface IceOptions {
  /** Addresses to bind media sockets on and to advertise as host candidates. */
  hosts: string[];
  /** Inclusive UDP port range; undefined = ephemeral ports. */
  portRange: [number, number] | undefined;
}

export interface PeerOptions {
  /** The offer, already restricted to the chosen codecs (one per m-line). */
  offer: string;
  codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec };
  ice: IceOptions;
  /** A publisher's simulcast layers the answer accepts: their rids, in the offer's order (RFC 8853). */
  simulcast?: readonly string[];
}

/** 'connected' once ICE and DTLS are up; 'failed' and 'closed' are final. */
export type PeerState = 'connecting' | 'connected' | 'failed' | 'closed';

/**
 * An RTP packet as received, header fields parsed; header extensions and padding are dropped.
 * A padding-only packet (a bandwidth probe sent on the media SSRC) arrives with an empty
 * payload: it carries no media, but its sequence number is part of the source's numbering.
 */
export interface InboundRtp {
  kind: MediaKind;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payloadType: number;
  marker: boolean;
  payload: Buffer;
  /** Size on the wire (header + payload), bytes. */
  size: number;
  /** The simulcast layer (its rid, RFC 8852) a video packet belongs to; undefined without simulcast. */
  rid?: string;
  /**
   * How much later than its source frame this packet's media arrived, ms: a transcoded
   * rendition's transcode delay (renditions/rendition-timeline.ts); undefined = none (the source).
   */
  mediaDelayMs?: number;
}

/**
 * One packet for one viewer: that viewer's header fields and the publisher's payload. The
 * object itself is reused for the next viewer, so nothing of it may be kept past the call
 * except by copying. The payload is shared by every viewer of the packet and never written
 * once received: engines read it, and may keep a reference to it (for retransmission, or to
 * frame it once for all viewers).
 */
export interface OutboundRtp {
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payloadType: number;
  marker: boolean;
  payload: Buffer;
}

/**
 * What a viewer's receiver tells about its path, read from the RTCP it sends (one message at a
 * time, as it arrives): reception reports for our video or audio SSRC, and its REMB estimate.
 * The rate controller (router/rate-control/) turns these into a rendition for the viewer.
 */
export type ViewerFeedback =
  | {
      type: 'report';
      kind: MediaKind;
      /** Fraction of packets lost since the receiver's previous report, 0…1. */
      fractionLost: number;
      cumulativeLost: number;
      /** Extended highest sequence number received (our numbering). */
      highestSequence: number;
      /** Interarrival jitter, ms. */
      jitterMs: number;
      /** Round-trip time from the report's LSR/DLSR against our sender report; null before one was echoed. */
      rttMs: number | null;
      /**
       * How far the receiver is behind our sending, ms: from when the packet of `highestSequence`
       * left us to when our latest packet of the track did (0: it had everything we sent). A
       * queue on the way to the receiver makes it grow with every report, unlike the RTT, which
       * only a new sender report of ours (one a second) refreshes. Null or absent: the engine
       * does not know (the packet is no longer kept; an engine without that history).
       */
      behindMs?: number | null;
      /** Our payload octets of this track up to and including `highestSequence`: what reached the receiver, counted at our end. */
      deliveredOctets?: number | null;
      /** Our payload octets of this track sent so far, when the report arrived. */
      sentOctets?: number;
    }
  | {
      type: 'remb';
      /** The receiver's estimate of what the path carries for every SSRC it listed, bit/s. */
      bitrate: number;
    };

interface PeerEvents {
  state: [PeerState];
}

/**
 * One end of a media session, whatever carries it: a WebRTC peer (WHIP, WHEP), plain RTP to
 * the transcoder (forward), or a Media-over-QUIC publisher (WebTransport).
 */
export interface MediaPeer {
  readonly state: PeerState;
  on<E extends keyof PeerEvents>(event: E, listener: (...args: PeerEvents[E]) => void): this;
  off<E extends keyof PeerEvents>(event: E, listener: (...args: PeerEvents[E]) => void): this;
  /**
   * Ends the peer. `reason` is the session's close reason (`replaced`, `deleted_by_client`, …):
   * a transport that can tell its client why (a WebTransport close reason) passes it on.
   */
  close(reason?: string): Promise<void>;
}

/** A peer set up by an SDP offer/answer (WHIP, WHEP): what its HTTP session resource needs. */
export interface SdpPeer {
  /** The SDP answer, with every local candidate (no trickle from the server side). */
  readonly answer: string;
  /** ICE ufrag of the remote side (from the offer); a PATCH with another one is an ICE restart. */
  readonly remoteIceUfrag: string | undefined;
  /** Trickled remote candidates (RFC 8840 fragment already parsed). */
  addRemoteCandidates(fragment: TrickleFragment): Promise<void>;
}

/** An offer the WebRTC stack refused after our SDP checks let it through: the offer's fault, a 400. */
export function offerRefused(error: unknown): OnairError {
  return new OnairError('invalid_sdp', `The offer was refused by the WebRTC stack: ${error instanceof Error ? error.message : String(error)}`);
}

export function isSdpPeer(peer: MediaPeer): peer is MediaPeer & SdpPeer {
  return 'answer' in peer && 'addRemoteCandidates' in peer;
}

export interface PublisherPeer extends MediaPeer {
  readonly codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec };
  /**
   * The rids of the video's simulcast layers, in the offer's order; undefined for one stream.
   * Each video packet then carries its layer's rid (InboundRtp.rid).
   */
  readonly simulcast?: readonly string[];
  /** Every RTP packet received, in arrival order. */
  onRtp(listener: (packet: InboundRtp) => void): void;
  /** Sends a PLI for the video track — for one simulcast layer, by rid (no-op until its SSRC is known). */
  requestKeyframe(rid?: string): void;
}

export interface ViewerPeer extends MediaPeer {
  /** Codec the viewer negotiated per kind (payload type is the viewer's). */
  readonly codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec };
  /** SSRC the viewer's sender announced per kind. */
  ssrc(kind: MediaKind): number | undefined;
  /** Sends one RTP packet (see OutboundRtp for who owns what). */
  send(kind: MediaKind, packet: OutboundRtp): void;
  /** The viewer asked for a keyframe (PLI or FIR). */
  onKeyframeRequest(listener: (kind: 'pli' | 'fir') => void): void;
  /** Packets and bytes handed to the engine so far. */
  readonly sent: { packets: number; bytes: number };
  /**
   * The viewer's feedback about its path (reception reports, REMB), from both WebRTC engines
   * (report-feedback.ts). Plain-RTP forwards have none: they stay where they are put.
   */
  onFeedback?(listener: (feedback: ViewerFeedback) => void): void;
}

export interface MediaEngine {
  createPublisher(options: PeerOptions): Promise<PublisherPeer & SdpPeer>;
  createViewer(options: PeerOptions): Promise<ViewerPeer & SdpPeer>;
}
