import { Counter, Gauge, type Registry } from 'prom-client';
import type { RenditionState } from '@onair/shared/api';

/** What the ingest exposes on /metrics, read from the media router's counters at scrape time. */
export interface IngestStatsSource {
  getStats(): { streams: number; publishers: number; viewers: number; packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number };
  /** Per live stream, its video renditions (the source included) and their viewers. */
  renditionStates(): Array<{ streamId: string; renditions: RenditionState[] }>;
}

export function registerIngestMetrics(registry: Registry, media: IngestStatsSource, info: { viewerEngine: string; streamName?: (streamId: string) => string | undefined }): void {
  const stats = () => media.getStats();
  // An "info" metric (value 1, facts in labels): which WebRTC stack serves WHEP viewers.
  new Gauge({ name: 'onair_ingest_info', help: 'Ingest build facts: the WebRTC engine serving WHEP viewers', labelNames: ['viewer_engine'], registers: [registry] }).set({ viewer_engine: info.viewerEngine }, 1);
  new Gauge({ name: 'onair_ingest_live_streams', help: 'Streams with a connected publisher', registers: [registry], collect() { this.set(stats().publishers); } });
  new Gauge({ name: 'onair_ingest_streams_routed', help: 'Streams with a media router (live, or holding viewers while the publisher reconnects)', registers: [registry], collect() { this.set(stats().streams); } });
  new Gauge({ name: 'onair_ingest_viewers', help: 'Connected WHEP viewers', registers: [registry], collect() { this.set(stats().viewers); } });
  new Gauge({
    name: 'onair_ingest_rendition_viewers',
    help: 'Connected WHEP viewers per live stream and video rendition (source = the publisher\'s own video)',
    labelNames: ['stream', 'rendition'],
    registers: [registry],
    collect() {
      // Streams and renditions come and go: only what exists now is exported.
      this.reset();
      for (const { streamId, renditions } of media.renditionStates()) {
        const stream = info.streamName?.(streamId) ?? streamId;
        for (const rendition of renditions) this.set({ stream, rendition: rendition.name }, rendition.viewers);
      }
    },
  });
  const monotonic = (name: string, help: string, read: () => number) =>
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
  monotonic('onair_ingest_packets_received_total', 'RTP packets received from publishers', () => stats().packetsIn);
  monotonic('onair_ingest_packets_sent_total', 'RTP packets sent to viewers', () => stats().packetsOut);
  monotonic('onair_ingest_bytes_received_total', 'RTP bytes received from publishers', () => stats().bytesIn);
  monotonic('onair_ingest_bytes_sent_total', 'RTP bytes sent to viewers', () => stats().bytesOut);
}
