import type { InboundSummary } from '@onair/shared/webrtc-client-stats';
import { formatBitrate, formatFps, formatMs, formatPercent, formatResolution } from '../lib/format';

/** The "stats for nerds" box over the player, from the receiver's getStats. */
export function StatsOverlay({ stats, mode }: { stats: InboundSummary | null; mode: string }) {
  const rows: Array<[string, string]> = [
    ['mode', mode],
    ['resolution', formatResolution(stats?.width, stats?.height)],
    ['fps', formatFps(stats?.fps)],
    ['bitrate', formatBitrate(stats?.bitrateKbps)],
    ['codec', [stats?.videoCodec, stats?.audioCodec].filter(Boolean).join(' / ') || '—'],
    ['packet loss', `${formatPercent(stats?.packetLossPercent)} (${stats?.packetsLost ?? 0} total)`],
    ['rtt', formatMs(stats?.rttMs)],
    ['jitter buffer', formatMs(stats?.jitterBufferMs)],
    ['decode', formatMs(stats?.decodeMs)],
    ['latency (est.)', formatMs(stats?.latencyMs)],
  ];
  return (
    <div className="stats" data-testid="stats" aria-label="Playback statistics">
      {rows.map(([key, value]) => (
        <div className="stats__row" key={key} data-stat={key}>
          <span className="stats__key">{key}</span>
          <span className="stats__value">{value}</span>
        </div>
      ))}
    </div>
  );
}
