/**
 * Viewers by protocol for the dashboard: the ingest counts WebRTC (WHEP) viewers in each
 * stream's `state.viewers`, the transcoder counts HLS viewers per job (`hlsViewers`, by stream
 * name). Pure (unit-tested); `snapshot.ts` applies it to every snapshot.
 */
import type { DashboardStream, JobView, ServiceStatus, Stream } from '../../components/dashboard/types';

export function withViewers(streams: readonly Stream[], transcoder: ServiceStatus<readonly JobView[]>): DashboardStream[] {
  const hlsByName = new Map<string, number>();
  if (transcoder.ok) for (const job of transcoder.data) hlsByName.set(job.stream, (hlsByName.get(job.stream) ?? 0) + (job.hlsViewers ?? 0));
  return streams.map((stream) => {
    const webrtc = stream.state.viewers.whep;
    // Without the transcoder nobody knows the HLS figure: say so (null) rather than 0.
    const hls = transcoder.ok ? (hlsByName.get(stream.name) ?? 0) : null;
    return { ...stream, viewers: { webrtc, hls, total: stream.state.viewers.total + (hls ?? 0) } };
  });
}
