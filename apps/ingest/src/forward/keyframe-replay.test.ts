import { describe, expect, it } from 'vitest';
import { KeyframeReplay } from './keyframe-replay';

const pkt = (tag: number, size = 100) => Buffer.alloc(size, tag);
const tags = (packets: Array<{ kind: string; data: Buffer }>) => packets.map((p) => `${p.kind[0]}${p.data[0]}`);

describe('KeyframeReplay', () => {
  it('keeps video and audio from the last keyframe on, and replays them once', () => {
    const replay = new KeyframeReplay();
    replay.record('audio', pkt(1), false, 0); // before any keyframe: not replayable
    replay.record('video', pkt(2), false, 0);
    replay.record('video', pkt(3), true, 10); // keyframe
    replay.record('video', pkt(4), false, 11);
    replay.record('audio', pkt(5), false, 20);
    replay.record('video', pkt(6), true, 40); // a newer keyframe replaces the older one
    replay.record('audio', pkt(7), false, 41);
    replay.record('video', pkt(8), false, 60);
    expect(tags(replay.take(100))).toEqual(['v6', 'a7', 'v8']);
    // Once per forward: nothing is kept after a take.
    replay.record('video', pkt(9), true, 110);
    expect(replay.take(120)).toEqual([]);
    expect(replay.finished).toBe(true);
  });

  it('replays nothing without a keyframe, or one older than maxAgeMs', () => {
    const none = new KeyframeReplay();
    none.record('video', pkt(1), false, 0);
    none.record('audio', pkt(2), false, 0);
    expect(none.take(10)).toEqual([]);

    const old = new KeyframeReplay({ maxAgeMs: 1000 });
    old.record('video', pkt(1), true, 0);
    old.record('video', pkt(2), false, 500);
    expect(old.take(1001)).toEqual([]);
  });

  it('drops everything past a bound and keeps again from the next keyframe', () => {
    const replay = new KeyframeReplay({ maxPackets: 3, maxBytes: 1000, maxAgeMs: 1000 });
    replay.record('video', pkt(1), true, 0);
    replay.record('video', pkt(2), false, 1);
    replay.record('video', pkt(3), false, 2);
    replay.record('video', pkt(4), false, 3); // fourth packet: over maxPackets
    expect(replay.size.packets).toBe(0);
    replay.record('video', pkt(5), false, 4); // not a keyframe: still nothing
    expect(replay.size.packets).toBe(0);
    replay.record('video', pkt(6), true, 5);
    replay.record('video', pkt(7, 950), false, 6); // over maxBytes
    expect(replay.size).toEqual({ packets: 0, bytes: 0 });
    replay.record('video', pkt(8), true, 7);
    replay.record('video', pkt(9), false, 1008); // older than maxAgeMs when recorded
    expect(replay.size.packets).toBe(0);
    replay.record('video', pkt(10), true, 1100);
    expect(tags(replay.take(1200))).toEqual(['v10']);
  });
});
