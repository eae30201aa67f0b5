/**
 * Lip sync in a browser from two WHEP glass-to-glass measurements (glass-to-glass.ts): pure, so
 * the bench's arithmetic is tested beside it.
 */

const round1 = (v: number) => Math.round(v * 10) / 10;

/** What `lipSyncOffset` reads of a WHEP measurement. */
export interface LipSyncInput {
  glassToGlass: { p50: number | null };
  viewer: { audio: { jitterBufferMs: number | null } | null };
}

/**
 * The A/V offset a browser plays a rendition with, against the source's in the same run, ms:
 * positive = the video behind its sound. The video's change is measured (glass-to-glass, the
 * time code); the sound's is the change of its jitter buffer (NetEq), where a player holds audio
 * back to meet late video — the rest of its path (publisher, network, ingest) is the same for
 * both viewers. Null when either lacks a figure.
 */
export function lipSyncOffset(source: LipSyncInput, rendition: LipSyncInput): { videoMs: number; audioMs: number; offsetMs: number } | null {
  const [videoSource, videoRendition] = [source.glassToGlass.p50, rendition.glassToGlass.p50];
  const [audioSource, audioRendition] = [source.viewer.audio?.jitterBufferMs, rendition.viewer.audio?.jitterBufferMs];
  if (videoSource == null || videoRendition == null || audioSource == null || audioRendition == null) return null;
  const videoMs = round1(videoRendition - videoSource);
  const audioMs = round1(audioRendition - audioSource);
  return { videoMs, audioMs, offsetMs: round1(videoMs - audioMs) };
}
