/**
 * WHIP and WHEP sessions: one HTTP resource (`/whip/sessions/<id>`, `/whep/sessions/<id>`)
 * around one engine peer. A session closes itself when its peer fails or does not connect
 * within `connectTimeoutMs`; `close()` is idempotent and closes the peer.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { TrickleFragment } from '@onair/shared/sdp';
import type { Logger } from '@onair/service/logger';
import type { MediaKind, MediaPeer, NegotiatedCodec, PublisherPeer, ViewerPeer } from '../webrtc/engine';

/**
 * `whip`, `webtransport`: publishers (WebRTC; Media over QUIC). `edge`: a publisher that is this
 * node's pull of the stream from its origin node (../cluster). `whep`: viewers (and another
 * node's edge pull: see ViewerSession.edgeNode). `forward`: plain RTP to the transcoder
 * (../forward), a viewer that is not a person.
 */
export type SessionKind = 'whip' | 'webtransport' | 'edge' | 'whep' | 'forward';
export type PublishProtocol = 'whip' | 'webtransport' | 'edge';

interface SessionEvents {
  connected: [];
  closed: [reason: string];
}

export abstract class Session<P extends MediaPeer = MediaPeer> extends EventEmitter<SessionEvents> {
  readonly id = randomUUID();
  /** Entity tag of the ICE session (RFC 9725 §4.3.1); changes only with an ICE restart. */
  readonly etag = `"${randomBytes(12).toString('hex')}"`;
  readonly createdAt = new Date();
  abstract readonly kind: SessionKind;
  connectedAt: Date | undefined;
  /** Decides which trickled candidates the engine gets (sessions/remote-candidate-gate.ts); set by the HTTP layer. */
  remoteCandidates: { filterFragment(fragment: TrickleFragment): TrickleFragment } | undefined;
  closed = false;
  closeReason: string | undefined;
  protected readonly log: Logger;
  private readonly connectTimer: NodeJS.Timeout;

  constructor(
    readonly streamId: string,
    readonly peer: P,
    parentLog: Logger,
    connectTimeoutMs: number,
  ) {
    super();
    this.log = parentLog.child({ stream: streamId, session: this.id, role: this.constructor === PublisherSession ? 'publisher' : 'viewer' });
    this.connectTimer = setTimeout(() => {
      this.log.warn({ timeoutMs: connectTimeoutMs }, 'ICE/DTLS did not connect in time; closing the session');
      this.close('connect_timeout');
    }, connectTimeoutMs);
    this.connectTimer.unref();
    const connected = () => {
      clearTimeout(this.connectTimer);
      this.connectedAt = new Date();
      this.log.info({ setupMs: this.connectedAt.getTime() - this.createdAt.getTime() }, 'connected');
      this.emit('connected');
    };
    peer.on('state', (state) => {
      if (state === 'connected') connected();
      else if (state === 'failed') this.close('ice_failed');
      else if (state === 'closed') this.close('peer_closed');
    });
    // A MoQ publisher's peer is handed over connected: its setup ran before the session existed.
    if (peer.state === 'connected') connected();
  }

  get connected(): boolean {
    return this.connectedAt !== undefined && !this.closed;
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    clearTimeout(this.connectTimer);
    this.log.info({ reason }, 'session closed');
    void this.peer.close(reason);
    this.emit('closed', reason);
  }
}

export class PublisherSession<P extends PublisherPeer = PublisherPeer> extends Session<P> {
  constructor(
    readonly kind: PublishProtocol,
    streamId: string,
    peer: P,
    parentLog: Logger,
    connectTimeoutMs: number,
  ) {
    super(streamId, peer, parentLog, connectTimeoutMs);
  }
}

export class ViewerSession<P extends ViewerPeer = ViewerPeer> extends Session<P> {
  readonly kind: 'whep' | 'forward' = 'whep';
  /** Set when the viewer is another node pulling the stream (an edge, not a person): its node id. */
  edgeNode: string | undefined;

  get codecs(): { video?: NegotiatedCodec; audio?: NegotiatedCodec } {
    return this.peer.codecs;
  }

  ssrc(kind: MediaKind): number | undefined {
    return this.peer.ssrc(kind);
  }
}

/** A viewer whose transport is plain RTP to local UDP ports (the transcoder's input). */
export class ForwardSession extends ViewerSession {
  override readonly kind = 'forward' as const;
}

export type AnySession = PublisherSession | ViewerSession;
