import { Counter, Gauge, type Registry } from 'prom-client';
import type { RenditionState } from '@onair/shared/api';
import type { MoqIngestStats } from './moq/moq-ingest';

/** What the ingest exposes on /metrics, read from the media router's counters at scrape time. */
export interface IngestStatsSource {
  getStats(): { streams: number; publishers: number; publishersByProtocol: Record<string, number>; viewers: number; packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number };
  /** Per live stream, its video renditions (the source included) and their viewers. */
  renditionStates(): Array<{ streamId: string; renditions: RenditionState[] }>;
  /** Per routed stream, the rate controllers' moves of its viewers, up and down. */
  renditionSwitches(): Array<{ streamId: string; up: number; down: number }>;
}

/** The WebTransport ingest's figures (moq/moq-ingest.ts). */
export interface WebTransportStatsSource {
  getStats(): Pick<MoqIngestStats, 'server' | 'settingUp' | 'accepted' | 'failed'>;
}

export function registerIngestMetrics(
  registry: Registry,
  media: IngestStatsSource,
  info: { viewerEngine: string; nativeSend?: boolean; streamName?: (streamId: string) => Promise<string | undefined> },
  webTransport?: WebTransportStatsSource,
): void {
  const stats = () => media.getStats();
  // An "info" metric (value 1, facts in labels): which WebRTC stack serves WHEP viewers, and
  // whether their packets leave through the native send path (webrtc/native-send.ts).
  new Gauge({ name: 'onair_ingest_info', help: 'Ingest build facts: the WebRTC engine serving WHEP viewers and whether it sends natively', labelNames: ['viewer_engine', 'native_send'], registers: [registry] }).set({ viewer_engine: info.viewerEngine, native_send: info.nativeSend ? 'yes' : 'no' }, 1);
  new Gauge({ name: 'onair_ingest_live_streams', help: 'Streams with a connected publisher', registers: [registry], collect() { this.set(stats().publishers); } });
  new Gauge({
    name: 'onair_ingest_publishers',
    help: 'Connected publishers by the protocol they publish with (whip, webtransport)',
    labelNames: ['protocol'],
    registers: [registry],
    collect() {
      const byProtocol = stats().publishersByProtocol;
      for (const protocol of ['whip', 'webtransport']) this.set({ protocol }, byProtocol[protocol] ?? 0);
    },
  });
  new Gauge({ name: 'onair_ingest_streams_routed', help: 'Streams with a media router (live, or holding viewers while the publisher reconnects)', registers: [registry], collect() { this.set(stats().streams); } });
  new Gauge({ name: 'onair_ingest_viewers', help: 'Connected WHEP viewers', registers: [registry], collect() { this.set(stats().viewers); } });
  // Per live stream and video rendition: `kind` source (the publisher's own video), simulcast (another
  // of its layers) or transcoded; `codec` H264 / VP8. Streams and renditions come and go: only what
  // exists now is exported.
  const renditionLabels = ['stream', 'rendition', 'kind', 'codec'] as const;
  const eachRendition = async (set: (labels: Record<(typeof renditionLabels)[number], string>, rendition: RenditionState) => void) => {
    for (const { streamId, renditions } of media.renditionStates()) {
      const stream = (await info.streamName?.(streamId).catch(() => undefined)) ?? streamId;
      for (const rendition of renditions) set({ stream, rendition: rendition.name, kind: rendition.kind, codec: rendition.codec ?? '' }, rendition);
    }
  };
  new Gauge({
    name: 'onair_ingest_rendition_viewers',
    help: 'Connected WHEP viewers per live stream and video rendition (kind: source, simulcast, transcoded)',
    labelNames: renditionLabels,
    registers: [registry],
    async collect() {
      this.reset();
      await eachRendition((labels, rendition) => this.set(labels, rendition.viewers));
    },
  });
  new Gauge({
    name: 'onair_ingest_rendition_bitrate_kbps',
    help: 'Video bitrate received per live stream and rendition over the last second, kbit/s',
    labelNames: renditionLabels,
    registers: [registry],
    async collect() {
      this.reset();
      await eachRendition((labels, rendition) => this.set(labels, rendition.bitrateKbps));
    },
  });
  new Counter({
    name: 'onair_ingest_rendition_switches_total',
    help: 'Automatic moves of WHEP viewers between renditions, per stream and direction (down: the viewer\'s path could not carry its rendition; up: a trial of the next one)',
    labelNames: ['stream', 'direction'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { streamId, up, down } of media.renditionSwitches()) {
        const stream = (await info.streamName?.(streamId).catch(() => undefined)) ?? streamId;
        this.inc({ stream, direction: 'up' }, up);
        this.inc({ stream, direction: 'down' }, down);
      }
    },
  });
  const monotonic = (name: string, help: string, read: () => number) =>
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
  monotonic('onair_ingest_packets_received_total', 'RTP packets received from publishers', () => stats().packetsIn);
  monotonic('onair_ingest_packets_sent_total', 'RTP packets sent to viewers', () => stats().packetsOut);
  monotonic('onair_ingest_bytes_received_total', 'RTP bytes received from publishers', () => stats().bytesIn);
  monotonic('onair_ingest_bytes_sent_total', 'RTP bytes sent to viewers', () => stats().bytesOut);
  if (webTransport) registerWebTransportMetrics(registry, webTransport);
}

function registerWebTransportMetrics(registry: Registry, source: WebTransportStatsSource): void {
  const stats = () => source.getStats();
  const gauge = (name: string, help: string, read: () => number) => new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  gauge('onair_ingest_webtransport_connections', 'QUIC connections of the WebTransport ingest', () => stats().server.connections);
  gauge('onair_ingest_webtransport_sessions', 'WebTransport sessions', () => stats().server.sessions);
  gauge('onair_ingest_webtransport_streams', 'WebTransport streams open across sessions', () => stats().server.streams);
  gauge('onair_ingest_webtransport_buffered_bytes', 'Bytes received on WebTransport streams and not yet read', () => stats().server.bufferedBytes);
  gauge('onair_ingest_moq_setups', 'WebTransport sessions whose Media-over-QUIC setup is under way', () => stats().settingUp);
  const labelled = (name: string, help: string, label: string, read: () => Record<string, number>) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [value, count] of Object.entries(read())) this.inc({ [label]: value }, count);
      },
    });
  labelled('onair_ingest_webtransport_refused_total', 'WebTransport CONNECTs refused, by HTTP status', 'status', () => stats().server.refused);
  labelled('onair_ingest_webtransport_limit_closures_total', 'WebTransport sessions or connections closed for breaking a limit', 'limit', () => stats().server.limitClosures);
  labelled('onair_ingest_moq_setups_failed_total', 'Media-over-QUIC publisher setups that failed, by code', 'code', () => stats().failed);
  new Counter({ name: 'onair_ingest_moq_publishers_accepted_total', help: 'WebTransport sessions that became publishers', registers: [registry], collect() { this.reset(); this.inc(stats().accepted); } });
}
