/**
 * Where a job's encoded rungs go besides HLS: RTP back to the ingest, which serves them to WebRTC
 * viewers as renditions of the stream. The job announces the rungs it planned once per ffmpeg
 * run; the answer says where to send each one. Optional: a job without it (tests, the benchmark)
 * or whose announcement fails makes HLS only.
 */
import type { RtpOutputs } from '../ffmpeg/build-args';
import type { RenditionSetRequest } from '../ingest-client';
import type { PlannedRendition, SourceInfo } from '../ladder/plan-renditions';

/** The rungs of one run (`audio`: one Opus track goes along). */
export type RenditionAnnouncement = Omit<RenditionSetRequest, 'host'>;

export interface RenditionOutput {
  /** Short description for logs (`ingest renditions 127.0.0.1:40000`). */
  readonly description: string;
  /** Announces the rungs (replacing an earlier announcement of this output); answers the RTP targets. */
  open(announcement: RenditionAnnouncement): Promise<RtpOutputs>;
  /** Ends the announcement. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * The announcement for a run's planned renditions: every encoded rung (a copied source is what
 * WebRTC viewers get anyway), at its planned size — or its box while the source size is unknown
 * (the job re-plans, and announces again, once it is known). Undefined when nothing is encoded.
 */
export function announcementFor(renditions: PlannedRendition[], source: SourceInfo): RenditionAnnouncement | undefined {
  const encoded = renditions.filter((r) => r.video === 'encode');
  if (encoded.length === 0) return undefined;
  return {
    renditions: encoded.map((r) => ({
      name: r.id,
      width: r.width ?? r.box?.width ?? 0,
      height: r.height ?? r.box?.height ?? 0,
      videoKbps: r.videoKbps ?? 1000,
      frameRate: r.frameRate ?? 30,
    })),
    audio: source.hasAudio,
  };
}
