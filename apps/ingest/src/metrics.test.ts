import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '@onair/service/ops';
import type { RenditionState } from '@onair/shared/api';
import { registerIngestMetrics } from './metrics';

const rendition = (name: string, kind: RenditionState['kind'], codec: string, viewers: number, bitrateKbps: number): RenditionState => ({ name, kind, codec, width: 640, height: 360, frameRate: 30, bitrateKbps, targetKbps: null, viewers });

describe('ingest /metrics: renditions', () => {
  it('exports viewers and bitrate per rendition with its kind and codec', async () => {
    const registry = createMetricsRegistry('ingest', false);
    const media = {
      getStats: () => ({ streams: 1, publishers: 1, publishersByProtocol: { whip: 1 }, viewers: 3, packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 }),
      renditionStates: () => [{ streamId: 'id-1', renditions: [rendition('source', 'source', 'H264', 1, 2500), rendition('q', 'simulcast', 'H264', 1, 180), rendition('720p-vp8', 'transcoded', 'VP8', 1, 1900)] }],
    };
    registerIngestMetrics(registry, media, { viewerEngine: 'datachannel', streamName: async () => 'studio' });
    const text = await registry.metrics();
    expect(text).toContain('onair_ingest_rendition_viewers{stream="studio",rendition="source",kind="source",codec="H264",service="ingest"} 1');
    expect(text).toContain('onair_ingest_rendition_viewers{stream="studio",rendition="q",kind="simulcast",codec="H264",service="ingest"} 1');
    expect(text).toContain('onair_ingest_rendition_viewers{stream="studio",rendition="720p-vp8",kind="transcoded",codec="VP8",service="ingest"} 1');
    expect(text).toContain('onair_ingest_rendition_bitrate_kbps{stream="studio",rendition="q",kind="simulcast",codec="H264",service="ingest"} 180');
  });
});
