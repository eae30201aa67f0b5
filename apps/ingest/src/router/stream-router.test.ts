import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InboundRtp, MediaKind, NegotiatedCodec, OutboundRtp, PeerState, PublisherPeer, ViewerPeer } from '../webrtc/engine';
import { serializeRtp } from './rtp-rewriter';
import { type PublishProtocol, PublisherSession, ViewerSession } from './sessions';
import { type MediaCounters, StreamRouter } from './stream-router';

const log = pino({ level: 'silent' });
const H264: NegotiatedCodec = { kind: 'video', name: 'H264', clockRate: 90000, payloadType: 96, fmtp: 'packetization-mode=1;profile-level-id=42e01f' };
const VP8: NegotiatedCodec = { kind: 'video', name: 'VP8', clockRate: 90000, payloadType: 97 };
const SPS = Buffer.from('6742c01ed900a02ff9701100000300010000030003c0f162e48'.slice(0, 50), 'hex');
const P_SLICE = Buffer.from([0x41, 0x9a, 0x02]);

class FakePeer extends EventEmitter<{ state: [PeerState] }> {
  answer = 'v=0';
  state: PeerState = 'connecting';
  remoteIceUfrag = 'u';
  connect() {
    this.state = 'connected';
    this.emit('state', 'connected');
  }
  async addRemoteCandidates() {}
  async close() {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.emit('state', 'closed');
  }
}

class FakePublisher extends FakePeer implements PublisherPeer {
  keyframeRequests = 0;
  private rtpListeners: Array<(p: InboundRtp) => void> = [];
  constructor(readonly codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec }, readonly ssrc: number) {
    super();
  }
  onRtp(listener: (p: InboundRtp) => void) {
    this.rtpListeners.push(listener);
  }
  requestKeyframe() {
    this.keyframeRequests += 1;
  }
  /** One packet, sent on to viewers at once (as when each packet has a turn of the event loop to itself). */
  rtp(seq: number, ts: number, payload: Buffer, kind: MediaKind = 'video') {
    this.rtpQueued(seq, ts, payload, kind);
    router.flush();
  }
  /** One packet of a burst: queued until the router's flush (end of the turn, or a state change). */
  rtpQueued(seq: number, ts: number, payload: Buffer, kind: MediaKind = 'video') {
    const packet: InboundRtp = { kind, sequenceNumber: seq, timestamp: ts, ssrc: this.ssrc, payloadType: this.codecs[kind]!.payloadType, marker: true, payload, size: 12 + payload.length };
    for (const l of this.rtpListeners) l(packet);
  }
}

class FakeViewer extends FakePeer implements ViewerPeer {
  sentPackets: Array<{ kind: MediaKind; buf: Buffer; rtp: OutboundRtp }> = [];
  readonly sent = { packets: 0, bytes: 0 };
  private kf: Array<(k: 'pli' | 'fir') => void> = [];
  constructor(readonly codecs: { video?: NegotiatedCodec; audio?: NegotiatedCodec }, private readonly mySsrc: number) {
    super();
  }
  ssrc() {
    return this.mySsrc;
  }
  send(kind: MediaKind, rtp: OutboundRtp) {
    this.sentPackets.push({ kind, buf: serializeRtp(rtp), rtp: { ...rtp } });
  }
  onKeyframeRequest(l: (k: 'pli' | 'fir') => void) {
    this.kf.push(l);
  }
  pli() {
    for (const l of this.kf) l('pli');
  }
  headers() {
    return this.sentPackets.map(({ buf }) => ({ pt: buf[1]! & 0x7f, seq: buf.readUInt16BE(2), ts: buf.readUInt32BE(4), ssrc: buf.readUInt32BE(8) }));
  }
}

let router: StreamRouter;
let counters: MediaCounters;
afterEach(() => router?.close('test_end'));

function setup() {
  counters = { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 };
  router = new StreamRouter({ streamId: 's1', keyframeIntervalMs: 500, counters, log });
  const events: string[] = [];
  router.on('live', () => events.push('live'));
  router.on('offline', () => events.push('offline'));
  router.on('idle', () => events.push('idle'));
  return events;
}

function publisher(codec = H264, ssrc = 1111, protocol: PublishProtocol = 'whip') {
  const peer = new FakePublisher({ video: codec }, ssrc);
  const session = new PublisherSession(protocol, 's1', peer, log, 10_000);
  router.attachPublisher(session);
  peer.connect();
  return { peer, session };
}

function viewer(codec: NegotiatedCodec = { ...H264, payloadType: 102 }, ssrc = 4242) {
  const peer = new FakeViewer({ video: codec }, ssrc);
  const session = new ViewerSession('s1', peer, log, 10_000);
  router.addViewer(session);
  peer.connect();
  return { peer, session };
}

describe('StreamRouter', () => {
  it('goes live when the publisher connects and asks it for a keyframe at once', () => {
    const events = setup();
    const { peer } = publisher();
    expect(events).toEqual(['live']);
    expect(router.isLive).toBe(true);
    expect(peer.keyframeRequests).toBe(1);
  });

  it('padding-only probes between media packets leave no hole in a viewer\'s numbering, also right after a publisher switch', () => {
    setup();
    const first = publisher();
    const v = viewer(undefined, 7);
    first.peer.rtp(100, 1000, SPS);
    first.peer.rtp(101, 1000, P_SLICE);
    first.session.close('test');
    // Chrome's new encoder: keyframe, then two probe clusters of padding-only packets on the media SSRC.
    const second = publisher(H264, 2222);
    second.peer.rtp(4774, 50_000, SPS);
    for (let seq = 4775; seq <= 4787; seq += 1) second.peer.rtp(seq, 50_000, Buffer.alloc(0));
    second.peer.rtp(4788, 53_000, P_SLICE);
    second.peer.rtp(4789, 53_000, Buffer.alloc(0));
    second.peer.rtp(4790, 56_000, P_SLICE);
    const seqs = v.peer.headers().map((h) => h.seq);
    expect(seqs).toEqual([100, 101, 102, 103, 104]);
    expect(v.peer.sentPackets.every((p) => p.rtp.payload.length > 0)).toBe(true);
    // Probes are received packets, not lost ones, in the live state.
    expect(router.liveState().video?.packetsLost).toBe(0);
  });

  it('sends a burst viewer by viewer, each in arrival order, at the end of the turn', async () => {
    setup();
    const pub = publisher();
    const a = viewer(undefined, 1);
    const b = viewer(undefined, 2);
    const order: string[] = [];
    for (const [name, v] of [['a', a], ['b', b]] as const) {
      const send = v.peer.send.bind(v.peer);
      v.peer.send = (kind, rtp) => {
        order.push(`${name}${rtp.sequenceNumber}`);
        send(kind, rtp);
      };
    }
    pub.peer.rtpQueued(20, 9000, SPS);
    pub.peer.rtpQueued(21, 9000, P_SLICE);
    pub.peer.rtpQueued(22, 9000, Buffer.alloc(0)); // a probe: numbered around, not sent
    pub.peer.rtpQueued(23, 9000, P_SLICE);
    expect(order).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['a20', 'a21', 'a22', 'b20', 'b21', 'b22']);
    expect(counters).toMatchObject({ packetsIn: 4, packetsOut: 6 });
  });

  it('a keyframe late in a batch ends a joining viewer\'s wait: no second keyframe request', () => {
    vi.useFakeTimers();
    try {
      setup();
      const pub = publisher(); // its first request goes out at once
      viewer(); // joins: asks again, held back by the window
      pub.peer.rtpQueued(1, 0, P_SLICE); // the tail of a frame, then the keyframe, in one turn
      pub.peer.rtpQueued(2, 3000, SPS);
      router.flush();
      vi.advanceTimersByTime(2000);
      expect(pub.peer.keyframeRequests).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a publisher switch sends what the previous publisher queued first, under its numbering', () => {
    setup();
    const first = publisher();
    const v = viewer(undefined, 7);
    first.peer.rtpQueued(100, 1000, SPS);
    first.peer.rtpQueued(101, 1000, P_SLICE);
    const second = publisher(H264, 2222); // takes over before the turn ends
    expect(v.peer.headers().map((h) => h.seq)).toEqual([100, 101]);
    second.peer.rtp(500, 70_000, SPS);
    expect(v.peer.headers().map((h) => h.seq)).toEqual([100, 101, 102]);
    expect(v.peer.sentPackets.map((p) => p.rtp.payload)).toEqual([SPS, P_SLICE, SPS]);
    // Late packets of the replaced publisher are dropped, queued or not.
    first.peer.rtp(102, 1000, P_SLICE);
    expect(v.peer.sentPackets).toHaveLength(3);
  });

  it('starts each viewer at a keyframe, with its own SSRC, payload type and buffer', () => {
    setup();
    const pub = publisher();
    const a = viewer(undefined, 1);
    const b = viewer(undefined, 2);
    pub.peer.rtp(10, 1000, P_SLICE);
    expect(a.peer.sentPackets).toEqual([]);
    pub.peer.rtp(11, 4000, SPS);
    pub.peer.rtp(12, 4000, P_SLICE);
    expect(a.peer.headers()).toEqual([
      { pt: 102, seq: 11, ts: 4000, ssrc: 1 },
      { pt: 102, seq: 12, ts: 4000, ssrc: 1 },
    ]);
    expect(b.peer.headers().map((h) => h.ssrc)).toEqual([2, 2]);
    // Each viewer gets its own header; the payload is the publisher's, shared and left intact.
    expect(a.peer.sentPackets[0]!.rtp).not.toBe(b.peer.sentPackets[0]!.rtp);
    expect(a.peer.sentPackets[0]!.buf.subarray(12)).toEqual(SPS);
    expect(b.peer.sentPackets[0]!.buf.subarray(12)).toEqual(SPS);
    expect(counters).toMatchObject({ packetsIn: 3, packetsOut: 4 });
  });

  it('keeps viewers across a publisher switch: continuous sequence numbers, restart at a keyframe, PLI to the new publisher', () => {
    const events = setup();
    const first = publisher(H264, 1111);
    const v = viewer();
    first.peer.rtp(100, 5000, SPS);
    first.peer.rtp(101, 8000, P_SLICE);
    first.session.close('gone');
    expect(events).toEqual(['live', 'offline']);
    expect(v.session.closed).toBe(false);
    const second = publisher(H264, 2222);
    expect(events).toEqual(['live', 'offline', 'live']);
    expect(second.peer.keyframeRequests).toBe(1);
    second.peer.rtp(7, 0, P_SLICE); // not a keyframe: held back
    second.peer.rtp(8, 3000, SPS);
    second.peer.rtp(9, 6000, P_SLICE);
    expect(v.peer.headers().map((h) => h.seq)).toEqual([100, 101, 102, 103]);
    const ts = v.peer.headers().map((h) => h.ts);
    expect(ts[2]!).toBeGreaterThan(ts[1]!);
    expect(ts[3]! - ts[2]!).toBe(3000);
  });

  it('a second publisher takes over: the first session is closed as replaced', () => {
    setup();
    const first = publisher(H264, 1);
    const second = publisher(H264, 2);
    expect(first.session.closed).toBe(true);
    expect(first.session.closeReason).toBe('replaced');
    expect(router.currentPublisher).toBe(second.session);
    // Late packets from the replaced publisher are not forwarded.
    const v = viewer();
    first.peer.rtp(1, 1, SPS);
    expect(v.peer.sentPackets).toEqual([]);
  });

  it('closes viewers whose codec the new publisher does not use, keeps the others', () => {
    setup();
    publisher(H264);
    const h264Viewer = viewer();
    const vp8Publisher = publisher(VP8);
    expect(h264Viewer.session.closeReason).toBe('codec_changed');
    expect(router.codecs.video?.name).toBe('VP8');
    const vp8Viewer = viewer({ ...VP8, payloadType: 100 });
    publisher(VP8, 3);
    expect(vp8Viewer.session.closed).toBe(false);
    void vp8Publisher;
  });

  it('relays viewer PLIs upstream, rate-limited', () => {
    setup();
    const pub = publisher();
    const v = viewer();
    const afterJoin = pub.peer.keyframeRequests;
    v.peer.pli();
    v.peer.pli();
    v.peer.pli();
    expect(pub.peer.keyframeRequests).toBe(afterJoin); // inside the 500 ms window: coalesced
  });

  it('a publisher over WebTransport takes over from WHIP and back, viewers kept, live state naming the protocol', () => {
    setup();
    const v = viewer();
    const whip = publisher(H264, 1);
    expect(router.liveState().publisher).toEqual({ protocol: 'whip', sessionId: whip.session.id });
    const moq = publisher(H264, 2, 'webtransport');
    expect(whip.session.closeReason).toBe('replaced');
    expect(router.liveState().publisher).toEqual({ protocol: 'webtransport', sessionId: moq.session.id });
    const again = publisher(H264, 3);
    expect(moq.session.closeReason).toBe('replaced');
    expect(router.liveState().publisher).toEqual({ protocol: 'whip', sessionId: again.session.id });
    expect(v.session.closed).toBe(false);
  });

  it('reports live state and becomes idle when the last session leaves', () => {
    const events = setup();
    const pub = publisher();
    const v = viewer();
    pub.peer.rtp(1, 0, SPS);
    expect(router.liveState()).toMatchObject({ live: true, publisher: { protocol: 'whip', sessionId: pub.session.id }, video: { codec: 'H264' }, viewers: { whep: 1, total: 1 } });
    pub.session.close('bye');
    expect(router.liveState()).toMatchObject({ live: false, video: null, viewers: { whep: 1 } });
    v.session.close('bye');
    expect(events).toEqual(['live', 'offline', 'idle']);
  });

  it('closes a publisher whose media stops (media timeout), keeps viewers', () => {
    vi.useFakeTimers();
    try {
      const events = setup();
      const pub = publisher();
      const v = viewer();
      for (let i = 0; i < 5; i += 1) {
        vi.advanceTimersByTime(2_000);
        pub.peer.rtp(i, i * 3000, P_SLICE);
      }
      expect(pub.session.closed).toBe(false);
      vi.advanceTimersByTime(11_000);
      expect(pub.session.closeReason).toBe('media_timeout');
      expect(events).toEqual(['live', 'offline']);
      expect(v.session.closed).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('close() closes everyone and is idempotent', () => {
    setup();
    const pub = publisher();
    const v = viewer();
    router.close('stream_deleted');
    router.close('again');
    expect(pub.session.closeReason).toBe('stream_deleted');
    expect(v.session.closeReason).toBe('stream_deleted');
    expect(pub.peer.state).toBe('closed');
  });
});
