import { describe, expect, it } from 'vitest';
import { seededRandom } from '../webrtc/rtcp/test-random';
import { SendClock } from '../webrtc/rtcp/send-clock';
import { RenditionTimeline, rungTimestampOf, sourceTimestampOf, timestampDistance, type ForwardedVideo } from './rendition-timeline';

const WRAP = 0x1_0000_0000;

describe('rendition timestamps against the source', () => {
  it('maps a rung timestamp to its source frame and back, across the 32-bit wrap on either side', () => {
    for (const anchor of [
      { sourceTimestamp: 1_000, rungTimestamp: 5_000_000 },
      { sourceTimestamp: WRAP - 1_500, rungTimestamp: 42 },
      { sourceTimestamp: 7, rungTimestamp: WRAP - 3_000 },
      { sourceTimestamp: WRAP - 1, rungTimestamp: WRAP - 1 },
    ]) {
      for (const frames of [0, 1, 2, 30, 90_000, -1, -30]) {
        const source = (anchor.sourceTimestamp + frames * 3_000 + WRAP * 2) % WRAP;
        const rung = rungTimestampOf(anchor, source);
        expect(rung).toBe((anchor.rungTimestamp + frames * 3_000 + WRAP * 2) % WRAP);
        expect(sourceTimestampOf(anchor, rung)).toBe(source);
      }
    }
  });

  it('round-trips random anchors and distances (fuzz, seeded)', () => {
    const random = seededRandom(20261203);
    for (let i = 0; i < 5_000; i++) {
      const anchor = { sourceTimestamp: Math.floor(random() * WRAP), rungTimestamp: Math.floor(random() * WRAP) };
      // Within half the timestamp space: further is ambiguous by RFC 3550's modular arithmetic.
      const distance = Math.floor((random() - 0.5) * (WRAP / 2 - 2));
      const rung = (anchor.rungTimestamp + distance + WRAP) % WRAP;
      const source = sourceTimestampOf(anchor, rung);
      expect(source).toBeGreaterThanOrEqual(0);
      expect(source).toBeLessThan(WRAP);
      expect(timestampDistance(anchor.sourceTimestamp, source)).toBe(distance);
      expect(rungTimestampOf(anchor, source)).toBe(rung);
    }
  });
});

/** A 30 fps source forwarded to ffmpeg, and the rungs ffmpeg sends back `transcodeMs` later with a random base each. */
function pipeline(transcodeMs: number, sourceBase: number) {
  const forwarded: ForwardedVideo & { firstKeyframeTimestamp: number | undefined } = { firstKeyframeTimestamp: undefined, clock: new SendClock(90_000) };
  const sourceFrame = (n: number) => ({ timestamp: (sourceBase + n * 3_000) % WRAP, at: 1_000 + (n * 100) / 3 });
  return { forwarded, sourceFrame, rungFrame: (n: number, rungBase: number, firstFrame: number) => ({ timestamp: (rungBase + (n - firstFrame) * 3_000) % WRAP, at: sourceFrame(n).at + transcodeMs }) };
}

describe('RenditionTimeline', () => {
  it('gives each rung the delay behind its source frame, whatever the rung\'s own base', () => {
    const { forwarded, sourceFrame, rungFrame } = pipeline(110, WRAP - 30 * 3_000);
    const timeline = new RenditionTimeline(forwarded);
    // ffmpeg listens from frame 10 on; its first keyframe is frame 12 (what it starts from).
    forwarded.firstKeyframeTimestamp = sourceFrame(12).timestamp;
    const delays: Array<number | undefined> = [];
    for (let n = 0; n < 120; n++) {
      const source = sourceFrame(n);
      forwarded.clock.observe(source.timestamp, source.at);
      // Rung frames arrive 110 ms later: frame n − 4 of the rung (with 4 frames in flight) comes now.
      const shown = n - 4;
      if (shown < 12) continue;
      for (const [ssrc, base] of [[1, 77], [2, WRAP - 100]] as const) {
        const rung = rungFrame(shown, base, 12);
        delays.push(timeline.delayOf(ssrc, rung.timestamp, rung.at));
      }
    }
    expect(delays.every((d) => d !== undefined && Math.abs(d - 110) < 0.001)).toBe(true);
  });

  it('smooths one late frame and ignores an implausible one; without an anchor it says nothing', () => {
    const { forwarded, sourceFrame, rungFrame } = pipeline(100, 0);
    const timeline = new RenditionTimeline(forwarded);
    for (let n = 0; n < 10; n++) forwarded.clock.observe(sourceFrame(n).timestamp, sourceFrame(n).at);
    // No anchor yet when the rung's first packet comes: that rung stays unmapped.
    expect(timeline.delayOf(9, rungFrame(5, 0, 5).timestamp, rungFrame(5, 0, 5).at)).toBeUndefined();
    expect(timeline.delayOf(9, rungFrame(6, 0, 5).timestamp, rungFrame(6, 0, 5).at)).toBeUndefined();

    forwarded.firstKeyframeTimestamp = sourceFrame(5).timestamp;
    const first = rungFrame(5, 1234, 5);
    expect(timeline.delayOf(1, first.timestamp, first.at)).toBeCloseTo(100, 6);
    const late = rungFrame(6, 1234, 5);
    const smoothed = timeline.delayOf(1, late.timestamp, late.at + 80)!;
    expect(smoothed).toBeGreaterThan(100);
    expect(smoothed).toBeLessThan(120);
    // A frame dated 10 s behind its source: the anchor cannot be right for it.
    const wild = rungFrame(7, 1234, 5);
    expect(timeline.delayOf(1, wild.timestamp, wild.at + 10_000)).toBe(smoothed);
    expect(timeline.implausibleFrames(1)).toBe(1);
  });
});
