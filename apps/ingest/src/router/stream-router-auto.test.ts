/**
 * The server's choice for an unpinned viewer (`auto`): the StreamRouter feeds each viewer's
 * feedback to its rate controller and moves it along the ladder, switching at the target's
 * keyframe like a pin does. The controller's own rules are tested in rate-control/.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeFeed, FakePublisher, FakeRenditionSet, FakeViewer, H264, OPUS, OPUS_FRAME } from './router-test-kit';
import { serialDiff } from './rtp-rewriter';
import { PublisherSession, ViewerSession } from './sessions';
import { StreamRouter } from './stream-router';

const log = pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' });
let clock = 0;
let router: StreamRouter;
let pub: FakePublisher;
let set: FakeRenditionSet;
/** A keyframe (starts with an SPS) and a P-slice, each a ~1 KB frame: 30 fps is ~250 kbit/s. */
const KEY = Buffer.concat([Buffer.from([0x67, 0x42, 0xc0, 0x1e]), Buffer.alloc(1000, 1)]);
const DELTA = Buffer.concat([Buffer.from([0x41, 0x9a]), Buffer.alloc(1000, 1)]);
/** The renditions' frames end in 2s instead of 1s: the viewer's packets say whose they are. */
const RENDITION_KEY = Buffer.concat([Buffer.from([0x67, 0x42, 0xc0, 0x1e]), Buffer.alloc(1000, 2)]);
const RENDITION_DELTA = Buffer.concat([Buffer.from([0x41, 0x9a]), Buffer.alloc(1000, 2)]);

beforeEach(() => {
  vi.useFakeTimers();
  clock = 1_000_000;
  router = new StreamRouter({ streamId: 's1', keyframeIntervalMs: 500, counters: { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 }, log, now: () => clock });
  pub = new FakePublisher({ video: H264, audio: OPUS }, { video: 1111, audio: 2222 });
  router.attachPublisher(new PublisherSession('whip', 's1', pub, log, 10_000));
  pub.connect();
  // Renditions that save bandwidth against the ~250 kbit/s source (the ladder leaves out others).
  set = new FakeRenditionSet('tx-1', [new FakeFeed('360p', 640, 360, 120, 0x360), new FakeFeed('180p', 320, 180, 50, 0x180)]);
  router.attachRenditions(set);
});
afterEach(() => {
  router.close('test_end');
  vi.useRealTimers();
});

function viewer(options: { edgeNode?: string } = {}) {
  const peer = new FakeViewer({ video: { ...H264, payloadType: 102 }, audio: { ...OPUS, payloadType: 109 } }, { video: 7000, audio: 7001 });
  const session = new ViewerSession('s1', peer, log, 10_000);
  session.edgeNode = options.edgeNode;
  router.addViewer(session);
  peer.connect();
  return { peer, session };
}

let frame = 0;
/**
 * `seconds` of 30 fps: the source and each rendition one ~1 KB packet a frame, keyframes every
 * second (renditions half a second after the source); every 200 ms each viewer's receiver reports
 * `loss` of what it was sent.
 */
const reported = new Map<FakeViewer, { packets: number; lost: number }>();
function play(seconds: number, viewers: FakeViewer[], loss: number) {
  for (const end = frame + seconds * 30; frame < end; frame++) {
    clock = 1_000_000 + Math.round((frame * 1000) / 30);
    pub.rtp('video', 10_000 + frame, 500_000 + frame * 3000, frame % 30 === 0 ? KEY : DELTA);
    pub.rtp('audio', 20_000 + frame, 900_000 + frame * 1600, OPUS_FRAME);
    for (const feed of set.feeds) set.rtp(feed.name, (feed.ssrc & 0xffff) + frame, feed.ssrc * 7 + frame * 3000, frame % 30 === 15 ? RENDITION_KEY : RENDITION_DELTA);
    router.flush();
    if (frame % 6 === 0) {
      for (const peer of viewers) {
        const video = peer.received('video').length;
        const last = reported.get(peer) ?? { packets: 0, lost: 0 };
        const now = { packets: video, lost: last.lost + Math.round((video - last.packets) * loss) };
        reported.set(peer, now);
        peer.feedback({ type: 'report', kind: 'video', fractionLost: loss, cumulativeLost: now.lost, highestSequence: 100_000 + video, jitterMs: 1, rttMs: 20 });
      }
    }
  }
}

describe('StreamRouter: the server chooses for unpinned viewers', () => {
  beforeEach(() => {
    frame = 0;
    reported.clear();
  });

  it('a viewer whose reports say 30 % loss moves down at once, switching at the rendition\'s keyframe with continuous numbering', () => {
    const v = viewer();
    play(3, [v.peer], 0);
    expect(router.layers(v.session.id)).toMatchObject({ pinned: null, active: 'source' });
    play(2, [v.peer], 0.3);
    const layers = router.layers(v.session.id);
    expect(layers.pinned).toBeNull();
    expect(layers.active).not.toBe('source');
    expect(router.renditionSwitches).toEqual({ up: 0, down: 1 });
    const video = v.peer.received('video');
    for (let i = 1; i < video.length; i++) expect(serialDiff(video[i - 1]!.seq, video[i]!.seq, 0x10000), `sequence at ${i}`).toBe(1);
    // The first packet of the rendition is its keyframe.
    const firstOfRendition = video.findIndex((p) => p.payload.at(-1) === 2);
    expect(firstOfRendition).toBeGreaterThan(0);
    expect(video[firstOfRendition]!.payload.equals(RENDITION_KEY)).toBe(true);
    // Then a clean path: it comes back up, one rung at a time, and is counted.
    play(40, [v.peer], 0);
    expect(router.layers(v.session.id).active).toBe('source');
    expect(router.renditionSwitches.up).toBeGreaterThanOrEqual(1);
    expect(router.renditionSwitches.up).toBe(router.renditionSwitches.down);
  });

  it('a pinned viewer stays pinned whatever its feedback says; unpinned, it moves', () => {
    const pinned = viewer();
    router.pinRendition(pinned.session.id, 'source');
    play(2, [pinned.peer], 0);
    play(3, [pinned.peer], 0.4);
    expect(router.layers(pinned.session.id)).toMatchObject({ pinned: 'source', active: 'source', pending: null });
    expect(router.renditionSwitches).toEqual({ up: 0, down: 0 });
    router.pinRendition(pinned.session.id, undefined);
    play(3, [pinned.peer], 0.4);
    expect(router.layers(pinned.session.id).active).not.toBe('source');
  });

  it('another node\'s edge pull keeps the source: it serves its own viewers, whose paths differ', () => {
    const edge = viewer({ edgeNode: 'node-b' });
    play(2, [edge.peer], 0);
    play(3, [edge.peer], 0.5);
    expect(router.renditionStates().find((r) => r.name === 'source')).toBeDefined();
    expect(router.renditionSwitches).toEqual({ up: 0, down: 0 });
  });

  it('viewers move on their own: a lossy one goes down, a clean one on the same stream stays on the source', () => {
    const lossy = viewer();
    const clean = viewer();
    play(2, [lossy.peer, clean.peer], 0);
    // Each viewer's own reports: only the first one loses.
    for (let i = 0; i < 3; i++) {
      play(1, [lossy.peer], 0.3);
      play(0, [clean.peer], 0);
    }
    expect(router.layers(lossy.session.id).active).not.toBe('source');
    expect(router.layers(clean.session.id).active).toBe('source');
    expect(router.renditionStates().map((r) => `${r.name}:${r.viewers}`)).toContain('source:1');
  });
});
