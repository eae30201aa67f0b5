import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { RenditionState } from '@onair/shared/api';
import { registerIngestMetrics, type IngestStatsSource } from './metrics';

const stats = { streams: 2, publishers: 1, publishersByProtocol: { whip: 1 }, viewers: 3, packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };
const rendition = (name: string, kind: RenditionState['kind'], codec: string, viewers: number, bitrateKbps: number): RenditionState => ({ name, kind, codec, width: 640, height: 360, frameRate: 30, bitrateKbps, targetKbps: null, viewers });

describe('ingest /metrics: renditions', () => {
  it('counts the automatic moves per stream (by its name) and direction, and the viewers per rendition', async () => {
    let switches = [{ streamId: 'id-1', up: 2, down: 3 }];
    const media: IngestStatsSource = {
      getStats: () => stats,
      renditionStates: () => [{ streamId: 'id-1', renditions: [{ ...rendition('source', 'source', 'H264', 2, 2500), width: 1280, height: 720 }] }],
      renditionSwitches: () => switches,
    };
    const registry = new Registry();
    registerIngestMetrics(registry, media, { viewerEngine: 'libdatachannel', streamName: async (id) => (id === 'id-1' ? 'studio' : undefined) });
    const text = await registry.metrics();
    expect(text).toContain('onair_ingest_rendition_switches_total{stream="studio",direction="up"} 2');
    expect(text).toContain('onair_ingest_rendition_switches_total{stream="studio",direction="down"} 3');
    expect(text).toContain('onair_ingest_rendition_viewers{stream="studio",rendition="source",kind="source",codec="H264"} 2');
    // Read at each scrape: a stream that is no longer routed is no longer exported.
    switches = [];
    expect(await registry.metrics()).not.toContain('onair_ingest_rendition_switches_total{');
  });

  it('exports viewers and bitrate per rendition with its kind and codec', async () => {
    const media: IngestStatsSource = {
      getStats: () => stats,
      renditionSwitches: () => [],
      renditionStates: () => [{ streamId: 'id-1', renditions: [rendition('source', 'source', 'H264', 1, 2500), rendition('q', 'simulcast', 'H264', 1, 180), rendition('720p-vp8', 'transcoded', 'VP8', 1, 1900)] }],
    };
    const registry = new Registry();
    registerIngestMetrics(registry, media, { viewerEngine: 'datachannel', streamName: async () => 'studio' });
    const text = await registry.metrics();
    expect(text).toContain('onair_ingest_rendition_viewers{stream="studio",rendition="source",kind="source",codec="H264"} 1');
    expect(text).toContain('onair_ingest_rendition_viewers{stream="studio",rendition="q",kind="simulcast",codec="H264"} 1');
    expect(text).toContain('onair_ingest_rendition_viewers{stream="studio",rendition="720p-vp8",kind="transcoded",codec="VP8"} 1');
    expect(text).toContain('onair_ingest_rendition_bitrate_kbps{stream="studio",rendition="q",kind="simulcast",codec="H264"} 180');
  });
});
