import type { InboundSummary } from '@onair/shared/webrtc-client-stats';
import { formatBitrate, formatFps, formatMs, formatPercent, formatResolution } from '../lib/format';

/** The "stats for nerds" box over the player, from the receiver's getStats (WebRTC) or hls.js (HLS). */
export function StatsOverlay({ stats, mode }: { stats: InboundSummary | null; mode: string }) {
  if (mode === 'hls') {
    // What hls.js knows: the rendition playing (not a receive rate) and the distance from the live edge.
    const hlsRows: Array<[string, string]> = [
      ['mode', 'hls'],
      ['resolution', formatResolution(stats?.width, stats?.height)],
      ['fps', formatFps(stats?.fps)],
      ['rendition bitrate', formatBitrate(stats?.bitrateKbps)],
      ['codec', [stats?.videoCodec, stats?.audioCodec].filter(Boolean).join(' / ') || '—'],
      ['frames', stats ? String(stats.framesDecoded) : '—'],
      ['latency (hls.js)', formatMs(stats?.latencyMs)],
    ];
    return <StatsRows rows={hlsRows} />;
  }
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
  return <StatsRows rows={rows} />;
}

function StatsRows({ rows }: { rows: Array<[string, string]> }) {
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
