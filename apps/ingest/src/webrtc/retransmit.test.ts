import { describe, expect, it } from 'vitest';
import { MAX_RETRANSMIT_SHARE, MAX_RETRANSMITS_PER_SECOND, MIN_RETRANSMIT_BYTES, resendHoldoffMs, RetransmitBudget, RetransmitRing } from './retransmit';

const packet = (sequenceNumber: number, bytes = 1200) => ({ sequenceNumber, timestamp: sequenceNumber * 3000, ssrc: 1, payloadType: 96, marker: false, payload: Buffer.alloc(bytes) });

describe('resend pacing', () => {
  it('a packet Chrome NACKs every 100 ms behind a 600 ms round trip goes out once a round trip, not with every NACK', () => {
    const ring = new RetransmitRing();
    ring.store(packet(5), 0, 1200);
    const resentAt: number[] = [];
    for (let now = 100; now <= 1400; now += 100) {
      if (!ring.mayResend(5, now, resendHoldoffMs(600))) continue;
      ring.markResent(5, now);
      resentAt.push(now);
    }
    expect(resentAt).toEqual([100, 700, 1300]);
    // A fresh path (a 20 ms round trip): a NACK a few ms after the resend is the same loss seen twice.
    expect(resendHoldoffMs(3)).toBe(20);
    // Stored again (the sequence came round): resendable at once.
    ring.store(packet(5), 1400, 2400);
    expect(ring.mayResend(5, 1401, resendHoldoffMs(600))).toBe(true);
  });

  it('resent bytes stay within a quarter of what the viewer was sent over the last second (a minimum on a quiet path), and within the count cap', () => {
    const budget = new RetransmitBudget();
    // 1.2 Mbit/s to the viewer: 150 KB a second. Resends asked for as fast as they can go.
    const perSecond: number[] = [];
    let sent = 0;
    for (let second = 0; second < 3; second++) {
      let bytes = 0;
      for (let ms = 0; ms < 1000; ms += 5) {
        sent += 750;
        if (budget.allow(second * 1000 + ms, 1212, sent)) bytes += 1212;
      }
      perSecond.push(bytes);
    }
    // The first second knows no rate yet: the minimum.
    expect(perSecond[0]).toBeLessThanOrEqual(MIN_RETRANSMIT_BYTES);
    expect(perSecond[0]).toBeGreaterThan(MIN_RETRANSMIT_BYTES - 1212);
    for (const bytes of perSecond.slice(1)) {
      expect(bytes).toBeLessThanOrEqual(150_000 * MAX_RETRANSMIT_SHARE);
      expect(bytes).toBeGreaterThan(150_000 * MAX_RETRANSMIT_SHARE - 1212 * 2);
    }
    // Tiny resends on a fast path: the count caps them.
    const count = new RetransmitBudget();
    let allowed = 0;
    for (let i = 0; i < 1000; i++) if (count.allow(i * 0.5, 20, 10_000_000 + i * 10_000)) allowed += 1;
    expect(allowed).toBe(MAX_RETRANSMITS_PER_SECOND);
  });

  it('the ring says when a packet left and the octets up to it (how far behind a report is), and forgets what it overwrote', () => {
    const ring = new RetransmitRing();
    ring.store(packet(70_000 & 0xffff), 12.5, 3600);
    expect(ring.sent(70_000)).toEqual({ at: 12.5, octets: 3600 });
    expect(ring.get(70_000 & 0xffff, 9)?.ssrc).toBe(9);
    ring.store(packet((70_000 + 1024) & 0xffff), 20, 4800);
    expect(ring.sent(70_000)).toBeUndefined();
  });
});
