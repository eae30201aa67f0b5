import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerIngestMetrics, type IngestStatsSource } from './metrics';

const stats = { streams: 2, publishers: 1, publishersByProtocol: { whip: 1 }, viewers: 3, packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };

describe('ingest /metrics: renditions', () => {
  it('counts the automatic moves per stream (by its name) and direction, and the viewers per rendition', async () => {
    let switches = [{ streamId: 'id-1', up: 2, down: 3 }];
    const media: IngestStatsSource = {
      getStats: () => stats,
      renditionStates: () => [{ streamId: 'id-1', renditions: [{ name: 'source', kind: 'source', width: 1280, height: 720, frameRate: 30, bitrateKbps: 2500, targetKbps: null, viewers: 2 }] }],
      renditionSwitches: () => switches,
    };
    const registry = new Registry();
    registerIngestMetrics(registry, media, { viewerEngine: 'libdatachannel', streamName: async (id) => (id === 'id-1' ? 'studio' : undefined) });
    const text = await registry.metrics();
    expect(text).toContain('onair_ingest_rendition_switches_total{stream="studio",direction="up"} 2');
    expect(text).toContain('onair_ingest_rendition_switches_total{stream="studio",direction="down"} 3');
    expect(text).toContain('onair_ingest_rendition_viewers{stream="studio",rendition="source"} 2');
    // Read at each scrape: a stream that is no longer routed is no longer exported.
    switches = [];
    expect(await registry.metrics()).not.toContain('onair_ingest_rendition_switches_total{');
  });
});
