/**
 * Viewer peers over node-datachannel (libdatachannel: libjuice ICE, OpenSSL DTLS, libSRTP), for
 * the fan-out. Why: forwarding one packet to one viewer costs ~13–15 µs in werift even on our
 * own send path (werift-fast-sender.ts), most of it Node's per-packet AES-GCM objects and one
 * `dgram` send; libSRTP and a plain `sendto` in C++ do it in ~5 µs (bench/fanout.ts,
 * bench/lib/fanout-ndc-eval.ts). Publishers stay on werift (one per stream, RTP in).
 *
 * What this file does itself, because node-datachannel 0.33 leaves it to the application:
 * - The answer's media sections are built here (codec with the viewer's payload type and fmtp,
 *   our SSRC) and matched to the offer's mids, so libdatachannel answers exactly that.
 * - A send track's incoming RTCP arrives as bytes (no media handler is attached): PLI and FIR
 *   go to the router, NACKs are answered from a ring of recently sent packets (RFC 4585 §6.2.1,
 *   paced in retransmit.ts),
 *   reception reports (with the round-trip time from our sender reports) and REMB go to the
 *   router as the viewer's feedback for its rate controller.
 * - Sender reports (RFC 3550 §6.4.1) every second, so the player can synchronise audio and video.
 *
 * ICE: libdatachannel binds one address, so this engine serves one ICE host (the composite in
 * create-engine.ts uses werift for viewers when more are configured).
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { randomBytes, randomInt } from 'node:crypto';
import type * as Ndc from 'node-datachannel';
import { OnairError } from '@onair/shared/errors';
import { parseSdp, type TrickleFragment } from '@onair/shared/sdp';
import type { MediaEngine, MediaKind, NegotiatedCodec, OutboundRtp, PeerOptions, PeerState, PublisherPeer, SdpPeer, ViewerFeedback, ViewerPeer } from './engine';
import { offerRefused } from './engine';
import { viewerFeedback } from './report-feedback';
import { parseRtcp } from './rtcp/parse-rtcp';
import { resendHoldoffMs, RetransmitBudget, RetransmitRing } from './retransmit';
import { REPORT_SMOOTHING, SendClock } from './rtcp/send-clock';
import { buildSenderReport, ntpMiddle32 } from './rtcp/sender-report';

// node-datachannel is CommonJS with a native addon; loaded once, on first use.
const requireCjs = createRequire(import.meta.url);
let ndcModule: typeof Ndc | undefined;
function ndc(): typeof Ndc {
  ndcModule ??= requireCjs('node-datachannel') as typeof Ndc;
  return ndcModule;
}

const SENDER_REPORT_INTERVAL_MS = 1000;
/** Sender reports remembered per track to match a reception report's LSR (8 s at one a second, 4.8 s while fast). */
const SENDER_REPORTS_KEPT = 24;
/** libjuice gathers host candidates at once; this only bounds a broken network stack. */
const GATHERING_TIMEOUT_MS = 5000;

/**
 * The buffer every send is framed in: node-datachannel copies what it is given synchronously, so
 * one buffer serves every send. Header and payload are written per send (the router sends a
 * burst viewer by viewer, so consecutive sends rarely share a payload: a 1.2 KB memcpy, ~2 % of
 * a send).
 */
class RtpFrame {
  private buffer = Buffer.alloc(1500);

  frame(packet: OutboundRtp): Buffer {
    const length = 12 + packet.payload.length;
    if (length > this.buffer.length) this.buffer = Buffer.alloc(length);
    const b = this.buffer;
    b[0] = 0x80;
    b[1] = (packet.marker ? 0x80 : 0) | (packet.payloadType & 0x7f);
    b.writeUInt16BE(packet.sequenceNumber & 0xffff, 2);
    b.writeUInt32BE(packet.timestamp >>> 0, 4);
    b.writeUInt32BE(packet.ssrc >>> 0, 8);
    packet.payload.copy(b, 12);
    return b.subarray(0, length);
  }
}

const sharedFrame = new RtpFrame();

/** What a send track needs for its sender reports. */
interface SendTrack {
  kind: MediaKind;
  track: Ndc.Track;
  ssrc: number;
  clockRate: number;
  open: boolean;
  packets: number;
  payloadOctets: number;
  /** The track's RTP clock against performance.now(), from its frames as they left (its sender reports say it). */
  clock: SendClock;
  /** When the last packet of any frame left (performance.now). */
  lastPacketAt: number;
  history: RetransmitRing | undefined;
  /** Our last sender reports: the NTP middle 32 bits each carried and when it left (performance.now). */
  senderReports: Array<{ ntp: number; sentAt: number }>;
}

/**
 * The offer as libdatachannel is told it: an `actpass` offerer (every browser) made `active`, so
 * libdatachannel answers `passive` and is the DTLS server. Answering `active` (RFC 5763 §5's
 * SHOULD) made libdatachannel send its ClientHello the moment its own ICE side connected, before
 * the player's side was ready for it: the flight was lost and the handshake waited for the 1 s
 * retransmission (measured against werift: DTLS done at ~1010 ms, ICE at ~22 ms). `actpass`
 * lets the offerer take either role (RFC 8842 §5.3), and it reads ours from the answer.
 */
export function asDtlsClientOffer(offer: string): string {
  return offer.replace(/^a=setup:actpass(\r?)$/gm, 'a=setup:active$1');
}

function mediaSection(kind: MediaKind, mid: string, codec: NegotiatedCodec, ssrc: number, cname: string): Ndc.Video | Ndc.Audio {
  const { Video, Audio } = ndc();
  const trackId = `${kind}-${ssrc.toString(16)}`;
  if (kind === 'video') {
    const video = new Video(mid, 'SendOnly');
    // libdatachannel writes rtcp-fb nack, nack pli and goog-remb with every video codec.
    // The binding refuses an undefined profile argument: pass it only when there is one.
    if (codec.fmtp) video.addVideoCodec(codec.payloadType, codec.name, codec.fmtp);
    else video.addVideoCodec(codec.payloadType, codec.name);
    video.addSSRC(ssrc, cname, 'onair', trackId);
    return video;
  }
  const audio = new Audio(mid, 'SendOnly');
  // addAudioCodec writes `<name>/48000/2`: opus is the only audio codec onair accepts (sdp.ts).
  if (codec.fmtp) audio.addAudioCodec(codec.payloadType, codec.name, codec.fmtp);
  else audio.addAudioCodec(codec.payloadType, codec.name);
  audio.addSSRC(ssrc, cname, 'onair', trackId);
  return audio;
}

/** An m-line onair sends nothing on (a kind the stream lacks, a second video): answered inactive. */
function inactiveSection(kind: 'video' | 'audio', mid: string, codec: { payloadType: number; name: string }): Ndc.Video | Ndc.Audio {
  const { Video, Audio } = ndc();
  // An m-line lists at least one format (RFC 8866 §5.14): the offer's first.
  if (kind === 'video') {
    const video = new Video(mid, 'Inactive');
    video.addVideoCodec(codec.payloadType, codec.name);
    return video;
  }
  const audio = new Audio(mid, 'Inactive');
  audio.addAudioCodec(codec.payloadType, codec.name);
  return audio;
}

class DatachannelViewer extends EventEmitter<{ state: [PeerState] }> implements ViewerPeer, SdpPeer {
  answer = '';
  state: PeerState = 'connecting';
  readonly remoteIceUfrag: string | undefined;
  readonly codecs: PeerOptions['codecs'] = {};
  readonly sent = { packets: 0, bytes: 0 };
  private readonly pc: Ndc.PeerConnection;
  private readonly tracks: Partial<Record<MediaKind, SendTrack>> = {};
  private readonly keyframeListeners: Array<(kind: 'pli' | 'fir') => void> = [];
  private readonly feedbackListeners: Array<(feedback: ViewerFeedback) => void> = [];
  private readonly cname = randomBytes(8).toString('hex');
  private readonly reportTimer: NodeJS.Timeout;
  private closed = false;
  /** libdatachannel says connected (ICE + DTLS); the tracks open just after (see maybeConnected). */
  private transportConnected = false;
  private readonly retransmitBudget = new RetransmitBudget();
  /** The round trip to the viewer, queue included, from its latest video report (RTT or how far behind our sending it was, whichever is more), ms. */
  private roundTripMs = 0;
  /** The other m-lines' inactive tracks: kept referenced for as long as the peer lives. */
  private readonly inactiveTracks: Ndc.Track[] = [];

  private constructor(private readonly options: PeerOptions) {
    super();
    this.remoteIceUfrag = /^a=ice-ufrag:(\S+)/m.exec(options.offer)?.[1];
    const [host] = options.ice.hosts;
    const range = options.ice.portRange;
    this.pc = new (ndc().PeerConnection)(`whep-${this.cname}`, {
      iceServers: [],
      ...(host ? { bindAddress: host } : {}),
      ...(range ? { portRangeBegin: range[0], portRangeEnd: range[1] } : {}),
      enableIceTcp: false,
    });
    this.pc.onStateChange((state) => {
      if (state === 'connected') {
        this.transportConnected = true;
        this.maybeConnected();
      } else if (state === 'failed') this.setState('failed');
      else if (state === 'closed') this.setState('closed');
    });
    this.reportTimer = setInterval(() => this.sendReports(), SENDER_REPORT_INTERVAL_MS);
    this.reportTimer.unref();
  }

  static async create(options: PeerOptions): Promise<DatachannelViewer> {
    const peer = new DatachannelViewer(options);
    try {
      await peer.negotiate();
    } catch (error) {
      await peer.close();
      // libdatachannel refuses what our SDP checks let through (a fingerprint of the wrong
      // length), and fails to gather when the ICE port range is used up: neither is a bug here.
      if (/gather/i.test(error instanceof Error ? error.message : String(error))) throw new OnairError('unavailable', 'No media port is free for another viewer right now (ONAIR_ICE_PORT_RANGE is used up). Try again shortly.');
      throw offerRefused(error);
    }
    return peer;
  }

  private async negotiate(): Promise<void> {
    // Settled only by gathering; the timeout below starts once the offer is applied, so a refused
    // offer leaves no timer behind (a rejection nobody awaits would end the process).
    let markGathered!: () => void;
    const gathered = new Promise<void>((resolve) => (markGathered = resolve));
    this.pc.onGatheringStateChange((state) => {
      if (state === 'complete') markGathered();
    });
    // A local track with the offer's mid is answered as built here (libdatachannel prefers the
    // local description of a mid). Other audio/video m-lines are answered inactive.
    for (const { kind, mid, formats, codecs } of parseSdp(this.options.offer).media) {
      if ((kind !== 'video' && kind !== 'audio') || mid === undefined) continue;
      const firstCodec = codecs.find((c) => c.payloadType === formats[0]);
      const codec = this.options.codecs[kind];
      if (!codec || this.tracks[kind]) {
        if (firstCodec) this.inactiveTracks.push(this.pc.addTrack(inactiveSection(kind, mid, firstCodec)));
        continue;
      }
      const ssrc = randomInt(1, 0xffffffff);
      const track = this.pc.addTrack(mediaSection(kind, mid, codec, ssrc, this.cname));
      const sendTrack: SendTrack = {
        kind, track, ssrc, clockRate: codec.clockRate, open: false, packets: 0, payloadOctets: 0, clock: new SendClock(codec.clockRate, REPORT_SMOOTHING), lastPacketAt: 0,
        history: kind === 'video' ? new RetransmitRing() : undefined, senderReports: [],
      };
      track.onOpen(() => {
        sendTrack.open = true;
        this.maybeConnected();
      });
      track.onClosed(() => (sendTrack.open = false));
      track.onMessage((message) => this.onRtcp(sendTrack, message));
      this.tracks[kind] = sendTrack;
      this.codecs[kind] = codec;
    }
    this.pc.setRemoteDescription(asDtlsClientOffer(this.options.offer), 'offer');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([gathered, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('ICE gathering did not complete')), GATHERING_TIMEOUT_MS)))]);
    } finally {
      clearTimeout(timer);
    }
    const local = this.pc.localDescription();
    if (!local || local.type !== 'answer') throw new Error('libdatachannel produced no answer');
    this.answer = local.sdp;
  }

  ssrc(kind: MediaKind): number | undefined {
    return this.tracks[kind]?.ssrc;
  }

  send(kind: MediaKind, packet: OutboundRtp): void {
    const out = this.tracks[kind];
    if (!out?.open || this.state !== 'connected') return;
    const wire = sharedFrame.frame(packet);
    try {
      out.track.sendMessageBinary(wire);
    } catch {
      // closed under us (the viewer left between the state event and this packet)
      return;
    }
    out.packets += 1;
    out.payloadOctets += packet.payload.length;
    const now = performance.now();
    out.clock.observe(packet.timestamp, now);
    out.lastPacketAt = now;
    out.history?.store(packet, now, out.payloadOctets);
    this.sent.packets += 1;
    this.sent.bytes += wire.length;
  }

  onKeyframeRequest(listener: (kind: 'pli' | 'fir') => void): void {
    this.keyframeListeners.push(listener);
  }

  onFeedback(listener: (feedback: ViewerFeedback) => void): void {
    this.feedbackListeners.push(listener);
  }

  async addRemoteCandidates(fragment: TrickleFragment): Promise<void> {
    // node-datachannel 0.33 has no call for a remote end-of-candidates: libjuice ends its checks
    // on its own timers, so `fragment.endOfCandidates` changes nothing here.
    for (const media of fragment.media) {
      for (const candidate of media.candidates) {
        if (this.closed) return;
        try {
          this.pc.addRemoteCandidate(`candidate:${candidate}`, media.mid ?? '0');
        } catch {
          // libdatachannel refuses a candidate it cannot use: ignored, the others still apply.
        }
      }
    }
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      clearInterval(this.reportTimer);
      this.keyframeListeners.length = 0;
      this.feedbackListeners.length = 0;
      for (const out of Object.values(this.tracks)) out.open = false;
      this.setState('closed');
      // node-datachannel drops a track's onOpen/onMessage callbacks only when the track itself is
      // closed (pc.close() does not): they reference this viewer, so each one that left stayed in
      // memory with its retransmit ring (~0.4 MiB per WHEP join in the soak).
      for (const track of [...Object.values(this.tracks).map((out) => out.track), ...this.inactiveTracks]) {
        try {
          track.close();
        } catch {
          // already closed
        }
      }
      try {
        this.pc.close();
      } catch {
        // already closed by libdatachannel
      }
    }
    return Promise.resolve();
  }

  private onRtcp(out: SendTrack, message: Buffer | string): void {
    if (typeof message === 'string') return;
    for (const feedback of parseRtcp(message)) {
      if (feedback.type === 'nack') {
        if (!out.history || feedback.mediaSsrc !== out.ssrc) continue;
        const now = performance.now();
        for (const sequenceNumber of feedback.lost) {
          // A NACK may name a packet twice, or again before our resend could arrive: once is enough.
          const packet = out.history.get(sequenceNumber, out.ssrc);
          if (!packet || !out.history.mayResend(sequenceNumber, now, resendHoldoffMs(this.roundTripMs))) continue;
          if (!this.retransmitBudget.allow(now, packet.payload.length + 12, this.sent.bytes)) break;
          out.history.markResent(sequenceNumber, now);
          this.retransmit(out, packet);
        }
      } else if (feedback.type === 'pli' || feedback.type === 'fir') {
        if (feedback.type === 'pli' ? feedback.mediaSsrc === out.ssrc : feedback.ssrcs.includes(out.ssrc)) {
          for (const listener of this.keyframeListeners) listener(feedback.type);
        }
      } else {
        // A compound may arrive on either track's callback (BUNDLE): blocks are matched by SSRC.
        for (const report of viewerFeedback(feedback, Object.values(this.tracks), performance.now())) {
          if (report.type === 'report' && report.kind === 'video') this.roundTripMs = Math.max(report.rttMs ?? 0, report.behindMs ?? 0);
          this.emitFeedback(report);
        }
      }
    }
  }

  private emitFeedback(feedback: ViewerFeedback): void {
    for (const listener of this.feedbackListeners) listener(feedback);
  }

  /** 'connected' once ICE and DTLS are up and every send track has opened (they open just after). */
  private maybeConnected(): void {
    if (!this.transportConnected || this.closed) return;
    if (Object.values(this.tracks).every((out) => out.open)) this.setState('connected');
  }

  private retransmit(out: SendTrack, packet: OutboundRtp): void {
    if (!out.open) return;
    try {
      out.track.sendMessageBinary(sharedFrame.frame(packet));
    } catch {
      // closed under us
    }
  }

  /**
   * RFC 3550 §6.4.1: the RTP timestamp of "now", on the track's clock (SendClock: its frames as
   * they left, smoothed). Every frame is dated by when it left: a rendition's audio leaves as late
   * as its video (router/audio-alignment.ts), so the audio and video of one instant map to one
   * wall time.
   */
  private sendReports(): void {
    if (this.state !== 'connected') return;
    const now = performance.now();
    for (const out of Object.values(this.tracks)) {
      if (!out.open || out.packets === 0) continue;
      const rtpTimestamp = out.clock.timestampAt(now)!;
      const wallTimeMs = performance.timeOrigin + now;
      out.senderReports.push({ ntp: ntpMiddle32(wallTimeMs), sentAt: now });
      if (out.senderReports.length > SENDER_REPORTS_KEPT) out.senderReports.shift();
      const report = buildSenderReport({
        ssrc: out.ssrc,
        wallTimeMs,
        rtpTimestamp,
        packetCount: out.packets,
        octetCount: out.payloadOctets,
        cname: this.cname,
      });
      try {
        out.track.sendMessageBinary(report);
      } catch {
        // closed under us
      }
    }
  }

  private setState(state: PeerState): void {
    if (this.state === state || this.state === 'closed' || (this.state === 'failed' && state !== 'closed')) return;
    this.state = state;
    this.emit('state', state);
  }
}

/** Viewers only: `createPublisher` is not offered (see create-engine.ts). */
export class DatachannelViewerEngine implements Pick<MediaEngine, 'createViewer'> {
  createViewer(options: PeerOptions): Promise<ViewerPeer & SdpPeer> {
    return DatachannelViewer.create(options);
  }

  /** Joins libdatachannel's threads once every peer is closed (else the process can't exit). */
  close(): void {
    if (ndcModule) ndcModule.cleanup();
  }
}

export type { PublisherPeer };
