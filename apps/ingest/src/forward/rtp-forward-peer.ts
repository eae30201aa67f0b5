/**
 * The transport of a forward: plain RTP over UDP to local ports (the transcoder's ffmpeg), with
 * the same `ViewerPeer` interface a WebRTC viewer has. The StreamRouter therefore treats a
 * forward exactly like a viewer — keyframe gating, per-sink SSRC/sequence/timestamp rewriting,
 * continuity across a publisher takeover — and nothing in the data plane is written twice.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { TrickleFragment } from '@onair/shared/sdp';
import { OnairError } from '@onair/shared/errors';
import type { MediaKind, NegotiatedCodec, OutboundRtp, PeerState, ViewerPeer } from '../webrtc/engine';
import { serializeRtp } from '../router/rtp-rewriter';

export interface RtpForwardTarget {
  host: string;
  /** UDP port per kind; a kind without a port is not forwarded. */
  ports: Partial<Record<MediaKind, number>>;
}

export class RtpForwardPeer extends EventEmitter implements ViewerPeer {
  readonly answer = '';
  readonly remoteIceUfrag = undefined;
  readonly sent = { packets: 0, bytes: 0 };
  state: PeerState = 'connecting';
  private readonly socket: Socket;
  private readonly ssrcs: Partial<Record<MediaKind, number>> = {};
  private keyframeListeners: Array<(kind: 'pli' | 'fir') => void> = [];
  private periodicKeyframes: NodeJS.Timeout | undefined;

  /**
   * @param codecs the codecs written into the forwarded packets (payload types as in the SDP)
   * @param keyframeIntervalMs when set, ask the publisher for a keyframe this often: needed
   *   when the transcoder packages the source as is (passthrough), since browsers send
   *   keyframes only when asked
   */
  constructor(
    readonly codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec },
    private readonly target: RtpForwardTarget,
    keyframeIntervalMs?: number,
  ) {
    super();
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
    this.socket.send(packet, port, this.target.host);
  }

  /** The receiver (ffmpeg) is ready now: ask the publisher for a keyframe, as a viewer's PLI would. */
  requestKeyframe(): void {
    for (const listener of this.keyframeListeners) listener('pli');
  }

  onKeyframeRequest(listener: (kind: 'pli' | 'fir') => void): void {
    this.keyframeListeners.push(listener);
  }

  async addRemoteCandidates(_fragment: TrickleFragment): Promise<void> {
    throw new OnairError('bad_request', 'A forward has no ICE session.');
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    clearInterval(this.periodicKeyframes);
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
