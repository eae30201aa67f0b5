import { describe, expect, it } from 'vitest';
import { GenericNack, RTCRtpReceiver, RtcpTransportLayerFeedback, RtpHeader, RtpPacket } from 'werift';
import { pollUntil } from '../../../../test/support/poll';
import { PerSsrcNack } from './per-ssrc-nack';

/** A werift receiver whose RTCP goes to a list instead of a DTLS transport. */
function receiver(): { receiver: RTCRtpReceiver; nacks: Array<{ ssrc: number; lost: number[] }> } {
  const rx = new RTCRtpReceiver({} as never, 'video', 1);
  const nacks: Array<{ ssrc: number; lost: number[] }> = [];
  (rx as unknown as { dtlsTransport: unknown }).dtlsTransport = {
    sendRtcp: async (packets: unknown[]) => {
      for (const packet of packets) {
        const feedback = (packet as RtcpTransportLayerFeedback).feedback;
        if (feedback instanceof GenericNack) nacks.push({ ssrc: feedback.mediaSourceSsrc, lost: [...feedback.lost] });
      }
    },
  };
  return { receiver: rx, nacks };
}

const packet = (ssrc: number, sequenceNumber: number) => new RtpPacket(new RtpHeader({ ssrc, sequenceNumber, payloadType: 96 }), Buffer.from([0x41]));
const nackOf = (rx: RTCRtpReceiver) => (rx as unknown as { nack: { addPacket(p: RtpPacket): void; close(): void } }).nack;

/** Three simulcast layers, interleaved as they arrive: each in order, nothing lost. */
function interleaved(rx: RTCRtpReceiver, from = 0, count = 20) {
  for (let i = from; i < from + count; i++) for (const [ssrc, base] of [[0xa, 100], [0xb, 30_000], [0xc, 60_000]] as const) nackOf(rx).addPacket(packet(ssrc, base + i));
}

describe('PerSsrcNack (werift\'s NACK handler with simulcast)', () => {
  it('werift\'s own handler takes interleaved layers for losses and NACKs what never existed (why this exists)', async () => {
    const { receiver: rx, nacks } = receiver();
    interleaved(rx);
    await pollUntil('a NACK', () => nacks.length > 0, { timeoutMs: 2000, intervalMs: 5 });
    expect(nacks[0]!.lost.length).toBeGreaterThan(10);
    nackOf(rx).close();
  });

  it('with one handler per SSRC, interleaved layers lose nothing, and a real loss is NACKed for its own layer', async () => {
    const { receiver: rx, nacks } = receiver();
    PerSsrcNack.install(rx);
    PerSsrcNack.install(rx);
    interleaved(rx);
    // Layer 0xb loses 30 020 and 30 021.
    nackOf(rx).addPacket(packet(0xb, 30_022));
    await pollUntil('the NACK of the real loss', () => nacks.length > 0, { timeoutMs: 2000, intervalMs: 5 });
    expect(nacks.every((nack) => nack.ssrc === 0xb)).toBe(true);
    expect(new Set(nacks.flatMap((nack) => nack.lost))).toEqual(new Set([30_020, 30_021]));
    expect((nackOf(rx) as unknown as PerSsrcNack).ssrcs).toEqual([0xa, 0xb, 0xc]);
    nackOf(rx).close();
  });

  it('follows at most 8 SSRCs, the oldest forgotten first', () => {
    const { receiver: rx } = receiver();
    PerSsrcNack.install(rx);
    for (let ssrc = 1; ssrc <= 12; ssrc++) nackOf(rx).addPacket(packet(ssrc, 1));
    expect((nackOf(rx) as unknown as PerSsrcNack).ssrcs).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
    nackOf(rx).close();
  });
});
