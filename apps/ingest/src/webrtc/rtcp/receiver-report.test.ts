import { describe, expect, it } from 'vitest';
import { decodeReceiverReport, encodeReceiverReport, type ReportBlock } from './receiver-report';
import { rtcpPackets } from './rtcp-header';

const block: ReportBlock = { ssrc: 0xdeadbeef, fractionLost: 0.5, cumulativeLost: 1234, highestSequence: 0x1_0005, jitter: 300, lastSenderReport: 0xabcd1234, delaySinceLastSenderReport: 65_536 };

describe('receiver reports', () => {
  it.each<[string, ReportBlock[]]>([
    ['no block', []],
    ['one block', [block]],
    ['two blocks, one with negative cumulative loss (duplicates) and none lost since the last', [block, { ...block, ssrc: 1, fractionLost: 0, cumulativeLost: -5 }]],
    ['the largest cumulative loss (2^23 − 1) and fraction (255/256)', [{ ...block, fractionLost: 255 / 256, cumulativeLost: 0x7fffff }]],
  ])('round-trip %s', (_name, blocks) => {
    expect(decodeReceiverReport(rtcpPackets(encodeReceiverReport(42, blocks))[0]!)).toEqual({ type: 'report', senderSsrc: 42, blocks });
  });
});
