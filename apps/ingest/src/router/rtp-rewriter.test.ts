import { describe, expect, it } from 'vitest';
import { RtpRewriter, serialDiff, serializeRtp } from './rtp-rewriter';

type Step = { ssrc: number; seq: number; ts: number; at: number; out: [number, number] | undefined };

function run(steps: Step[]) {
  const rewriter = new RtpRewriter({ ssrc: 777, payloadType: 102, clockRate: 90000 });
  return steps.map((s) => {
    const out = rewriter.process({ ssrc: s.ssrc, sequenceNumber: s.seq, timestamp: s.ts, payloadType: 96 }, s.at);
    if (out) expect(out).toMatchObject({ ssrc: 777, payloadType: 102 });
    return out && [out.sequenceNumber, out.timestamp];
  });
}

describe('RtpRewriter', () => {
  it('noOverlap (audio): a new source that follows sooner than one packet still starts one packet on', () => {
    const audio = new RtpRewriter({ ssrc: 5, payloadType: 111, clockRate: 48000, noOverlap: true });
    const plain = new RtpRewriter({ ssrc: 5, payloadType: 111, clockRate: 48000 });
    for (const rewriter of [audio, plain]) {
      rewriter.process({ ssrc: 1, sequenceNumber: 10, timestamp: 0, payloadType: 111 }, 0);
      rewriter.process({ ssrc: 1, sequenceNumber: 11, timestamp: 960, payloadType: 111 }, 20);
      rewriter.reset();
    }
    // 8 ms later: the plain rewriter dates it 8 ms on, over the 20 ms the last packet still plays.
    expect(audio.process({ ssrc: 1, sequenceNumber: 40, timestamp: 50_000, payloadType: 111 }, 28)?.timestamp).toBe(1920);
    expect(plain.process({ ssrc: 1, sequenceNumber: 40, timestamp: 50_000, payloadType: 111 }, 28)?.timestamp).toBe(960 + 384);
    // Later than one packet: by the wall clock, as always.
    audio.reset();
    expect(audio.process({ ssrc: 1, sequenceNumber: 70, timestamp: 90_000, payloadType: 111 }, 128)?.timestamp).toBe(1920 + 100 * 48);
  });

  const table: Array<{ name: string; steps: Step[] }> = [
    {
      name: 'first source passes through unchanged',
      steps: [
        { ssrc: 1, seq: 100, ts: 1000, at: 0, out: [100, 1000] },
        { ssrc: 1, seq: 101, ts: 4000, at: 33, out: [101, 4000] },
      ],
    },
    {
      name: 'publisher switch keeps sequence and timestamp continuity',
      steps: [
        { ssrc: 1, seq: 100, ts: 1000, at: 0, out: [100, 1000] },
        { ssrc: 1, seq: 101, ts: 4000, at: 33, out: [101, 4000] },
        // new publisher 1 s later, random seq/ts: continues at 102, ts + 1 s * 90 kHz
        { ssrc: 2, seq: 5000, ts: 777777, at: 1033, out: [102, 94000] },
        { ssrc: 2, seq: 5001, ts: 780777, at: 1066, out: [103, 97000] },
      ],
    },
    {
      // A viewer moved source → rendition → source: each origin's numbering went on meanwhile;
      // the viewer's goes on by one at each switch, its time by the wall clock.
      name: 'rendition switch and back: A → B → A',
      steps: [
        { ssrc: 1, seq: 100, ts: 1000, at: 0, out: [100, 1000] },
        { ssrc: 1, seq: 101, ts: 4000, at: 33, out: [101, 4000] },
        { ssrc: 9, seq: 40_000, ts: 3_000_000, at: 66, out: [102, 6970] },
        { ssrc: 9, seq: 40_001, ts: 3_003_000, at: 100, out: [103, 9970] },
        { ssrc: 1, seq: 104, ts: 13_000, at: 133, out: [104, 12_940] },
        { ssrc: 1, seq: 105, ts: 16_000, at: 166, out: [105, 15_940] },
      ],
    },
    {
      name: 'sequence wraps 65535 → 0',
      steps: [
        { ssrc: 1, seq: 65534, ts: 0, at: 0, out: [65534, 0] },
        { ssrc: 1, seq: 65535, ts: 3000, at: 33, out: [65535, 3000] },
        { ssrc: 1, seq: 0, ts: 6000, at: 66, out: [0, 6000] },
      ],
    },
    {
      name: 'switch right before the output wraps',
      steps: [
        { ssrc: 1, seq: 65535, ts: 4294967000, at: 0, out: [65535, 4294967000] },
        { ssrc: 2, seq: 10, ts: 50, at: 10, out: [0, 604] },
        { ssrc: 2, seq: 11, ts: 3050, at: 43, out: [1, 3604] },
      ],
    },
    {
      name: 'timestamp wraps 2^32 → 0 through the offset',
      steps: [
        { ssrc: 1, seq: 1, ts: 4294967290, at: 0, out: [1, 4294967290] },
        { ssrc: 2, seq: 1, ts: 4294967290, at: 1000, out: [2, 89994] },
        { ssrc: 2, seq: 2, ts: 5, at: 1010, out: [3, 90005] },
      ],
    },
    {
      name: 'reordered packet keeps its relative position; packets before the switch point are dropped',
      steps: [
        { ssrc: 1, seq: 10, ts: 0, at: 0, out: [10, 0] },
        { ssrc: 2, seq: 500, ts: 9000, at: 100, out: [11, 9000] },
        { ssrc: 2, seq: 502, ts: 9000, at: 101, out: [13, 9000] },
        { ssrc: 2, seq: 501, ts: 9000, at: 102, out: [12, 9000] },
        { ssrc: 2, seq: 499, ts: 6000, at: 103, out: undefined },
      ],
    },
    {
      name: 'switch back to an earlier SSRC is a new source too',
      steps: [
        { ssrc: 1, seq: 10, ts: 0, at: 0, out: [10, 0] },
        { ssrc: 2, seq: 20, ts: 0, at: 0, out: [11, 1] },
        { ssrc: 1, seq: 11, ts: 3000, at: 0, out: [12, 2] },
      ],
    },
  ];
  it.each(table)('$name', ({ steps }) => {
    expect(run(steps)).toEqual(steps.map((s) => s.out));
  });

  describe('skip() (packets received but not forwarded, e.g. padding-only probes)', () => {
    const make = () => new RtpRewriter({ ssrc: 777, payloadType: 102, clockRate: 90000 });
    const seq = (r: RtpRewriter, ssrc: number, n: number, at = 0) => r.process({ ssrc, sequenceNumber: n, timestamp: 0, payloadType: 96 }, at)?.sequenceNumber;

    it('takes skipped packets out of the numbering: no hole at the viewer', () => {
      const r = make();
      expect(seq(r, 1, 100)).toBe(100);
      for (let n = 101; n <= 113; n += 1) r.skip({ ssrc: 1, sequenceNumber: n });
      expect([seq(r, 1, 114), seq(r, 1, 115)]).toEqual([101, 102]);
    });

    it('right after a publisher switch (Chrome probes just after its first keyframe)', () => {
      const r = make();
      expect(seq(r, 1, 500)).toBe(500);
      expect(seq(r, 2, 4774, 1000)).toBe(501);
      for (let n = 4775; n <= 4787; n += 1) r.skip({ ssrc: 2, sequenceNumber: n });
      expect(seq(r, 2, 4788)).toBe(502);
      r.skip({ ssrc: 2, sequenceNumber: 4789 });
      r.skip({ ssrc: 2, sequenceNumber: 4791 });
      expect([seq(r, 2, 4790), seq(r, 2, 4792)]).toEqual([503, 504]);
    });

    it('a packet reordered across a skip keeps its place', () => {
      const r = make();
      expect(seq(r, 1, 10)).toBe(10);
      expect(seq(r, 1, 12)).toBe(12); // 11 late
      r.skip({ ssrc: 1, sequenceNumber: 13 });
      expect(seq(r, 1, 14)).toBe(13);
      expect(seq(r, 1, 11)).toBe(11);
    });

    it('an old skipped packet stays a hole (its successors are already numbered); other sources and no source change nothing', () => {
      const r = make();
      r.skip({ ssrc: 1, sequenceNumber: 9 });
      expect(seq(r, 1, 10)).toBe(10);
      expect(seq(r, 1, 12)).toBe(12);
      r.skip({ ssrc: 1, sequenceNumber: 11 });
      r.skip({ ssrc: 2, sequenceNumber: 13 });
      expect(seq(r, 1, 13)).toBe(13);
    });

    it('across the 16-bit wrap and after forgetting old skips', () => {
      const r = make();
      expect(seq(r, 1, 65530)).toBe(65530);
      r.skip({ ssrc: 1, sequenceNumber: 65535 });
      r.skip({ ssrc: 1, sequenceNumber: 0 });
      expect(seq(r, 1, 65531)).toBe(65531);
      expect(seq(r, 1, 1)).toBe(65535); // 65532–65534 not (yet) seen, 65535 and 0 skipped
      let expected = 65535;
      for (let n = 2; n < 10_000; n += 1) {
        if (n % 3 === 0) r.skip({ ssrc: 1, sequenceNumber: n });
        else {
          expected = (expected + 1) % 0x10000;
          expect(seq(r, 1, n)).toBe(expected);
        }
      }
      expect(seq(r, 1, 2)).toBeUndefined(); // older than the forgotten skips: dropped, never misnumbered
    });
  });

  it('reset() rebases even with the same SSRC (a reconnect reusing SSRCs)', () => {
    const rewriter = new RtpRewriter({ ssrc: 9, payloadType: 111, clockRate: 48000 });
    rewriter.process({ ssrc: 1, sequenceNumber: 40000, timestamp: 0, payloadType: 111 }, 0);
    rewriter.reset();
    expect(rewriter.process({ ssrc: 1, sequenceNumber: 3, timestamp: 0, payloadType: 111 }, 20)).toMatchObject({ sequenceNumber: 40001, timestamp: 960 });
  });
});

describe('serialDiff', () => {
  it.each([
    [65535, 0, 0x10000, 1],
    [0, 65535, 0x10000, -1],
    [100, 200, 0x10000, 100],
    [4294967295, 0, 0x100000000, 1],
  ])('%i → %i (mod %i) = %i', (a, b, mod, expected) => expect(serialDiff(a, b, mod)).toBe(expected));
});

describe('serializeRtp', () => {
  it('writes V=2, marker, payload type, sequence, timestamp, SSRC and the payload', () => {
    const packet = serializeRtp({ payloadType: 102, sequenceNumber: 0xbeef, timestamp: 0xdeadbeef, ssrc: 0xffffffff, marker: true, payload: Buffer.from([0xaa, 0xbb]) });
    expect([...packet]).toEqual([0x80, 0x80 | 102, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xbb]);
  });

  it('clears the marker bit when unset', () => {
    const packet = serializeRtp({ payloadType: 96, sequenceNumber: 1, timestamp: 2, ssrc: 3, marker: false, payload: Buffer.alloc(0) });
    expect([...packet]).toEqual([0x80, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
  });
});
