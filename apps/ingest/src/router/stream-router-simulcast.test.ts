import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeRenditionSet, FakeFeed, FakeSimulcastPublisher, FakeViewer, H264, OPUS, P_SLICE, SPS, SPS_180, SPS_720 } from './router-test-kit';
import { serialDiff } from './rtp-rewriter';
import { ForwardSession, PublisherSession, ViewerSession } from './sessions';
import { StreamRouter } from './stream-router';

const log = pino({ level: 'silent' });
let clock = 0;
let router: StreamRouter;
let pub: FakeSimulcastPublisher;

/** Chrome's order (sendEncodings f, h, q): nothing in the offer says which is the largest. */
const RIDS = ['f', 'h', 'q'];
const KEYFRAME: Record<string, Buffer> = { f: SPS_720, h: SPS, q: SPS_180 };
const seq: Record<string, number> = { f: 100, h: 2000, q: 30_000 };

beforeEach(() => {
  vi.useFakeTimers();
  clock = 1_000_000;
  router = new StreamRouter({ streamId: 's1', keyframeIntervalMs: 500, counters: { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 }, log, now: () => clock });
  pub = new FakeSimulcastPublisher({ video: H264, audio: OPUS }, RIDS);
  router.attachPublisher(new PublisherSession('whip', 's1', pub, log, 10_000));
  pub.connect();
});
afterEach(() => {
  router.close('test_end');
  vi.useRealTimers();
});

function viewer(video = { ...H264, payloadType: 102 }) {
  const peer = new FakeViewer({ video, audio: { ...OPUS, payloadType: 109 } }, { video: 7000, audio: 7001 });
  const session = new ViewerSession('s1', peer, log, 10_000);
  router.addViewer(session);
  peer.connect();
  return { peer, session };
}

/** One frame (one packet) of each layer in `rids`, a keyframe where `keyframe` says so; 30 fps on the fake clock. */
function frame(rids: string[], keyframe: (rid: string) => boolean | Buffer = () => false) {
  clock += 33;
  for (const rid of rids) {
    seq[rid] = (seq[rid]! + 1) & 0xffff;
    const key = keyframe(rid);
    pub.layer(rid, seq[rid]!, seq[rid]! * 3000, Buffer.isBuffer(key) ? key : key ? KEYFRAME[rid]! : P_SLICE);
  }
  router.flush();
}

function assertContinuous(packets: Array<{ seq: number; ts: number }>) {
  for (let i = 1; i < packets.length; i++) {
    expect(serialDiff(packets[i - 1]!.seq, packets[i]!.seq, 0x10000), `sequence step at ${i}`).toBe(1);
    expect(serialDiff(packets[i - 1]!.ts, packets[i]!.ts, 0x1_0000_0000), `timestamp step at ${i}`).toBeGreaterThan(0);
  }
}

const renditions = () => router.renditionStates().map((r) => `${r.name}:${r.kind}:${r.width}x${r.height}`);

describe('StreamRouter with a simulcast publisher', () => {
  it('the largest layer that sends is the source; the others are renditions named by their rid', () => {
    // A browser starts with its lowest layer and adds the others as its estimate grows.
    frame(['q'], () => true);
    expect(renditions()).toEqual(['source:source:320x180', 'f:simulcast:nullxnull', 'h:simulcast:nullxnull']);
    frame(['q', 'h'], (rid) => rid === 'h');
    expect(renditions()).toEqual(['source:source:640x360', 'f:simulcast:nullxnull', 'q:simulcast:320x180']);
    frame(['q', 'h', 'f'], (rid) => rid === 'f');
    expect(renditions()).toEqual(['source:source:1280x720', 'h:simulcast:640x360', 'q:simulcast:320x180']);
    expect(router.liveState().video).toMatchObject({ codec: 'H264', width: 1280, height: 720 });
    // Keyframes of the other layers change nothing.
    frame(RIDS, () => true);
    expect(renditions()[0]).toBe('source:source:1280x720');
  });

  it('a viewer on the source moves up with it, from the new layer\'s keyframe on, in one continuous stream', () => {
    const v = viewer();
    frame(['q'], () => true);
    for (let i = 0; i < 5; i++) frame(['q']);
    // The top layer starts (its first packet is a keyframe): it becomes the source within this turn.
    frame(['q', 'f'], (rid) => rid === 'f');
    for (let i = 0; i < 5; i++) frame(['q', 'f']);
    const video = v.peer.received('video');
    // q's P-frame of the turn f starts in comes first, then f from its keyframe on; q's packets stop.
    expect(video.map((p) => (p.payload.equals(SPS_180) ? '180' : p.payload.equals(SPS_720) ? '720' : '.')).join('')).toBe('180......' + '720.....');
    assertContinuous(video);
    expect(new Set(video.map((p) => `${p.ssrc}/${p.pt}`))).toEqual(new Set(['7000/102']));
  });

  it('a viewer on the source keeps the old layer until the new source\'s keyframe when the source moves for another reason', () => {
    frame(['h', 'f'], () => true);
    const v = viewer();
    frame(['h', 'f'], () => true);
    frame(['h', 'f']);
    // f's encoder drops to 320×180 (CPU adaptation): h, still 640×360, is the larger layer now.
    // Nothing of h reached this viewer, so it stays on f until h's keyframe.
    frame(['h', 'f'], (rid) => rid === 'f' && SPS_180);
    expect(renditions()[0]).toBe('source:source:640x360');
    frame(['h', 'f']);
    frame(['h', 'f'], (rid) => rid === 'h');
    frame(['h', 'f']);
    const video = v.peer.received('video');
    const KEY: Array<[Buffer, string]> = [[SPS_720, 'F'], [SPS, 'H'], [SPS_180, 'f']];
    expect(video.map((p) => KEY.find(([sps]) => p.payload.equals(sps))?.[1] ?? '.').join('')).toBe('F.f.H.');
    assertContinuous(video);
  });

  it('a viewer pins a layer by its rid: the PLI goes to that layer, and it switches at that layer\'s keyframe', () => {
    frame(RIDS, () => true);
    const v = viewer();
    frame(RIDS, () => true);
    frame(RIDS);
    expect(router.layers(v.session.id).layers.map((l) => `${l.encodingId}:${l.kind}:${l.codec}`)).toEqual(['source:source:H264', 'h:simulcast:H264', 'q:simulcast:H264']);
    // Past the rate limit of q's last keyframe request.
    clock += 600;
    pub.keyframeRequests.length = 0;
    expect(router.pinRendition(v.session.id, 'q')).toMatchObject({ pinned: 'q', active: 'source', pending: 'q' });
    expect(pub.keyframeRequests).toContain('q');
    frame(RIDS);
    frame(RIDS, (rid) => rid === 'q');
    frame(RIDS);
    expect(router.layers(v.session.id)).toMatchObject({ active: 'q', pending: null });
    const video = v.peer.received('video');
    expect(video.map((p) => (p.payload.equals(SPS_720) ? 'F' : p.payload.equals(SPS_180) ? 'Q' : '.')).join('')).toBe('F...Q.');
    assertContinuous(video);
    // A PLI from the viewer now goes to its layer.
    pub.keyframeRequests.length = 0;
    clock += 600;
    v.peer.pli();
    expect(pub.keyframeRequests).toEqual(['q']);
    expect(router.renditionStates().map((r) => `${r.name}:${r.viewers}`)).toEqual(['source:0', 'h:0', 'q:1']);
  });

  it('a source layer that stops sending hands over to the next largest; its viewers follow at that layer\'s keyframe', () => {
    frame(RIDS, () => true);
    const v = viewer();
    frame(RIDS, () => true);
    // f stops (a browser drops its top layer when its estimate falls); h and q go on.
    for (let i = 0; i < 60; i++) {
      frame(['h', 'q'], (rid) => rid === 'h' && i === 55);
      vi.advanceTimersByTime(33);
    }
    expect(renditions()).toEqual(['source:source:640x360', 'f:simulcast:1280x720', 'q:simulcast:320x180']);
    // The request for h's keyframe went out when it became the source.
    expect(pub.keyframeRequests).toContain('h');
    const video = v.peer.received('video');
    expect(video.map((p) => (p.payload.equals(SPS_720) ? 'F' : p.payload.equals(SPS) ? 'H' : '.')).join('')).toBe('FH....');
    assertContinuous(video);
  });

  it('the transcoder\'s forward reads the source layer', () => {
    const peer = new FakeViewer({ video: { ...H264, payloadType: 96 }, audio: { ...OPUS, payloadType: 97 } }, { video: 1, audio: 2 });
    const forward = new ForwardSession('s1', peer, log, 10_000);
    router.addViewer(forward);
    peer.connect();
    frame(RIDS, () => true);
    frame(RIDS);
    expect(peer.received('video').map((p) => p.payload.equals(SPS_720) || p.payload[0] === 0x41)).toEqual([true, true]);
    expect(peer.received('video')[0]!.payload.equals(SPS_720)).toBe(true);
  });

  it('transcoded rungs and simulcast layers are listed together, the layers first', () => {
    frame(RIDS, () => true);
    router.attachRenditions(new FakeRenditionSet('tx-1', [new FakeFeed('480p', 854, 480, 1400, 0x480)]));
    expect(router.renditionStates().map((r) => `${r.name}:${r.kind}`)).toEqual(['source:source', 'h:simulcast', 'q:simulcast', '480p:transcoded']);
  });
});
