/**
 * An edge's pull of one stream from another ingest node, over WHEP (RFC 9725): the ingest as a
 * WHEP client. A werift peer offers to receive the stream's codecs (as the origin's lease names
 * them, so the origin picks the very same profile), POSTs the offer to `<upstream>/whep/<name>`
 * with the edge credentials and hop path, and becomes a PublisherPeer for the local router:
 * viewers, forwards and takeover cannot tell it from a WHIP publisher. A keyframe request from the
 * local router goes upstream as a PLI; close() DELETEs the session resource at the upstream.
 */
import { EventEmitter } from 'node:events';
import { isIPv4, isIPv6 } from 'node:net';
import { RTCPeerConnection, RTCRtpCodecParameters, type MediaStreamTrack, type RTCRtpTransceiver, type RtpPacket } from 'werift';
import { OnairError, problemFromResponse } from '@onair/shared/errors';
import { codecLabel, parseSdp, type StreamCodecs } from '@onair/shared/sdp';
import { layerUrlFromLinkHeader } from '@onair/shared/whep-layers-client';
import type { Logger } from '@onair/service/logger';
import type { IceOptions, InboundRtp, MediaKind, NegotiatedCodec, PeerState, PublisherPeer } from '../webrtc/engine';

export interface EdgePullOptions {
  /** `<upstream base URL>/whep/<stream name>`. */
  whepUrl: string;
  /** The stream's codecs as the origin's lease names them; undefined offers H.264 and VP8. */
  codecs: StreamCodecs | undefined;
  ice: IceOptions;
  /** Edge credentials, hop path, lease token (edge-auth.ts). */
  headers: Record<string, string>;
  /** The POST's deadline, ms. */
  timeoutMs: number;
  /** Offer to receive audio as well (default true); a pulled rendition is video only. */
  audio?: boolean;
  log: Logger;
}

const VIDEO_FEEDBACK = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];

/** The video codecs to offer: the stream's own (H.264 with its profile-level-id, packetization-mode=1), else H.264 CB and VP8. */
function offeredVideo(codecs: StreamCodecs | undefined): RTCRtpCodecParameters[] {
  const h264 = (fmtp: string) => new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, payloadType: 102, rtcpFeedback: VIDEO_FEEDBACK, parameters: fmtp });
  const vp8 = new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: 96, rtcpFeedback: VIDEO_FEEDBACK });
  const video = codecs?.video;
  if (video && video.name.toLowerCase() === 'vp8') return [vp8];
  if (video && video.name.toLowerCase() === 'h264') {
    const profile = /profile-level-id=([0-9a-fA-F]{6})/.exec(video.fmtp ?? '')?.[1] ?? '42e01f';
    return [h264(`level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profile}`)];
  }
  return [h264('level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'), vp8];
}

function iceConfig(ice: IceOptions) {
  const v4 = ice.hosts.filter((h) => isIPv4(h));
  const v6 = ice.hosts.filter((h) => isIPv6(h));
  const interfaceAddresses: Record<string, string> = {};
  if (v4.length === 1) interfaceAddresses.udp4 = v4[0]!;
  if (v6.length === 1) interfaceAddresses.udp6 = v6[0]!;
  return {
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceUseTcp: false,
    iceAdditionalHostAddresses: ice.hosts,
    ...(Object.keys(interfaceAddresses).length > 0 ? { iceInterfaceAddresses: interfaceAddresses } : {}),
    ...(ice.portRange ? { icePortRange: ice.portRange } : {}),
  };
}

/** The codec the upstream answered per kind (its first payload type on each active m-line). */
export function answeredCodecs(answer: string): { video?: NegotiatedCodec; audio?: NegotiatedCodec } {
  const out: { video?: NegotiatedCodec; audio?: NegotiatedCodec } = {};
  for (const media of parseSdp(answer).media) {
    if (media.port === 0 || (media.kind !== 'video' && media.kind !== 'audio') || out[media.kind]) continue;
    const codec = media.codecs.find((c) => !['rtx', 'red', 'ulpfec', 'flexfec-03'].includes(c.name.toLowerCase()));
    if (!codec) continue;
    out[media.kind] = {
      kind: media.kind,
      name: codecLabel(codec),
      clockRate: codec.clockRate,
      payloadType: codec.payloadType,
      ...(codec.channels ? { channels: codec.channels } : {}),
      ...(codec.fmtp ? { fmtp: codec.fmtp } : {}),
    };
  }
  return out;
}

export class EdgePullPeer extends EventEmitter<{ state: [PeerState] }> implements PublisherPeer {
  state: PeerState = 'connecting';
  codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec } = {};
  /** The upstream's session resource (absolute URL), DELETEd on close. */
  resourceUrl: string | undefined;
  /** The upstream session's layer resource (the WHEP layer extension), when it announced one. */
  layerUrl: string | null = null;
  private readonly pc: RTCPeerConnection;
  private readonly rtpListeners: Array<(packet: InboundRtp) => void> = [];
  private readonly sourceSsrc: Partial<Record<MediaKind, number>> = {};
  private video: { transceiver: RTCRtpTransceiver; ssrc: number | undefined } | undefined;
  private closing: Promise<void> | undefined;

  private constructor(private readonly options: EdgePullOptions) {
    super();
    this.pc = new RTCPeerConnection({
      codecs: { video: offeredVideo(options.codecs), audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111 })] },
      ...iceConfig(options.ice),
    });
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') this.setState('connected');
      else if (state === 'failed') this.setState('failed');
      else if (state === 'closed') this.setState('closed');
    });
  }

  /** Offers, POSTs and applies the answer. Throws the upstream's problem (stream_offline, loop_detected, …) or upstream_unreachable. */
  static async open(options: EdgePullOptions): Promise<EdgePullPeer> {
    const peer = new EdgePullPeer(options);
    try {
      await peer.negotiate();
    } catch (error) {
      await peer.close();
      throw error;
    }
    return peer;
  }

  onRtp(listener: (packet: InboundRtp) => void): void {
    this.rtpListeners.push(listener);
  }

  requestKeyframe(): void {
    const video = this.video;
    if (video?.ssrc !== undefined && this.state === 'connected') video.transceiver.receiver.sendRtcpPLI(video.ssrc).catch(() => undefined);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.setState('closed');
      const resource = this.resourceUrl;
      // The upstream frees the session at once instead of at its consent timeout.
      if (resource) void fetch(resource, { method: 'DELETE', headers: this.options.headers, signal: AbortSignal.timeout(2_000) }).then((res) => res.body?.cancel()).catch(() => undefined);
      await this.pc.close().catch(() => undefined);
    })();
    return this.closing;
  }

  private async negotiate(): Promise<void> {
    const video = this.pc.addTransceiver('video', { direction: 'recvonly' });
    if (this.options.audio !== false) this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.video = { transceiver: video, ssrc: undefined };
    this.pc.onTrack.subscribe((track) => {
      if (track.kind === 'video' || track.kind === 'audio') this.receive(track, track.kind);
    });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await this.gathered();
    let response: Response;
    try {
      response = await fetch(this.options.whepUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', ...this.options.headers },
        body: this.pc.localDescription!.sdp,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (cause) {
      throw new OnairError('upstream_unreachable', `The stream's origin node did not answer (${this.options.whepUrl}: ${(cause as Error).message}).`, { cause, extensions: { retryAfterS: 2 } });
    }
    const text = await response.text();
    if (response.status !== 201) {
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not a problem document
      }
      throw problemFromResponse(response.status, body);
    }
    const location = response.headers.get('location');
    if (location) this.resourceUrl = new URL(location, this.options.whepUrl).toString();
    this.layerUrl = layerUrlFromLinkHeader(response.headers.get('link'), this.resourceUrl ?? this.options.whepUrl);
    this.codecs = answeredCodecs(text);
    if (!this.codecs.video && !this.codecs.audio) throw new OnairError('upstream_unreachable', 'The origin node answered the edge without a codec.');
    await this.pc.setRemoteDescription({ type: 'answer', sdp: text });
    this.options.log.debug({ upstream: this.options.whepUrl, video: this.codecs.video?.fmtp ?? this.codecs.video?.name, audio: this.codecs.audio?.name }, 'edge pull answered');
  }

  private receive(track: MediaStreamTrack, kind: MediaKind): void {
    track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
      const { header, payload } = rtp;
      if (payload.length === 0 && this.sourceSsrc[kind] === undefined) return;
      // The upstream rewrites every viewer's stream to one SSRC per kind; anything else is stray.
      const locked = (this.sourceSsrc[kind] ??= header.ssrc);
      if (header.ssrc !== locked) return;
      if (kind === 'video' && this.video) this.video.ssrc = locked;
      const packet: InboundRtp = { kind, sequenceNumber: header.sequenceNumber, timestamp: header.timestamp, ssrc: header.ssrc, payloadType: header.payloadType, marker: header.marker, payload, size: header.serializeSize + payload.length };
      for (const listener of this.rtpListeners) listener(packet);
    });
  }

  private gathered(): Promise<void> {
    if (this.pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const { unSubscribe } = this.pc.iceGatheringStateChange.subscribe((state) => {
        if (state === 'complete') {
          unSubscribe();
          resolve();
        }
      });
    });
  }

  private setState(state: PeerState): void {
    if (this.state === state || this.state === 'closed' || (this.state === 'failed' && state !== 'closed')) return;
    this.state = state;
    this.emit('state', state);
  }
}

/** Opens a pull and resolves once it is connected; rejects (closed) with why not. */
export async function openConnectedPull(options: EdgePullOptions): Promise<EdgePullPeer> {
  const peer = await EdgePullPeer.open(options);
  await whenConnected(peer, options.timeoutMs);
  return peer;
}

/** Resolves when the peer connects; rejects (closing it) on failure or after `timeoutMs`. */
export function whenConnected(peer: EdgePullPeer, timeoutMs: number): Promise<void> {
  if (peer.state === 'connected') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const settle = () => {
      clearTimeout(timer);
      peer.off('state', onState);
    };
    const fail = (why: string) => {
      settle();
      void peer.close();
      reject(new OnairError('upstream_unreachable', `The edge pull from the stream's origin ${why}.`, { extensions: { retryAfterS: 2 } }));
    };
    const onState = (state: PeerState) => {
      if (state === 'connected') {
        settle();
        resolve();
      } else if (state === 'failed' || state === 'closed') fail(`failed (ICE/DTLS ${state})`);
    };
    const timer = setTimeout(() => fail(`did not connect within ${timeoutMs} ms`), timeoutMs);
    peer.on('state', onState);
  });
}
