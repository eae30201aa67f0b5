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
 * time code). The sound's is what the ingest holds it back by on the rendition (`audioHoldMs`,
 * router/audio-alignment.ts: the rung's transcode delay, as the viewer's own layer resource says
 * it: `meanHold`) plus the change of its jitter buffer
 * (NetEq), where a player holds audio back to meet late video — the rest of its path (publisher,
 * network) is the same for both viewers. Null when either lacks a figure.
 */
export function lipSyncOffset(source: LipSyncInput, rendition: LipSyncInput, audioHoldMs = 0): { videoMs: number; audioMs: number; audioHoldMs: number; offsetMs: number } | null {
  const [videoSource, videoRendition] = [source.glassToGlass.p50, rendition.glassToGlass.p50];
  const [audioSource, audioRendition] = [source.viewer.audio?.jitterBufferMs, rendition.viewer.audio?.jitterBufferMs];
  if (videoSource == null || videoRendition == null || audioSource == null || audioRendition == null) return null;
  const videoMs = round1(videoRendition - videoSource);
  const audioMs = round1(audioRendition - audioSource + audioHoldMs);
  return { videoMs, audioMs, audioHoldMs, offsetMs: round1(videoMs - audioMs) };
}

/**
 * The ingest's hold of a viewer's sound over a window, from the viewer's layer resource read at
 * both ends (`audioHoldMs`): their mean (the hold moves only past the drift it lets be, so the
 * two rarely differ); 0 when the server did not say.
 */
export function meanHold(hold: { start: number; end: number } | undefined): number {
  return hold ? round1((hold.start + hold.end) / 2) : 0;
}
