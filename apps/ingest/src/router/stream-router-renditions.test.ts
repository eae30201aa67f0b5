import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeFeed, FakePublisher, FakeRenditionSet, FakeViewer, H264, OPUS, OPUS_FRAME, P_SLICE, SPS, VP8 } from './router-test-kit';
import { serialDiff } from './rtp-rewriter';
import { PublisherSession, ViewerSession } from './sessions';
import { StreamRouter } from './stream-router';

const log = pino({ level: 'silent' });
let clock = 0;
let router: StreamRouter;
let pub: FakePublisher;

beforeEach(() => {
  // The keyframe requester's rate limit runs on timers: fake ones, advanced by the tests.
  vi.useFakeTimers();
  clock = 1_000_000;
  router = new StreamRouter({ streamId: 's1', keyframeIntervalMs: 500, counters: { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 }, log, now: () => clock });
  pub = new FakePublisher({ video: H264, audio: OPUS }, { video: 1111, audio: 2222 });
  router.attachPublisher(new PublisherSession('whip', 's1', pub, log, 10_000));
  pub.connect();
});
afterEach(() => {
  router.close('test_end');
  vi.useRealTimers();
});

/** PLIs the publisher got once the rate limit's window has passed. */
function keyframeRequestsAfterWindow(): number {
  vi.advanceTimersByTime(500);
  return pub.keyframeRequests;
}

function viewer(video = { ...H264, payloadType: 102 }) {
  const peer = new FakeViewer({ video, audio: { ...OPUS, payloadType: 109 } }, { video: 7000, audio: 7001 });
  const session = new ViewerSession('s1', peer, log, 10_000);
  router.addViewer(session);
  peer.connect();
  return { peer, session };
}

function renditions(instance = 'tx-1') {
  const set = new FakeRenditionSet(instance, [new FakeFeed('720p', 1280, 720, 2800, 0x720), new FakeFeed('360p', 640, 360, 800, 0x360)]);
  router.attachRenditions(set);
  return set;
}

/**
 * Plays 30 fps for `frames` frames from `from` (ms of the fake clock): at every frame the source
 * sends one packet and each rendition one packet, and every `gop` frames each sends its keyframe
 * (renditions half a GOP after the source, as the transcoder's clock has it). Flushes every frame.
 */
function play(set: FakeRenditionSet | undefined, frames: number, start: { frame: number; keyframeAt?: (frame: number, who: string) => boolean }) {
  for (let i = start.frame; i < start.frame + frames; i++) {
    clock = 1_000_000 + Math.round((i * 1000) / 30);
    const key = (who: string) => start.keyframeAt?.(i, who) ?? false;
    pub.rtp('video', 10_000 + i, 500_000 + i * 3000, key('source') ? SPS : P_SLICE);
    pub.rtp('audio', 20_000 + i, 900_000 + i * 1600, OPUS_FRAME);
    for (const feed of set?.feeds ?? []) set!.rtp(feed.name, (feed.ssrc & 0xffff) + i, feed.ssrc * 7 + i * 3000, key(feed.name) ? SPS : P_SLICE);
    router.flush();
  }
}

/** No hole, no repeat, time moving forward: what a player needs to see one stream. */
function assertContinuous(packets: Array<{ seq: number; ts: number }>) {
  for (let i = 1; i < packets.length; i++) {
    expect(serialDiff(packets[i - 1]!.seq, packets[i]!.seq, 0x10000), `sequence step at ${i}`).toBe(1);
    expect(serialDiff(packets[i - 1]!.ts, packets[i]!.ts, 0x1_0000_0000), `timestamp step at ${i}`).toBeGreaterThan(0);
  }
}

describe('StreamRouter renditions', () => {
  it('a viewer that pins a rendition keeps the source until the rendition\'s keyframe, then switches with continuous numbering', () => {
    const set = renditions();
    const v = viewer();
    // Keyframes: the source at frame 0, 30, 60…; each rendition at 15, 45, 75…
    const keyframeAt = (frame: number, who: string) => (who === 'source' ? frame % 30 === 0 : frame % 30 === 15);
    play(set, 5, { frame: 0, keyframeAt });
    expect(router.pinRendition(v.session.id, '360p')).toMatchObject({ pinned: '360p', active: 'source', pending: '360p' });
    play(set, 25, { frame: 5, keyframeAt });
    expect(router.layers(v.session.id)).toMatchObject({ active: '360p', pending: null });
    const video = v.peer.received('video');
    // Frames 0–15 from the source; in frame 15's turn the 360p keyframe arrives after the source's
    // packet and the viewer switches: 360p frames 15–29 follow, its keyframe first.
    expect(video).toHaveLength(31);
    expect(video.slice(0, 16).map((p) => p.payload[0])).toEqual([0x67, ...Array(15).fill(0x41)]);
    expect(video[16]!.payload.equals(SPS)).toBe(true);
    expect(video.slice(17).every((p) => p.payload[0] === 0x41)).toBe(true);
    assertContinuous(video);
    // Same SSRC and payload type throughout: the player sees one stream.
    expect(new Set(video.map((p) => `${p.ssrc}/${p.pt}`))).toEqual(new Set(['7000/102']));
    // Packets of one turn arrive at the same instant: the timestamp moves on by the least step.
    expect(serialDiff(video[15]!.ts, video[16]!.ts, 0x1_0000_0000)).toBe(1);
    // Then the rendition's own frame spacing.
    expect(serialDiff(video[16]!.ts, video[17]!.ts, 0x1_0000_0000)).toBe(3000);
    // Audio is the publisher's throughout, untouched by the video switch.
    const audio = v.peer.received('audio');
    expect(audio).toHaveLength(30);
    assertContinuous(audio);
  });

  it('switches back to the source at its next keyframe, asking the publisher for one at once', () => {
    const set = renditions();
    const v = viewer();
    const keyframeAt = (frame: number, who: string) => (who === 'source' ? frame === 0 || frame === 20 : frame % 10 === 5);
    play(set, 2, { frame: 0, keyframeAt });
    router.pinRendition(v.session.id, '720p');
    play(set, 6, { frame: 2, keyframeAt });
    expect(router.layers(v.session.id).active).toBe('720p');
    const requestsBefore = pub.keyframeRequests;
    expect(router.pinRendition(v.session.id, undefined)).toMatchObject({ pinned: null, active: '720p', pending: 'source' });
    expect(keyframeRequestsAfterWindow()).toBeGreaterThan(requestsBefore);
    play(set, 20, { frame: 8, keyframeAt });
    expect(router.layers(v.session.id)).toMatchObject({ active: 'source', pending: null });
    const video = v.peer.received('video');
    // source 0–5; 720p 5–19 (its keyframes at 5 and 15; at 5 after the source's packet); the
    // source again from its keyframe at 20, which comes before the 720p packet of that turn.
    const keyframes = video.map((p) => p.payload[0] === 0x67);
    expect(keyframes).toEqual([true, ...Array(5).fill(false), true, ...Array(9).fill(false), true, ...Array(4).fill(false), true, ...Array(7).fill(false)]);
    assertContinuous(video);
  });

  it('refuses a rendition the stream does not have, or one in a codec the viewer did not negotiate', () => {
    renditions();
    const h264 = viewer();
    expect(() => router.pinRendition(h264.session.id, '1080p')).toThrow(expect.objectContaining({ code: 'rendition_not_found' }));
    expect(() => router.pinRendition('nobody', '720p')).toThrow(expect.objectContaining({ code: 'session_not_found' }));
    const vp8 = viewer({ ...VP8, payloadType: 98 });
    expect(() => router.pinRendition(vp8.session.id, '720p')).toThrow(expect.objectContaining({ code: 'rendition_not_found' }));
    // The source is H.264 too: a VP8 viewer has nothing it can play yet (it waits for a VP8 rendition).
    expect(router.layers(vp8.session.id)).toMatchObject({ active: 'none', layers: [] });
    expect(() => router.pinRendition(vp8.session.id, 'source')).toThrow(expect.objectContaining({ code: 'rendition_not_found' }));
    expect(router.layers(h264.session.id).layers.map((l) => l.encodingId)).toEqual(['source', '720p', '360p']);
    // `source` is always there to pin for a viewer in the source's codec.
    expect(router.pinRendition(h264.session.id, 'source')).toMatchObject({ pinned: 'source', active: 'source' });
  });

  it('a viewer pinned before its first keyframe starts on the rendition, at its keyframe', () => {
    const set = renditions();
    const v = viewer();
    router.pinRendition(v.session.id, '360p');
    play(set, 10, { frame: 0, keyframeAt: (frame, who) => (who === 'source' ? frame === 0 : frame === 4) });
    const video = v.peer.received('video');
    expect(video).toHaveLength(6);
    expect(video[0]!.payload.equals(SPS)).toBe(true);
    assertContinuous(video);
  });

  it('a replacing set of the same transcoder takes its viewers over at its keyframe; another transcoder is refused', () => {
    const first = renditions('tx-1');
    const v = viewer();
    const keyframeAt = (frame: number, who: string) => frame % 10 === (who === 'source' ? 0 : 3);
    play(first, 1, { frame: 0, keyframeAt });
    router.pinRendition(v.session.id, '720p');
    play(first, 9, { frame: 1, keyframeAt });
    expect(() => router.attachRenditions(new FakeRenditionSet('tx-2', [new FakeFeed('720p', 1280, 720, 2800, 0x999)]))).toThrow(expect.objectContaining({ code: 'renditions_in_use' }));
    // ffmpeg restarted: the same instance announces a new set with new SSRCs.
    const second = new FakeRenditionSet('tx-1', [new FakeFeed('720p', 1280, 720, 2800, 0x7201)]);
    router.attachRenditions(second);
    expect(first.closeReason).toBe('replaced');
    play(first, 2, { frame: 10, keyframeAt }); // late packets of the old set: not forwarded
    play(second, 10, { frame: 12, keyframeAt });
    expect(router.layers(v.session.id)).toMatchObject({ active: '720p', pending: null });
    const video = v.peer.received('video');
    // source frames 0–3, old 720p frames 3–9 (keyframe at 3), new 720p from its keyframe at 13.
    expect(video.map((p) => p.payload[0] === 0x67)).toEqual([true, false, false, false, true, ...Array(6).fill(false), true, ...Array(8).fill(false)]);
    assertContinuous(video);
  });

  it('when the set ends (transcoder gone, stream offline), rendition viewers go back to the source at its keyframe', () => {
    const set = renditions();
    const v = viewer();
    const keyframeAt = (frame: number, who: string) => frame % 10 === (who === 'source' ? 0 : 5);
    play(set, 2, { frame: 0, keyframeAt });
    router.pinRendition(v.session.id, '360p');
    play(set, 8, { frame: 2, keyframeAt });
    const requests = pub.keyframeRequests;
    set.close('lease_expired');
    expect(router.layers(v.session.id)).toMatchObject({ pinned: '360p', active: 'source', pending: null });
    expect(keyframeRequestsAfterWindow()).toBeGreaterThan(requests);
    play(undefined, 12, { frame: 10, keyframeAt });
    const video = v.peer.received('video');
    // source 0–5, 360p 5–9 (keyframe at 5), then the source from its keyframe at 10 (and 20).
    expect(video.map((p) => p.payload[0] === 0x67)).toEqual([true, ...Array(5).fill(false), true, ...Array(4).fill(false), true, ...Array(9).fill(false), true, false]);
    assertContinuous(video);
    // The pin stays: a new set with that rendition takes the viewer back.
    const again = renditions();
    expect(router.layers(v.session.id)).toMatchObject({ active: 'source', pending: '360p' });
    // The stream going offline ends the set.
    pub.close();
    expect(again.closeReason).toBe('stream_offline');
    expect(router.renditionSets).toEqual([]);
  });

  it("a pin that admits nothing else (another node's pull of one rendition) ends the session when the rendition ends, never serving the source under its name", () => {
    const set = renditions();
    const only = viewer();
    const plain = viewer();
    const keyframeAt = (frame: number, who: string) => frame % 10 === (who === 'source' ? 0 : 5);
    router.pinRendition(only.session.id, '360p', true);
    router.pinRendition(plain.session.id, '360p');
    play(set, 10, { frame: 0, keyframeAt });
    // Before its first keyframe at frame 5, the source never reached the pinned-only viewer.
    expect(only.peer.received('video')).toHaveLength(5);
    expect(only.peer.received('video')[0]!.payload.equals(SPS)).toBe(true);
    // A name the stream does not have is refused, as for any pin.
    expect(() => router.pinRendition(only.session.id, 'nope', true)).toThrow(expect.objectContaining({ code: 'rendition_not_found' }));
    set.close('lease_expired');
    expect(only.session.closed).toBe(true);
    expect(plain.session.closed).toBe(false);
    expect(router.layers(plain.session.id)).toMatchObject({ pinned: '360p', active: 'source' });
  });

  it('reports every rendition with its viewers, and refuses a set while offline', () => {
    const set = renditions();
    const a = viewer();
    const b = viewer();
    viewer();
    const keyframeAt = (frame: number) => frame === 0;
    play(set, 1, { frame: 0, keyframeAt });
    router.pinRendition(a.session.id, '720p');
    router.pinRendition(b.session.id, '720p');
    play(set, 1, { frame: 1, keyframeAt: () => true });
    expect(router.renditionStates().map((r) => [r.name, r.kind, r.kind === 'source' ? 'measured' : r.width, r.targetKbps, r.viewers])).toEqual([
      ['source', 'source', 'measured', null, 1],
      ['720p', 'transcoded', 1280, 2800, 2],
      ['360p', 'transcoded', 640, 800, 0],
    ]);
    expect(router.liveState().renditions).toHaveLength(3);
    pub.close();
    expect(router.renditionStates()).toEqual([]);
    expect(() => router.attachRenditions(new FakeRenditionSet('tx-1', []))).toThrow(expect.objectContaining({ code: 'stream_offline' }));
  });
});
