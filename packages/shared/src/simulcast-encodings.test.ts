import { describe, expect, it } from 'vitest';
import { SIMULCAST_RIDS, simulcastEncodings } from './simulcast-encodings';

describe('simulcastEncodings', () => {
  it('three layers by rid, full to quarter size, sharing the ceiling without exceeding it', () => {
    const encodings = simulcastEncodings(2_500_000);
    expect(encodings.map((e) => [e.rid, e.scaleResolutionDownBy, e.maxBitrate])).toEqual([
      ['f', 1, 1_500_000],
      ['h', 2, 700_000],
      ['q', 4, 300_000],
    ]);
    expect(encodings.reduce((sum, e) => sum + e.maxBitrate!, 0)).toBeLessThanOrEqual(2_500_000);
    // The ingest names renditions after rids: none may be a reserved rendition name.
    expect(SIMULCAST_RIDS.some((rid) => ['source', 'auto', 'none'].includes(rid))).toBe(false);
  });
});
