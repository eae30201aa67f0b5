/**
 * Fakes for the router's unit tests: engine peers that record what the router sends, a publisher
 * that delivers packets on demand, and a transcoder's rendition set. No I/O.
 */
import { EventEmitter } from 'node:events';
import type { InboundRtp, MediaKind, NegotiatedCodec, OutboundRtp, PeerState, PublisherPeer, ViewerFeedback, ViewerPeer } from '../webrtc/engine';
import type { RenditionFeed, RenditionSource } from './rendition-catalog';
import { serializeRtp } from './rtp-rewriter';

export const H264: NegotiatedCodec = { kind: 'video', name: 'H264', clockRate: 90000, payloadType: 96, fmtp: 'packetization-mode=1;profile-level-id=42e01f' };
export const VP8: NegotiatedCodec = { kind: 'video', name: 'VP8', clockRate: 90000, payloadType: 97 };
export const OPUS: NegotiatedCodec = { kind: 'audio', name: 'opus', clockRate: 48000, channels: 2, payloadType: 111 };
/** An H.264 SPS NAL unit (starts a keyframe) and a P-slice (does not). */
export const SPS = Buffer.from('6742c01ed900a02ff9701100000300010000030003c0f162e48'.slice(0, 50), 'hex');
export const P_SLICE = Buffer.from([0x41, 0x9a, 0x02]);
/** SPS NAL units x264 writes for 320×180 and 1280×720 (Baseline); SPS above is 640×360. */
export const SPS_180 = Buffer.from('6742c00dd901419f9f0110000003001000000303c0f142a480', 'hex');
export const SPS_720 = Buffer.from('6742c01fd9005005bb0110000003001000000303c0f1832480', 'hex');
export const OPUS_FRAME = Buffer.from([0xfc, 0xff, 0xfe]);

export class FakePeer extends EventEmitter<{ state: [PeerState] }> {
  answer = 'v=0';
  state: PeerState = 'connecting';
  remoteIceUfrag = 'u';
  connect(): void {
    this.state = 'connected';
    this.emit('state', 'connected');
  }
  async addRemoteCandidates(): Promise<void> {}
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.emit('state', 'closed');
  }
}

export class FakePublisher extends FakePeer implements PublisherPeer {
  keyframeRequests = 0;
  private rtpListeners: Array<(p: InboundRtp) => void> = [];
  constructor(
    readonly codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec },
    readonly ssrcs: Partial<Record<MediaKind, number>>,
  ) {
    super();
  }
  onRtp(listener: (p: InboundRtp) => void): void {
    this.rtpListeners.push(listener);
  }
  requestKeyframe(): void {
    this.keyframeRequests += 1;
  }
  /** One packet, queued until the router's flush. */
  rtp(kind: MediaKind, seq: number, ts: number, payload: Buffer): void {
    const packet: InboundRtp = { kind, sequenceNumber: seq, timestamp: ts, ssrc: this.ssrcs[kind]!, payloadType: this.codecs[kind]!.payloadType, marker: true, payload, size: 12 + payload.length };
    for (const l of this.rtpListeners) l(packet);
  }
}

/** A simulcast publisher: one SSRC per layer, each video packet tagged with its rid. */
export class FakeSimulcastPublisher extends FakePeer implements PublisherPeer {
  readonly keyframeRequests: Array<string | undefined> = [];
  private rtpListeners: Array<(p: InboundRtp) => void> = [];
  constructor(
    readonly codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec },
    readonly simulcast: readonly string[],
    private readonly ssrcOf: (rid: string) => number = (rid) => 0x5000 + simulcast.indexOf(rid),
  ) {
    super();
  }
  onRtp(listener: (p: InboundRtp) => void): void {
    this.rtpListeners.push(listener);
  }
  requestKeyframe(rid?: string): void {
    this.keyframeRequests.push(rid);
  }
  /** One video packet of a layer (queued until the router's flush); an empty payload is a padding probe. */
  layer(rid: string, seq: number, ts: number, payload: Buffer): void {
    const packet: InboundRtp = { kind: 'video', sequenceNumber: seq, timestamp: ts, ssrc: this.ssrcOf(rid), payloadType: this.codecs.video!.payloadType, marker: true, payload, size: 12 + payload.length, rid };
    for (const l of this.rtpListeners) l(packet);
  }
  audio(seq: number, ts: number): void {
    const packet: InboundRtp = { kind: 'audio', sequenceNumber: seq, timestamp: ts, ssrc: 0x4000, payloadType: this.codecs.audio!.payloadType, marker: true, payload: OPUS_FRAME, size: 12 + OPUS_FRAME.length };
    for (const l of this.rtpListeners) l(packet);
  }
}

export class FakeViewer extends FakePeer implements ViewerPeer {
  sentPackets: Array<{ kind: MediaKind; rtp: OutboundRtp; wire: Buffer }> = [];
  readonly sent = { packets: 0, bytes: 0 };
  private kf: Array<(k: 'pli' | 'fir') => void> = [];
  private feedbackListeners: Array<(f: ViewerFeedback) => void> = [];
  constructor(
    readonly codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec },
    private readonly ssrcs: Partial<Record<MediaKind, number>>,
  ) {
    super();
  }
  onFeedback(l: (f: ViewerFeedback) => void): void {
    this.feedbackListeners.push(l);
  }
  /** The viewer's receiver reports something (an RR, a REMB). */
  feedback(f: ViewerFeedback): void {
    for (const l of this.feedbackListeners) l(f);
  }
  ssrc(kind: MediaKind): number | undefined {
    return this.ssrcs[kind];
  }
  send(kind: MediaKind, rtp: OutboundRtp): void {
    const wire = serializeRtp(rtp);
    this.sentPackets.push({ kind, rtp: { ...rtp }, wire });
    this.sent.packets += 1;
    this.sent.bytes += wire.length;
  }
  onKeyframeRequest(l: (k: 'pli' | 'fir') => void): void {
    this.kf.push(l);
  }
  pli(): void {
    for (const l of this.kf) l('pli');
  }
  /** What the player got of one kind: header fields and the payload it carried. */
  received(kind: MediaKind): Array<{ seq: number; ts: number; ssrc: number; pt: number; payload: Buffer }> {
    return this.sentPackets.filter((p) => p.kind === kind).map(({ wire }) => ({ seq: wire.readUInt16BE(2), ts: wire.readUInt32BE(4), ssrc: wire.readUInt32BE(8), pt: wire[1]! & 0x7f, payload: wire.subarray(12) }));
  }
}

export class FakeFeed implements RenditionFeed {
  readonly kind = 'transcoded' as const;
  readonly codec: string;
  readonly clockRate = 90000;
  constructor(
    readonly name: string,
    readonly width: number,
    readonly height: number,
    readonly targetKbps: number,
    readonly ssrc: number,
    codec = 'H264',
    readonly frameRate = 30,
  ) {
    this.codec = codec;
  }
  stats(): { bitrateKbps: number; frameRate: number | null } {
    return { bitrateKbps: this.targetKbps, frameRate: this.frameRate };
  }
}

export class FakeRenditionSet extends EventEmitter<{ closed: [string] }> implements RenditionSource {
  static count = 0;
  readonly id = `set-${++FakeRenditionSet.count}`;
  closeReason: string | undefined;
  private listener: ((feed: RenditionFeed, packet: InboundRtp) => void) | undefined;
  constructor(
    readonly instance: string,
    readonly feeds: FakeFeed[],
    readonly codec = feeds[0]?.codec ?? 'H264',
  ) {
    super();
  }
  onVideo(listener: (feed: RenditionFeed, packet: InboundRtp) => void): void {
    this.listener = listener;
  }
  close(reason: string): void {
    if (this.closeReason) return;
    this.closeReason = reason;
    this.emit('closed', reason);
  }
  /** One video packet of `name`, queued until the router's flush. */
  rtp(name: string, seq: number, ts: number, payload: Buffer): void {
    const feed = this.feeds.find((f) => f.name === name)!;
    this.listener?.(feed, { kind: 'video', sequenceNumber: seq, timestamp: ts, ssrc: feed.ssrc, payloadType: 96, marker: true, payload, size: 12 + payload.length });
  }
}
