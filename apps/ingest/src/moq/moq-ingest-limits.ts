/** What one MoQ publisher may make the ingest hold (MoqPublisherOptions.limits overrides the defaults). */
import type { H264SpsLimits } from '@onair/shared/h264-sps';

export interface MoqIngestLimits {
  /** Largest video access unit, bytes (default 4 MiB: an 8K intra frame at high quality). */
  maxVideoFrameBytes: number;
  /** Largest Opus packet, bytes (default 4 KiB). */
  maxAudioFrameBytes: number;
  /** Largest catalog, bytes of JSON (default 64 KiB). */
  maxCatalogBytes: number;
  /** Most renditions a catalog may list; onair subscribes to at most one video and one audio (default 8). */
  maxRenditions: number;
  /** Catalog updates per session (default 1000). */
  maxCatalogUpdates: number;
  /** Bounds on the picture an SPS may claim (default 8192 a side, level 6.2's frame size). */
  sps: H264SpsLimits;
  /** RTP packets kept from the last keyframe until someone listens (default 2000, and 4 MiB). */
  maxBacklogPackets: number;
  maxBacklogBytes: number;
  /**
   * Bytes of frames still arriving, across the session's group streams (default 8 MiB): ~16
   * 1080p keyframes (100–500 KiB), a few GOPs, two frames at the 4 MiB cap. Past it the streams
   * wait in QUIC flow control, one finishing its frame (group-buffer-budget.ts).
   */
  maxBufferedGroupBytes: number;
  /**
   * Largest control message, bytes (default 64 KiB): moq-lite's carry a path, a track name and
   * a few varints (tens of bytes); a moq-transport SETUP is bounded by its u16 size to 65535.
   */
  maxControlMessageBytes: number;
}

export const DEFAULT_MOQ_LIMITS: MoqIngestLimits = {
  maxVideoFrameBytes: 4 * 1024 * 1024,
  maxAudioFrameBytes: 4 * 1024,
  maxCatalogBytes: 64 * 1024,
  maxRenditions: 8,
  maxCatalogUpdates: 1000,
  sps: {},
  maxBacklogPackets: 2000,
  maxBacklogBytes: 4 * 1024 * 1024,
  maxBufferedGroupBytes: 8 * 1024 * 1024,
  maxControlMessageBytes: 64 * 1024,
};
