/**
 * The transport of a forward: plain RTP over UDP to local ports (the transcoder's ffmpeg), with
 * the same `ViewerPeer` interface a WebRTC viewer has. The StreamRouter therefore treats a
 * forward exactly like a viewer — keyframe gating, per-sink SSRC/sequence/timestamp rewriting,
 * continuity across a publisher takeover — and nothing in the data plane is written twice.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { MediaKind, NegotiatedCodec, OutboundRtp, PeerState, ViewerPeer } from '../webrtc/engine';
import { probeKeyframe } from '../router/codec-probe';
import { serializeRtp } from '../router/rtp-rewriter';
import type { ForwardedVideo } from '../renditions/rendition-timeline';
import { SendClock } from '../webrtc/rtcp/send-clock';
import { KeyframeReplay, type KeyframeReplayOptions } from './keyframe-replay';

export interface RtpForwardTarget {
  host: string;
  /** UDP port per kind; a kind without a port is not forwarded. */
  ports: Partial<Record<MediaKind, number>>;
}

export class RtpForwardPeer extends EventEmitter implements ViewerPeer {
  readonly sent = { packets: 0, bytes: 0 };
  state: PeerState = 'connecting';
  private readonly socket: Socket;
  private readonly ssrcs: Partial<Record<MediaKind, number>> = {};
  private keyframeListeners: Array<(kind: 'pli' | 'fir') => void> = [];
  private periodicKeyframes: NodeJS.Timeout | undefined;
  private readonly replay: KeyframeReplay;
  private holding: NodeJS.Timeout | undefined;
  /**
   * The forwarded video's timeline, for the transcoder's renditions (renditions/rendition-timeline.ts):
   * when each frame arrived, and the first keyframe sent once the receiver listened — the frame
   * ffmpeg starts its output from. `undefined` anchor while the receiver has not said it listens.
   */
  readonly video: ForwardedVideo & { firstKeyframeTimestamp: number | undefined } = { firstKeyframeTimestamp: undefined, clock: new SendClock(90_000) };
  /** The receiver listens and no keyframe has been sent to it since: the next one anchors `video`. */
  private awaitingFirstKeyframe = false;

  /**
   * @param codecs the codecs written into the forwarded packets (payload types as in the SDP)
   * @param keyframeIntervalMs when set, ask the publisher for a keyframe this often: needed
   *   when the transcoder packages the source as is (passthrough), since browsers send
   *   keyframes only when asked
   * @param replay bounds of the packets kept for `receiverReady()` (see keyframe-replay.ts)
   */
  constructor(
    readonly codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec },
    readonly target: RtpForwardTarget,
    keyframeIntervalMs?: number,
    replay: KeyframeReplayOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.replay = new KeyframeReplay(replay);
    this.socket = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
    // Errors on a connectionless UDP socket (e.g. ICMP unreachable while ffmpeg restarts) are
    // transient: packets are dropped and forwarding goes on.
    this.socket.on('error', () => {});
    for (const kind of ['video', 'audio'] as const) if (codecs[kind] && target.ports[kind]) this.ssrcs[kind] = randomInt(1, 0xffffffff);
    if (keyframeIntervalMs) {
      this.periodicKeyframes = setInterval(() => this.requestKeyframe(), keyframeIntervalMs);
      this.periodicKeyframes.unref();
    }
    // Nothing to negotiate: the forward is connected as soon as someone listens for it.
    queueMicrotask(() => this.setState('connected'));
  }

  ssrc(kind: MediaKind): number | undefined {
    return this.ssrcs[kind];
  }

  send(kind: MediaKind, rtp: OutboundRtp): void {
    const port = this.target.ports[kind];
    if (this.state !== 'connected' || !port) return;
    const packet = serializeRtp(rtp);
    this.sent.packets += 1;
    this.sent.bytes += packet.length;
    const now = this.now();
    // Arrival time, held or not: what viewers' sender reports date the source's frames by.
    if (kind === 'video') this.video.clock.observe(rtp.timestamp, now);
    const probe = kind === 'video' && (!this.replay.finished || this.awaitingFirstKeyframe);
    const keyframeStart = probe && probeKeyframe(this.codecs.video!.name, rtp.payload).keyframeStart;
    if (!this.replay.finished) this.replay.record(kind, packet, keyframeStart, now);
    if (this.holding) return;
    if (keyframeStart && this.awaitingFirstKeyframe) {
      this.awaitingFirstKeyframe = false;
      this.video.firstKeyframeTimestamp = rtp.timestamp;
    }
    this.socket.send(packet, port, this.target.host);
  }

  /**
   * Sends nothing until `receiverReady()`, at most `maxMs`: until the receiver has bound its
   * ports, packets only reach a closed port, and once one has reached it, ffmpeg's RTP demuxer
   * drops anything older ("dropping old packet received too late"), so the kept keyframe could
   * no longer be sent again. Call right after creating the forward, before any packet is sent.
   */
  holdUntilReady(maxMs: number): void {
    clearTimeout(this.holding);
    this.holding = setTimeout(() => this.receiverReady(), maxMs);
    this.holding.unref();
  }

  /**
   * The receiver (ffmpeg) listens now. The first time, the packets forwarded since the last
   * keyframe (sent to a port nobody had bound yet, or held back) are sent at once; otherwise, or
   * when there is no keyframe young enough, the publisher is asked for one. Returns how many
   * packets were sent from the kept ones.
   */
  receiverReady(): number {
    const held = this.holding !== undefined;
    clearTimeout(this.holding);
    this.holding = undefined;
    if (this.state !== 'connected') return 0;
    const first = this.video.firstKeyframeTimestamp === undefined && !this.awaitingFirstKeyframe;
    const packets = this.replay.finished && !held ? [] : this.replay.take(this.now());
    if (packets.length === 0) {
      if (first) this.awaitingFirstKeyframe = true;
      this.requestKeyframe();
      return 0;
    }
    // The replay starts at a keyframe: the first frame the receiver decodes.
    const keyframe = packets.find((packet) => packet.kind === 'video');
    if (first && keyframe) this.video.firstKeyframeTimestamp = keyframe.data.readUInt32BE(4);
    else if (first) this.awaitingFirstKeyframe = true;
    for (const { kind, data } of packets) this.socket.send(data, this.target.ports[kind]!, this.target.host);
    return packets.length;
  }

  /** Asks the publisher for a keyframe, as a viewer's PLI would. */
  requestKeyframe(): void {
    for (const listener of this.keyframeListeners) listener('pli');
  }

  onKeyframeRequest(listener: (kind: 'pli' | 'fir') => void): void {
    this.keyframeListeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    clearInterval(this.periodicKeyframes);
    clearTimeout(this.holding);
    this.holding = undefined;
    this.keyframeListeners = [];
    this.socket.close();
    this.setState('closed');
  }

  private setState(state: PeerState): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.emit('state', state);
  }
}
