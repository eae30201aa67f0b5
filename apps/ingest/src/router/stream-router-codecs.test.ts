/**
 * Viewers in another codec than the source's: a VP8-only browser watching an H.264 stream is
 * served a VP8 rendition the transcoder makes on demand; the router says which codecs are wanted,
 * holds such a viewer (bounded) until its rendition comes, and never sends it the source's video.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeFeed, FakePublisher, FakeRenditionSet, FakeViewer, H264, OPUS, OPUS_FRAME, P_SLICE, SPS, VP8 } from './router-test-kit';
import { PublisherSession, ViewerSession } from './sessions';
import { StreamRouter } from './stream-router';

const log = pino({ level: 'silent' });
/** A VP8 key frame's payload descriptor + frame tag (RFC 7741 §4.2, RFC 6386 §9.1), then a delta frame's. */
const VP8_KEY = Buffer.from([0x10, 0x50, 0x03, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02]);
const VP8_DELTA = Buffer.from([0x10, 0x31, 0x02, 0x00]);
let clock = 0;
let router: StreamRouter;
let pub: FakePublisher;
let wanted: string[][];

beforeEach(() => {
  vi.useFakeTimers();
  clock = 1_000_000;
  wanted = [];
  router = new StreamRouter({ streamId: 's1', keyframeIntervalMs: 500, renditionWaitMs: 8_000, counters: { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 }, log, now: () => clock });
  router.on('renditions-wanted', (codecs) => wanted.push(codecs));
  pub = new FakePublisher({ video: H264, audio: OPUS }, { video: 1111, audio: 2222 });
  router.attachPublisher(new PublisherSession('whip', 's1', pub, log, 10_000));
  pub.connect();
});
afterEach(() => {
  router.close('test_end');
  vi.useRealTimers();
});

function viewer(video = { ...VP8, payloadType: 120 }) {
  const peer = new FakeViewer({ video, audio: { ...OPUS, payloadType: 109 } }, { video: 9000, audio: 9001 });
  const session = new ViewerSession('s1', peer, log, 10_000);
  router.addViewer(session);
  peer.connect();
  return { peer, session };
}

function vp8Set(instance = 'tx-1') {
  const set = new FakeRenditionSet(instance, [new FakeFeed('720p-vp8', 1280, 720, 2000, 0xf8, 'VP8')]);
  router.attachRenditions(set);
  return set;
}

/** One frame of the source (H.264) and of each VP8 feed of `set`. */
function frame(i: number, set?: FakeRenditionSet, vp8Key = false) {
  clock += 33;
  pub.rtp('video', 10_000 + i, 500_000 + i * 3000, i === 0 ? SPS : P_SLICE);
  pub.rtp('audio', 20_000 + i, 900_000 + i * 1600, OPUS_FRAME);
  for (const feed of set?.feeds ?? []) set!.rtp(feed.name, 40_000 + i, 7_000_000 + i * 3000, vp8Key ? VP8_KEY : VP8_DELTA);
  router.flush();
}

describe('a viewer in another codec than the source', () => {
  it('asks for VP8 while it watches, gets only audio until the VP8 rendition comes, then VP8 from its keyframe, never H.264', () => {
    frame(0);
    const v = viewer();
    expect(wanted).toEqual([['VP8']]);
    expect(router.renditionsWanted).toEqual(['VP8']);
    expect(router.layers(v.session.id)).toMatchObject({ active: 'none', layers: [] });
    for (let i = 1; i < 5; i++) frame(i);
    expect(v.peer.received('video')).toEqual([]);
    expect(v.peer.received('audio')).toHaveLength(4);
    const set = vp8Set();
    frame(5, set);
    frame(6, set, true);
    frame(7, set);
    const video = v.peer.received('video');
    expect(video.map((p) => (p.payload.equals(VP8_KEY) ? 'K' : p.payload.equals(VP8_DELTA) ? 'd' : 'H264!'))).toEqual(['K', 'd']);
    // The viewer's own SSRC and payload type.
    expect(new Set(video.map((p) => `${p.ssrc}/${p.pt}`))).toEqual(new Set(['9000/120']));
    expect(router.layers(v.session.id)).toMatchObject({ active: '720p-vp8', layers: [{ encodingId: '720p-vp8', kind: 'transcoded', codec: 'VP8' }] });
    expect(router.renditionStates().map((r) => `${r.name}:${r.codec}:${r.viewers}`)).toEqual(['source:H264:0', '720p-vp8:VP8:1']);
    // Wanted as long as it watches; not any more once it leaves.
    v.session.close('deleted_by_client');
    expect(wanted).toEqual([['VP8'], []]);
  });

  it('on a clean link it stays on its VP8 rendition: no trials up to a source it cannot get, no switches counted', () => {
    frame(0);
    const v = viewer();
    const set = vp8Set();
    let received = 0;
    // 20 s of frames, a VP8 keyframe a second, and every 200 ms a receiver report without loss.
    for (let i = 1; i <= 600; i++) {
      frame(i, set, i % 30 === 1);
      if (i % 6 === 0) {
        received = v.peer.received('video').length;
        v.peer.feedback({ type: 'report', kind: 'video', fractionLost: 0, cumulativeLost: 0, highestSequence: 100_000 + received, jitterMs: 1, rttMs: 20 });
      }
    }
    expect(router.layers(v.session.id)).toMatchObject({ active: '720p-vp8' });
    expect(router.renditionSwitches).toEqual({ up: 0, down: 0 });
    expect(received).toBeGreaterThan(500);
  });

  it('is closed when no rendition in its codec comes in time, and is never served the source', () => {
    frame(0);
    const v = viewer();
    vi.advanceTimersByTime(7_900);
    expect(v.session.closed).toBe(false);
    vi.advanceTimersByTime(200);
    expect(v.session.closeReason).toBe('rendition_unavailable');
    expect(v.peer.received('video')).toEqual([]);
  });

  it('a viewer in the source\'s codec wants nothing and is never held back', () => {
    viewer({ ...H264, payloadType: 102 });
    frame(0);
    expect(wanted).toEqual([]);
    vi.advanceTimersByTime(20_000);
    expect(router.renditionsWanted).toEqual([]);
  });

  it('pinning: only renditions in its codec, `source` refused', () => {
    const set = vp8Set();
    frame(0, set, true);
    const v = viewer();
    expect(() => router.pinRendition(v.session.id, 'source')).toThrow(expect.objectContaining({ code: 'rendition_not_found' }));
    expect(router.pinRendition(v.session.id, '720p-vp8')).toMatchObject({ pinned: '720p-vp8' });
  });

  it('keeps its session across a publisher takeover and waits for the new VP8 rendition', () => {
    const set = vp8Set();
    const v = viewer();
    frame(0, set, true);
    frame(1, set);
    expect(v.peer.received('video')).toHaveLength(2);
    // An OBS reconnect: a new H.264 publisher takes over; the old renditions end with the old one.
    const next = new FakePublisher({ video: H264, audio: OPUS }, { video: 3333, audio: 4444 });
    router.attachPublisher(new PublisherSession('whip', 's1', next, log, 10_000));
    next.connect();
    expect(set.closeReason).toBe('stream_offline');
    expect(v.session.closed).toBe(false);
    expect(router.layers(v.session.id).active).toBe('none');
    const again = vp8Set();
    clock += 33;
    again.rtp('720p-vp8', 50_000, 9_000_000, VP8_KEY);
    router.flush();
    expect(v.peer.received('video')).toHaveLength(3);
    expect(router.layers(v.session.id).active).toBe('720p-vp8');
  });

  it('an H.264 viewer of a VP8 source is served the transcoded H.264 ladder; VP8 is not wanted for it', () => {
    router.close('restart');
    router = new StreamRouter({ streamId: 's2', keyframeIntervalMs: 500, counters: { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 }, log, now: () => clock });
    router.on('renditions-wanted', (codecs) => wanted.push(codecs));
    const vp8Pub = new FakePublisher({ video: VP8, audio: OPUS }, { video: 5555, audio: 6666 });
    router.attachPublisher(new PublisherSession('whip', 's2', vp8Pub, log, 10_000));
    vp8Pub.connect();
    const ladder = new FakeRenditionSet('tx-1', [new FakeFeed('480p', 854, 480, 1400, 0x480), new FakeFeed('720p', 1280, 720, 2800, 0x720)]);
    router.attachRenditions(ladder);
    const peer = new FakeViewer({ video: { ...H264, payloadType: 102 }, audio: { ...OPUS, payloadType: 109 } }, { video: 7000, audio: 7001 });
    const session = new ViewerSession('s2', peer, log, 10_000);
    router.addViewer(session);
    peer.connect();
    expect(wanted).toEqual([]);
    // The largest rendition in its codec.
    expect(router.layers(session.id)).toMatchObject({ active: '720p', layers: [{ encodingId: '480p' }, { encodingId: '720p' }] });
  });
});
