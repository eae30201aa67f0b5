/**
 * From a profile and what is known of the source to the renditions ffmpeg will produce.
 * Pure: the argument builder and the packager both read its output.
 *
 * Rules (never upscale):
 * - A rung whose box fits inside the source is encoded at the box size (aspect kept).
 * - Rungs whose box is larger than the source are dropped, except the smallest of them when the
 *   source is meaningfully (>10 %) taller than the top rung kept so far, or nothing was kept at
 *   all: that rung is kept capped at the source size, with its bitrate scaled by pixel count.
 *   So a 1080p or 720p source gets 720/480/360, a 360p source gets one 640×360 rung, and a
 *   540p source gets 960×540 (the 720p rung capped) + 480p + 360p instead of losing its top.
 * - A source at least MIN_SHORT_SIDE_FOR_TWO (240 px) on its short side gets at least two sizes:
 *   when the rungs kept make one, a rung at half its size is added (`180p` for a 360p source), so
 *   a viewer whose link cannot carry the source has somewhere to go (HLS and WebRTC alike).
 * - Unknown source size, or one no encoder writes (shared/video-size.ts): every rung is kept and ffmpeg's scale filter caps each at the source
 *   (`min(box, source)`), which still never upscales but may produce equal-sized rungs.
 */
import { isPlausibleVideoSize } from '@onair/shared/video-size';
import type { Profile, Rung } from './profile';

/** What the transcoder knows about the input before starting ffmpeg. */
export interface SourceInfo {
  hasVideo: boolean;
  hasAudio: boolean;
  /** Video codec from the SDP rtpmap (e.g. `H264`, `VP8`). */
  videoCodec?: string;
  /** Audio codec from the SDP rtpmap (e.g. `opus`). */
  audioCodec?: string;
  /** Source size in pixels when known (from the ingest's measured stream state). */
  width?: number;
  height?: number;
  /** Source frame rate when known. */
  fps?: number;
}

export interface PlannedRendition {
  /** Rendition id: the rung name (`720p`), or `source` for passthrough. */
  id: string;
  /** `copy` passes the source video through without re-encoding. */
  video: 'encode' | 'copy';
  /** Output size when known (always known for encoded rungs of a known-size source). */
  width?: number;
  height?: number;
  /** When the size is unknown, the box ffmpeg fits the source into without upscaling. */
  box?: { width: number; height: number };
  /** Frame-rate cap applied with the `fps` filter (only when the source is known to be faster). */
  fpsCap?: number;
  /** Frame rate advertised in the playlist. */
  frameRate?: number;
  videoKbps?: number;
  preset?: Rung['preset'];
  audioKbps: number;
  /** Bandwidth for the multivariant playlist (video + audio), bits/s. */
  bandwidth: number;
}

const TALLER_THAN_TOP = 1.1;
/** Short side from which a source gets at least two rendition sizes (240p → 240p + 120p). */
export const MIN_SHORT_SIDE_FOR_TWO = 240;

export function planRenditions(profile: Profile, source: SourceInfo): PlannedRendition[] {
  const audioKbps = source.hasAudio ? profile.audioKbps : 0;
  if (profile.mode === 'passthrough') {
    const id = profile.rungs[0]?.name ?? 'source';
    // Bandwidth of copied video is unknown before it flows; announce a conservative 720p figure.
    const videoKbps = profile.rungs[0]?.videoKbps ?? 3000;
    return [{ id, video: 'copy', width: source.width, height: source.height, frameRate: source.fps, audioKbps, bandwidth: (videoKbps + audioKbps) * 1000 }];
  }

  const rungs = [...profile.rungs].sort((a, b) => b.height * b.width - a.height * a.width);
  // A size read from the stream is the publisher's word: an implausible one is planned as unknown.
  if (!source.width || !source.height || !isPlausibleVideoSize(source.width, source.height)) {
    return rungs.map((rung) => ({
      id: rung.name,
      video: 'encode',
      box: { width: rung.width, height: rung.height },
      frameRate: rung.maxFps,
      fpsCap: undefined,
      videoKbps: rung.videoKbps,
      preset: rung.preset,
      audioKbps,
      bandwidth: (rung.videoKbps + audioKbps) * 1000,
    }));
  }

  const src = { width: source.width, height: source.height };
  const portrait = src.height > src.width;
  const boxOf = (rung: Rung) => (portrait ? { width: rung.height, height: rung.width } : { width: rung.width, height: rung.height });
  const fits = (rung: Rung) => {
    const box = boxOf(rung);
    return box.width <= src.width || box.height <= src.height;
  };

  const kept = rungs.filter(fits);
  const larger = rungs.filter((rung) => !fits(rung));
  const smallestLarger = larger[larger.length - 1];
  const chosen: Rung[] = [...kept];
  if (smallestLarger) {
    const top = kept[0] ? fitInto(src, boxOf(kept[0])) : undefined;
    const shortSide = (size: { width: number; height: number }) => Math.min(size.width, size.height);
    if (!top || shortSide(src) > shortSide(top) * TALLER_THAN_TOP) chosen.unshift(smallestLarger);
  }

  const planned = chosen.map((rung) => {
    const size = fitInto(src, boxOf(rung));
    const box = boxOf(rung);
    const scale = Math.min(1, (size.width * size.height) / (box.width * box.height));
    const videoKbps = Math.max(100, Math.round(rung.videoKbps * scale));
    const fpsCap = source.fps !== undefined && source.fps > rung.maxFps + 0.5 ? rung.maxFps : undefined;
    return {
      id: rung.name,
      video: 'encode',
      width: size.width,
      height: size.height,
      fpsCap,
      frameRate: fpsCap ?? (source.fps !== undefined ? Math.min(source.fps, rung.maxFps) : rung.maxFps),
      videoKbps,
      preset: rung.preset,
      audioKbps,
      bandwidth: (videoKbps + audioKbps) * 1000,
    } satisfies PlannedRendition;
  });
  const half = halfRung(planned, src, profile.rungs.map((rung) => rung.name));
  return half ? [...planned, half] : planned;
}

/**
 * The rung added below a ladder of one size (see the rules): half the smallest rung's width and
 * height, its bitrate scaled by the pixels (a quarter, at least 100 kbit/s), named after its short
 * side unless a profile rung has that name. Undefined when the ladder has two sizes already or the
 * source is smaller than MIN_SHORT_SIDE_FOR_TWO.
 */
function halfRung(planned: PlannedRendition[], src: { width: number; height: number }, taken: string[]): PlannedRendition | undefined {
  if (Math.min(src.width, src.height) < MIN_SHORT_SIDE_FOR_TWO) return undefined;
  const sizes = new Set(planned.map((r) => `${r.width}x${r.height}`));
  const smallest = planned[planned.length - 1];
  if (sizes.size >= 2 || !smallest?.width || !smallest.height) return undefined;
  const width = even(smallest.width / 2);
  const height = even(smallest.height / 2);
  const baseName = `${Math.min(width, height)}p`;
  const id = taken.includes(baseName) ? `${baseName}-half` : baseName;
  const videoKbps = Math.max(100, Math.round((smallest.videoKbps ?? 400) / 4));
  const audioKbps = smallest.audioKbps;
  return { ...smallest, id, width, height, videoKbps, bandwidth: (videoKbps + audioKbps) * 1000 };
}

/** Largest even size with the source's aspect ratio inside `box`, never larger than the source. */
export function fitInto(src: { width: number; height: number }, box: { width: number; height: number }): { width: number; height: number } {
  const factor = Math.min(1, box.width / src.width, box.height / src.height);
  return { width: even(src.width * factor), height: even(src.height * factor) };
}

function even(value: number): number {
  return Math.max(2, 2 * Math.round(value / 2));
}
