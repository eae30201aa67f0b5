/**
 * MediaEngine over werift. What this file knows about werift (FIELD-NOTES, werift 0.25 source):
 * - Codecs are matched by mimeType only, so the offer reaching here is already restricted to
 *   one codec per m-line and the local codec list is exactly that codec (its own fmtp).
 * - By default werift binds every interface and advertises all of them; here host gathering is
 *   switched off (`iceUseIpv4/6: false`) and the configured hosts are the only addresses
 *   advertised (`iceAdditionalHostAddresses`); sockets bind to the configured address per family
 *   (`iceInterfaceAddresses`). werift binds one address per family, so with several hosts of one
 *   family the sockets bind the wildcard address and only the configured ones are advertised.
 * - werift queries stun.l.google.com unless told otherwise: `iceServers: []`.
 * - TWCC is left out: with it on, Chrome collapsed to ~30 kbps; a periodic REMB bounds the
 *   publisher's rate instead.
 * - Simulcast (RFC 8853): werift answers every `a=rid … send` of the offer as `recv` and opens one
 *   track per rid, demultiplexed by the rtp-stream-id header extension (which must be negotiated)
 *   and by SSRC once a layer's packets no longer carry it. Its NACK handler is one per receiver and
 *   follows a single sequence, so with several layers it took every other layer's packets for
 *   losses and NACKed them: a simulcast publisher gets one handler per SSRC (per-ssrc-nack.ts).
 *   No RTX with simulcast (werift does not repair by rid); the offer is restricted to one codec anyway.
 * - A viewer's RTCP reaches us parsed into werift's objects (its transport's `onRtcp`); reports and
 *   REMB are read again by our own parsers and become the viewer's feedback, as in the
 *   libdatachannel engine (report-feedback.ts). werift sends the sender reports and keeps only the
 *   last one's time: each is noted as it is seen, for the reports that echo it.
 */
import { EventEmitter } from 'node:events';
import { isIPv4, isIPv6 } from 'node:net';
import {
  PictureLossIndication,
  ReceiverEstimatedMaxBitrate,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSrPacket,
  type MediaStreamTrack,
  type RTCRtpTransceiver,
  type RtpPacket,
  useAbsSendTime,
  useSdesMid,
  useSdesRTPStreamId,
} from 'werift';
import { OnairError } from '@onair/shared/errors';
import type { TrickleFragment } from '@onair/shared/sdp';
import type { Logger } from '@onair/service/logger';
import type { InboundRtp, MediaEngine, MediaKind, MediaPeer, NegotiatedCodec, OutboundRtp, PeerOptions, PeerState, PublisherPeer, SdpPeer, ViewerFeedback, ViewerPeer } from './engine';
import { offerRefused } from './engine';
import { PerSsrcNack } from './per-ssrc-nack';
import { SendLog, type SentSenderReport, type TrackSending, viewerFeedback } from './report-feedback';
import { parseRtcp } from './rtcp/parse-rtcp';
import type { NativeSrtpSend } from './native-send';
import { nominatedSocket, WeriftFastSender } from './werift-fast-sender';

/**
 * Receive buffer asked for on a publisher's media socket (the kernel caps it at
 * net.core.rmem_max). At Linux's default ~208 KiB, a keyframe burst arriving while the ingest is
 * busy fanning the previous frame out to hundreds of viewers overflowed it, and every viewer
 * lost those packets (the fan-out bench's "upstream loss"); libwebrtc asks for more too.
 */
const PUBLISHER_RECEIVE_BUFFER_BYTES = 4 << 20;
/** The rmem_max warning is said once per process. */
let receiveBufferWarned = false;
/** Ceiling announced to publishers by REMB (bits/s): Chrome's loss-based estimate ramps up to it. */
const PUBLISHER_REMB_BPS = 8_000_000;
const REMB_INTERVAL_MS = 1000;
/** Packets remembered per viewer's video track for its reports' backlog: as many as the libdatachannel engine keeps (a keyframe and more). */
const SEND_LOG_PACKETS = 1024;
/** Our sender reports remembered per track to match a report's LSR (werift sends one every 0.5–1.5 s). */
const SENDER_REPORTS_KEPT = 16;

function toWeriftCodec(codec: NegotiatedCodec): RTCRtpCodecParameters {
  const video = codec.kind === 'video';
  return new RTCRtpCodecParameters({
    mimeType: `${codec.kind}/${codec.name}`,
    clockRate: codec.clockRate,
    payloadType: codec.payloadType,
    ...(codec.channels ? { channels: codec.channels } : {}),
    ...(codec.fmtp ? { parameters: codec.fmtp } : {}),
    rtcpFeedback: video
      ? [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'goog-remb' }]
      : [],
  });
}

/** An ICE-lite viewer not heard from for this long is failed (RFC 7675's consent expiry is 30 s). */
export const LITE_SILENCE_MS = 30_000;

function iceConfig(hosts: string[], portRange: [number, number] | undefined) {
  const v4 = hosts.filter((h) => isIPv4(h));
  const v6 = hosts.filter((h) => isIPv6(h));
  const interfaceAddresses: Record<string, string> = {};
  if (v4.length === 1) interfaceAddresses.udp4 = v4[0]!;
  if (v6.length === 1) interfaceAddresses.udp6 = v6[0]!;
  return {
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceUseTcp: false,
    iceAdditionalHostAddresses: hosts,
    ...(Object.keys(interfaceAddresses).length > 0 ? { iceInterfaceAddresses: interfaceAddresses } : {}),
    ...(portRange ? { icePortRange: portRange } : {}),
  };
}

/**
 * werift 0.25 stops scheduling checks once it was told the remote candidates ended and its check
 * list is empty, and then fails the connection even when the peer's own checks reach it (a
 * peer-reflexive pair, RFC 8445 §7.3.1.3). That is every Firefox: its offer ends with
 * `a=end-of-candidates` and its host candidates are mDNS names the ingest does not resolve
 * (Firefox said ICE connected, werift never did). Without the marker werift keeps listening
 * until the connect timeout; it only loses the early "failed" it would have reported.
 */
function withoutEndOfCandidates(offer: string): string {
  return offer.replace(/^a=end-of-candidates\r?\n/gm, '');
}

function remoteUfrag(offer: string): string | undefined {
  return /^a=ice-ufrag:(\S+)/m.exec(offer)?.[1];
}

abstract class WeriftPeer extends EventEmitter<{ state: [PeerState] }> implements MediaPeer, SdpPeer {
  answer = '';
  state: PeerState = 'connecting';
  readonly remoteIceUfrag: string | undefined;
  protected readonly pc: RTCPeerConnection;
  private closing: Promise<void> | undefined;

  /** Lite only: when the player was last heard from (RTCP), and the check on it. */
  protected lastHeardAt = performance.now();
  private silenceCheck: NodeJS.Timeout | undefined;

  constructor(
    protected readonly options: PeerOptions,
    iceLite = false,
    silenceMs = LITE_SILENCE_MS,
  ) {
    super();
    if (iceLite) {
      // A lite agent sends no consent checks (RFC 7675's are the full agent's), so nothing would
      // notice a player that vanished without DELETE: its silence does — players send RTCP
      // reports every second or so. The session then fails and is closed, as on consent expiry.
      this.silenceCheck = setInterval(() => {
        if (this.state === 'connected' && performance.now() - this.lastHeardAt > silenceMs) this.setState('failed');
      }, Math.min(5000, silenceMs / 3));
      this.silenceCheck.unref();
    }
    this.remoteIceUfrag = remoteUfrag(options.offer);
    const { video, audio } = options.codecs;
    this.pc = new RTCPeerConnection({
      // werift's default is Google's public STUN server: every session looked it up and queried it
      // (and, offline, held the answer 5 s for the srflx gathering to time out). The ingest's own
      // addresses are what it advertises; ONAIR_ICE_SERVERS are for clients.
      iceServers: [],
      codecs: { video: video ? [toWeriftCodec(video)] : [], audio: audio ? [toWeriftCodec(audio)] : [] },
      // rtp-stream-id (RFC 8852) only with simulcast: it is what tells the layers apart.
      headerExtensions: { video: [useSdesMid(), useAbsSendTime(), ...(options.simulcast ? [useSdesRTPStreamId()] : [])], audio: [useSdesMid()] },
      ...iceConfig(options.ice.hosts, options.ice.portRange),
      // A viewer's ingest is ICE-lite (RFC 8445 §2.5): it answers the player's checks and sends
      // none, so the pair is up once the player has nominated it, not after our own checks on
      // top (WHEP first frame 224 → 133 ms p50 on Chromium, bench/latency.ts --only=watch-page);
      // and no check of ours goes to an address a stranger named in an offer.
      ...(iceLite ? { iceLite: true } : {}),
    });
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') this.setState('connected');
      else if (state === 'failed') this.setState('failed');
      else if (state === 'closed') this.setState('closed');
    });
  }

  /** Applies the offer, lets the subclass set up transceivers, answers with all candidates. */
  protected async negotiate(direction: 'recvonly' | 'sendonly'): Promise<void> {
    let answer: Awaited<ReturnType<RTCPeerConnection['createAnswer']>>;
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: withoutEndOfCandidates(this.options.offer) });
      for (const transceiver of this.pc.getTransceivers()) {
        if (transceiver.kind !== 'audio' && transceiver.kind !== 'video') continue;
        transceiver.setDirection(direction);
        // A viewer answers `passive`: the DTLS server, so the player sends its ClientHello when its
        // side of the pair is up. As client, werift's went out when ours was, and the player held
        // it ~100 ms (datachannel-engine.ts's asDtlsClientOffer; werift takes a role from an
        // answer only, hence set here).
        if (direction === 'sendonly') transceiver.dtlsTransport.role = 'server';
        this.setupTransceiver(transceiver);
      }
      answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
    } catch (error) {
      // werift refuses what our SDP checks let through (`m=video 9/2 …`, an `a=sctp-port` without
      // a value): the offer's fault, a 400 — not a 500 with a stack in the log.
      if (error instanceof OnairError) throw error;
      throw offerRefused(error);
    }
    await this.gathered();
    this.answer = this.pc.localDescription?.sdp ?? answer.sdp;
    // werift answers even when it bound no socket (ONAIR_ICE_PORT_RANGE used up): an answer
    // without a candidate cannot connect, and a 201 for it once replaced a working publisher.
    if (!/^a=candidate:/m.test(this.answer)) throw new OnairError('unavailable', 'No media port is free right now (ONAIR_ICE_PORT_RANGE is used up). Try again shortly.');
  }

  protected abstract setupTransceiver(transceiver: RTCRtpTransceiver): void;

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

  async addRemoteCandidates(fragment: TrickleFragment): Promise<void> {
    for (const media of fragment.media) {
      for (const candidate of media.candidates) {
        try {
          await this.pc.addIceCandidate({ candidate: `candidate:${candidate}`, sdpMid: media.mid, sdpMLineIndex: media.mLineIndex });
        } catch {
          // A candidate werift cannot place (a mid the offer did not have): ignored, like any
          // other candidate that cannot be used; the others still apply.
        }
      }
    }
    // `fragment.endOfCandidates` is not passed on: see withoutEndOfCandidates.
  }

  close(): Promise<void> {
    clearInterval(this.silenceCheck);
    this.closing ??= (async () => {
      this.onClose();
      this.setState('closed');
      await this.pc.close().catch(() => undefined);
    })();
    return this.closing;
  }

  protected onClose(): void {}

  private setState(state: PeerState): void {
    if (this.state === state || this.state === 'closed' || (this.state === 'failed' && state !== 'closed')) return;
    this.state = state;
    this.emit('state', state);
  }
}

class WeriftPublisher extends WeriftPeer implements PublisherPeer {
  readonly codecs: PeerOptions['codecs'];
  readonly simulcast: readonly string[] | undefined;
  private readonly rtpListeners: Array<(packet: InboundRtp) => void> = [];
  private readonly sourceSsrc: Partial<Record<MediaKind, number>> = {};
  private videoReceiver: { ssrc: number; send: (ssrc: number) => Promise<void> } | undefined;
  /** Simulcast: each layer's SSRC by rid, and the reverse, as packets reveal them. */
  private readonly layerSsrc = new Map<string, number>();
  private readonly ridOfSsrc = new Map<number, string>();
  private readonly rembTimer: NodeJS.Timeout;
  private readonly log: Logger | undefined;

  constructor(options: PeerOptions & { log?: Logger }) {
    super(options);
    this.codecs = options.codecs;
    this.simulcast = options.simulcast && options.simulcast.length > 1 ? [...options.simulcast] : undefined;
    this.log = options.log;
    this.rembTimer = setInterval(() => this.sendRemb(), REMB_INTERVAL_MS);
    this.rembTimer.unref();
    this.on('state', (state) => {
      if (state === 'connected') this.enlargeReceiveBuffer();
    });
  }

  private enlargeReceiveBuffer(): void {
    for (const transceiver of this.pc.getTransceivers()) {
      const socket = nominatedSocket(transceiver.dtlsTransport);
      if (!socket) continue;
      try {
        socket.setRecvBufferSize(PUBLISHER_RECEIVE_BUFFER_BYTES);
        // Linux reports twice what it grants; below the request means net.core.rmem_max capped it.
        const granted = socket.getRecvBufferSize() / 2;
        if (granted < PUBLISHER_RECEIVE_BUFFER_BYTES && !receiveBufferWarned) {
          receiveBufferWarned = true;
          this.log?.warn({ grantedKiB: Math.round(granted / 1024), wantedKiB: PUBLISHER_RECEIVE_BUFFER_BYTES / 1024 }, `the kernel caps publishers' UDP receive buffers (net.core.rmem_max); under load, keyframe bursts may be dropped — raise it: sysctl -w net.core.rmem_max=${PUBLISHER_RECEIVE_BUFFER_BYTES}`);
        }
      } catch {
        // closed meanwhile
      }
    }
  }

  static async create(options: PeerOptions & { log?: Logger }): Promise<WeriftPublisher> {
    const peer = new WeriftPublisher(options);
    try {
      await peer.negotiate('recvonly');
    } catch (error) {
      await peer.close();
      throw error;
    }
    return peer;
  }

  onRtp(listener: (packet: InboundRtp) => void): void {
    this.rtpListeners.push(listener);
  }

  requestKeyframe(rid?: string): void {
    if (!this.videoReceiver || this.state !== 'connected') return;
    const ssrc = rid === undefined ? this.videoReceiver.ssrc : this.layerSsrc.get(rid);
    if (ssrc !== undefined) this.videoReceiver.send(ssrc).catch(() => undefined);
  }

  protected setupTransceiver(transceiver: RTCRtpTransceiver): void {
    const kind = transceiver.kind as MediaKind;
    if (!this.codecs[kind]) return;
    // werift 0.25 fires the track event inside setRemoteDescription (before this runs) for the
    // receiver's own track, and later ones through onTrack: take both, once each.
    const seen = new Set<MediaStreamTrack>();
    const simulcast = kind === 'video' && this.simulcast !== undefined;
    if (simulcast) PerSsrcNack.install(transceiver.receiver);
    const attach = (track: MediaStreamTrack) => {
      if (seen.has(track)) return;
      seen.add(track);
      if (kind === 'video' && track.ssrc !== undefined) {
        this.videoReceiver = { ssrc: track.ssrc, send: (ssrc) => transceiver.receiver.sendRtcpPLI(ssrc) };
      }
      track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
        if (kind === 'video' && !this.videoReceiver) this.videoReceiver = { ssrc: rtp.header.ssrc, send: (ssrc) => transceiver.receiver.sendRtcpPLI(ssrc) };
        if (simulcast) {
          this.receiveLayer(track, rtp);
          return;
        }
        const { header, payload } = rtp;
        // Padding-only probes carry no media but are numbered in the media sequence (Chrome
        // without RTX probes on the media SSRC): the router must see them to keep viewers'
        // numbering free of holes. They never choose the source.
        if (payload.length === 0 && this.sourceSsrc[kind] === undefined) return;
        // One source per kind: a second SSRC (simulcast layer, stray stream) would make every
        // viewer's rewriter re-base on each packet. The first SSRC seen is the track.
        const locked = (this.sourceSsrc[kind] ??= header.ssrc);
        if (header.ssrc !== locked) return;
        this.emitRtp(inboundRtp(kind, rtp));
      });
    };
    const own = (transceiver.receiver as { track?: MediaStreamTrack }).track;
    if (own) attach(own);
    for (const track of transceiver.receiver.tracks) attach(track);
    transceiver.onTrack.subscribe((track) => attach(track));
  }

  /**
   * A simulcast layer's packet: its rid comes from the track werift routed it to (by the
   * rtp-stream-id extension), or — for a packet that reached a track without one (an SSRC the
   * offer declared) — from the SSRC the layer was first seen on.
   */
  private receiveLayer(track: MediaStreamTrack, rtp: RtpPacket): void {
    const { header } = rtp;
    let rid = track.rid;
    if (rid !== undefined && this.simulcast!.includes(rid)) {
      if (this.layerSsrc.get(rid) !== header.ssrc) {
        // A layer's encoder restarted on a new SSRC: the old one no longer names it.
        const previous = this.layerSsrc.get(rid);
        if (previous !== undefined) this.ridOfSsrc.delete(previous);
        this.layerSsrc.set(rid, header.ssrc);
        this.ridOfSsrc.set(header.ssrc, rid);
      }
    } else {
      rid = this.ridOfSsrc.get(header.ssrc);
    }
    if (rid === undefined) return;
    this.emitRtp(inboundRtp('video', rtp, rid));
  }

  private emitRtp(packet: InboundRtp): void {
    for (const listener of this.rtpListeners) listener(packet);
  }

  private sendRemb(): void {
    if (this.state !== 'connected' || !this.videoReceiver) return;
    const dtls = this.pc.getTransceivers().find((t) => t.kind === 'video')?.dtlsTransport;
    if (!dtls) return;
    // The ceiling is for the whole publisher: every simulcast layer shares it (RFC draft-alvestrand-rmcat-remb §2.2).
    const ssrcs = this.layerSsrc.size > 0 ? [...this.layerSsrc.values()] : [this.videoReceiver.ssrc];
    const remb = new ReceiverEstimatedMaxBitrate({ senderSsrc: 1, mediaSsrc: 0, ssrcNum: ssrcs.length, ssrcFeedbacks: ssrcs, bitrate: BigInt(PUBLISHER_REMB_BPS) });
    // werift derives exponent/mantissa from these two when serializing.
    remb.brExp = 0;
    while (PUBLISHER_REMB_BPS / 2 ** remb.brExp > 0x3ffff) remb.brExp += 1;
    remb.brMantissa = Math.floor(PUBLISHER_REMB_BPS / 2 ** remb.brExp);
    dtls.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: remb })]).catch(() => undefined);
  }

  protected override onClose(): void {
    clearInterval(this.rembTimer);
  }
}

/** werift's record of the last sender report an RTCRtpSender sent (werift 0.25 `runRtcp`; private there). */
interface SenderReportState {
  /** Middle 32 bits of the NTP time the SR carried: what a receiver echoes as LSR. */
  lastSRtimestamp?: number;
  /** When it left: Date.now() / 1000. */
  lastSentSRTimestamp?: number;
}

/** One send track, as reportFeedback (report-feedback.ts) reads it. */
interface ViewerTrack extends TrackSending {
  sender: RTCRtpTransceiver['sender'];
  history: SendLog | undefined;
  senderReports: SentSenderReport[];
  /** werift's `lastSentSRTimestamp` of the last SR remembered in senderReports. */
  noticedReportAt: number | undefined;
}

class WeriftViewer extends WeriftPeer implements ViewerPeer {
  readonly codecs: PeerOptions['codecs'] = {};
  readonly sent = { packets: 0, bytes: 0 };
  private readonly senders = new Map<MediaKind, RTCRtpTransceiver>();
  private readonly fastSenders = new Map<MediaKind, WeriftFastSender>();
  private readonly tracks = new Map<MediaKind, ViewerTrack>();
  private readonly keyframeListeners: Array<(kind: 'pli' | 'fir') => void> = [];
  private readonly feedbackListeners: Array<(feedback: ViewerFeedback) => void> = [];

  private constructor(
    options: PeerOptions,
    private readonly nativeSend: NativeSrtpSend | undefined,
    silenceMs: number | undefined,
  ) {
    super(options, true, silenceMs);
  }

  static async create(options: PeerOptions, nativeSend?: NativeSrtpSend, silenceMs?: number): Promise<WeriftViewer> {
    const peer = new WeriftViewer(options, nativeSend, silenceMs);
    try {
      await peer.negotiate('sendonly');
      for (const [kind, transceiver] of peer.senders) {
        const codec = transceiver.sender.codec;
        const wanted = options.codecs[kind];
        if (codec && wanted) peer.codecs[kind] = { ...wanted, payloadType: codec.payloadType };
        peer.tracks.set(kind, {
          kind, ssrc: transceiver.sender.ssrc, clockRate: codec?.clockRate ?? wanted?.clockRate ?? 90_000, payloadOctets: 0, lastPacketAt: 0,
          // Video only, as the libdatachannel engine: the rate controller reads video reports.
          history: kind === 'video' ? new SendLog(SEND_LOG_PACKETS) : undefined, senderReports: [], sender: transceiver.sender, noticedReportAt: undefined,
        });
      }
      peer.listenToReports();
    } catch (error) {
      await peer.close();
      throw error;
    }
    return peer;
  }

  ssrc(kind: MediaKind): number | undefined {
    return this.senders.get(kind)?.sender.ssrc;
  }

  send(kind: MediaKind, packet: OutboundRtp): void {
    const sender = this.fastSenders.get(kind);
    if (!sender || this.state !== 'connected') return;
    const bytes = sender.send(packet);
    if (bytes === 0) return;
    this.sent.packets += 1;
    this.sent.bytes += bytes;
    const track = this.tracks.get(kind);
    if (!track) return;
    const now = performance.now();
    track.payloadOctets += packet.payload.length;
    track.lastPacketAt = now;
    track.history?.record(packet.sequenceNumber, now, track.payloadOctets);
    if ((track.sender as unknown as SenderReportState).lastSentSRTimestamp !== track.noticedReportAt) this.noteSenderReport(track, now);
  }

  onKeyframeRequest(listener: (kind: 'pli' | 'fir') => void): void {
    this.keyframeListeners.push(listener);
  }

  onFeedback(listener: (feedback: ViewerFeedback) => void): void {
    this.feedbackListeners.push(listener);
  }

  protected override onClose(): void {
    for (const sender of this.fastSenders.values()) sender.close();
    this.keyframeListeners.length = 0;
    this.feedbackListeners.length = 0;
  }

  /**
   * The viewer's reception reports and REMB, as feedback. werift hands every RTCP packet of a
   * transport to `onRtcp` parsed into its own objects; the ones that say something about the path
   * are serialized back and read by our parsers (rtcp/), as the libdatachannel engine reads its
   * bytes: werift routes an SR's blocks by the SR's sender (not to our sender), and reads the
   * cumulative loss unsigned (RFC 3550 §6.4.1: signed 24 bits). With BUNDLE both tracks share a
   * transport: listened to once.
   */
  private listenToReports(): void {
    const transports = new Set([...this.senders.values()].map((transceiver) => transceiver.dtlsTransport));
    for (const transport of transports) {
      transport.onRtcp.subscribe((rtcp) => {
        this.lastHeardAt = performance.now();
        if (this.feedbackListeners.length === 0) return;
        const report = rtcp instanceof RtcpRrPacket || rtcp instanceof RtcpSrPacket;
        if (!report && !(rtcp instanceof RtcpPayloadSpecificFeedback && rtcp.feedback instanceof ReceiverEstimatedMaxBitrate)) return;
        const now = performance.now();
        if (report) for (const track of this.tracks.values()) this.noteSenderReport(track, now);
        const tracks = [...this.tracks.values()];
        for (const message of parseRtcp(rtcp.serialize())) {
          for (const feedback of viewerFeedback(message, tracks, now)) for (const listener of this.feedbackListeners) listener(feedback);
        }
      });
    }
  }

  /**
   * werift sends our sender reports itself (WeriftFastSender starts its loop) and keeps only the
   * last, where a report may echo an earlier one (the player held it while we sent the next): each
   * is remembered here as soon as it is noticed — by the next packet sent or report received. Its
   * send time is moved onto performance.now's clock.
   */
  private noteSenderReport(track: ViewerTrack, now: number): void {
    const { lastSRtimestamp: ntp, lastSentSRTimestamp: sentSeconds } = track.sender as unknown as SenderReportState;
    if (ntp === undefined || sentSeconds === undefined || sentSeconds === track.noticedReportAt) return;
    track.noticedReportAt = sentSeconds;
    track.senderReports.push({ ntp, sentAt: now - (Date.now() - sentSeconds * 1000) });
    if (track.senderReports.length > SENDER_REPORTS_KEPT) track.senderReports.shift();
  }

  protected setupTransceiver(transceiver: RTCRtpTransceiver): void {
    const kind = transceiver.kind as MediaKind;
    if (!this.options.codecs[kind] || this.senders.has(kind)) return;
    this.senders.set(kind, transceiver);
    this.fastSenders.set(kind, new WeriftFastSender(transceiver.sender, this.nativeSend, kind === 'video'));
    const onRtcp = (rtcp: unknown) => {
      if (!(rtcp instanceof RtcpPayloadSpecificFeedback)) return;
      if (rtcp.feedback.mediaSsrc !== transceiver.sender.ssrc && !(rtcp.feedback.count === 4)) return;
      // werift does not export FullIntraRequest; its FMT (RFC 5104 §4.3.1: 4) identifies it.
      const type = rtcp.feedback instanceof PictureLossIndication ? 'pli' : rtcp.feedback.count === 4 ? 'fir' : undefined;
      if (type) for (const listener of this.keyframeListeners) listener(type);
    };
    // werift routes a PSFB by its sender SSRC first: a viewer's PLI whose sender SSRC is one the
    // viewer announced lands on this transceiver's receiver, not its sender. Listen on both.
    transceiver.sender.onRtcp.subscribe(onRtcp);
    transceiver.receiver.onRtcp.subscribe(onRtcp);
  }
}

export class WeriftEngine implements MediaEngine {
  /**
   * `nativeSend`: viewers' packets are protected and sent by the addon (native-send.ts);
   * `viewerSilenceMs`: a connected viewer not heard from for this long fails (LITE_SILENCE_MS).
   */
  constructor(private readonly engineOptions: { log?: Logger; nativeSend?: NativeSrtpSend; viewerSilenceMs?: number } = {}) {}

  createPublisher(options: PeerOptions): Promise<PublisherPeer & SdpPeer> {
    return WeriftPublisher.create({ ...options, log: this.engineOptions.log });
  }

  createViewer(options: PeerOptions): Promise<ViewerPeer & SdpPeer> {
    return WeriftViewer.create(options, this.engineOptions.nativeSend, this.engineOptions.viewerSilenceMs);
  }
}

/** A received werift packet as the router's InboundRtp. */
function inboundRtp(kind: MediaKind, { header, payload }: RtpPacket, rid?: string): InboundRtp {
  const packet: InboundRtp = {
    kind,
    sequenceNumber: header.sequenceNumber,
    timestamp: header.timestamp,
    ssrc: header.ssrc,
    payloadType: header.payloadType,
    marker: header.marker,
    payload,
    size: header.serializeSize + payload.length,
  };
  if (rid !== undefined) packet.rid = rid;
  return packet;
}
