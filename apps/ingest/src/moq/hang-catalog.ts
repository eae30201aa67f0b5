/**
 * hang's `catalog.json` (the schema of @moq/hang 0.2.x, `catalog/root.ts`): which tracks a
 * broadcast has and how each is encoded, as WebCodecs decoder configs. Tolerant of sections and
 * fields onair does not use (they pass through), strict on the ones it does; bounded in size and
 * in renditions. Then the choice of the two tracks onair forwards: one H.264 video and one Opus
 * audio rendition in the "legacy" container.
 */
import { z } from 'zod';
import { ONAIR_CATALOG_SECTION } from '@onair/shared/moq-control';

export interface CatalogLimits {
  /** Largest catalog, in bytes of JSON (default 64 KiB; @moq/publish's is ~500 B). */
  maxBytes: number;
  /** Most renditions (video + audio) a catalog may list (default 8). */
  maxRenditions: number;
}

export const DEFAULT_CATALOG_LIMITS: CatalogLimits = { maxBytes: 64 * 1024, maxRenditions: 8 };

/** `container`: `{kind: "legacy" | "cmaf" | "loc"}` in hang 0.2, a bare string in older catalogs; absent = legacy. */
const container = z.union([z.string().max(32), z.looseObject({ kind: z.string().max(32) })]).optional();
const trackName = z.string().min(1).max(256);
const codec = z.string().min(1).max(64);
const hexDescription = z.string().max(16_384).regex(/^(?:[0-9a-fA-F]{2})*$/, 'not hex');
const bitrate = z.number().int().nonnegative().max(10_000_000_000).optional();

const videoRendition = z.looseObject({
  codec,
  container,
  description: hexDescription.optional(),
  codedWidth: z.number().int().positive().max(16_384).optional(),
  codedHeight: z.number().int().positive().max(16_384).optional(),
  framerate: z.number().positive().max(1000).optional(),
  bitrate,
});

const audioRendition = z.looseObject({
  codec,
  container,
  description: hexDescription.optional(),
  sampleRate: z.number().int().positive().max(768_000),
  numberOfChannels: z.number().int().min(1).max(255),
  bitrate,
});

const catalogSchema = z.looseObject({
  video: z.looseObject({ renditions: z.record(trackName, videoRendition) }).optional(),
  audio: z.looseObject({ renditions: z.record(trackName, audioRendition) }).optional(),
  /** onair's own section: the publisher understands the back channel up to this version (moq-control.ts). */
  [ONAIR_CATALOG_SECTION]: z.looseObject({ control: z.number().int().nonnegative().max(255) }).optional(),
});

export type HangCatalog = z.infer<typeof catalogSchema>;
export type VideoRendition = z.infer<typeof videoRendition>;
export type AudioRendition = z.infer<typeof audioRendition>;

export type CatalogResult = { ok: true; catalog: HangCatalog } | { ok: false; reason: 'catalog_too_large' | 'catalog_invalid'; detail: string };

/** Validates a catalog already parsed from JSON (a snapshot, or a snapshot with patches applied). */
export function validateCatalog(value: unknown, limits: CatalogLimits = DEFAULT_CATALOG_LIMITS): CatalogResult {
  const parsed = catalogSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: 'catalog_invalid', detail: `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}` };
  }
  const count = Object.keys(parsed.data.video?.renditions ?? {}).length + Object.keys(parsed.data.audio?.renditions ?? {}).length;
  if (count > limits.maxRenditions) return { ok: false, reason: 'catalog_invalid', detail: `${count} renditions, more than ${limits.maxRenditions}` };
  return { ok: true, catalog: parsed.data };
}

/** Decodes and validates one catalog frame (UTF-8 JSON). */
export function parseCatalogJson(bytes: Uint8Array, limits: CatalogLimits = DEFAULT_CATALOG_LIMITS): { ok: true; value: unknown } | { ok: false; reason: 'catalog_too_large' | 'catalog_invalid'; detail: string } {
  if (bytes.length > limits.maxBytes) return { ok: false, reason: 'catalog_too_large', detail: `${bytes.length} bytes, more than ${limits.maxBytes}` };
  try {
    return { ok: true, value: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) };
  } catch (error) {
    return { ok: false, reason: 'catalog_invalid', detail: `not UTF-8 JSON (${(error as Error).message.slice(0, 100)})` };
  }
}

export function containerKind(rendition: { container?: string | { kind: string } | undefined }): string {
  const value = rendition.container;
  return value === undefined ? 'legacy' : typeof value === 'string' ? value : value.kind;
}

/** The tracks onair forwards, and why the others are not. */
export interface TrackSelection {
  video?: { name: string; rendition: VideoRendition };
  audio?: { name: string; rendition: AudioRendition };
  skipped: Array<{ kind: 'video' | 'audio'; name: string; reason: string }>;
}

/**
 * One H.264 rendition (`avc1.*` / `avc3.*`, the largest when there are several: the source)
 * and one Opus rendition of one or two channels (RTP's opus/48000/2, RFC 7587 §7), both in
 * the legacy container (cmaf and loc frames are not unpacked here).
 */
export function selectTracks(catalog: HangCatalog): TrackSelection {
  const selection: TrackSelection = { skipped: [] };
  let bestPixels = -1;
  for (const [name, rendition] of Object.entries(catalog.video?.renditions ?? {})) {
    const reason = !/^avc[13]\./i.test(rendition.codec)
      ? `codec ${rendition.codec} (onair forwards H.264)`
      : containerKind(rendition) !== 'legacy'
        ? `container ${containerKind(rendition)} (onair reads the legacy container)`
        : undefined;
    if (reason) {
      selection.skipped.push({ kind: 'video', name, reason });
      continue;
    }
    const pixels = (rendition.codedWidth ?? 0) * (rendition.codedHeight ?? 0);
    if (pixels > bestPixels) {
      if (selection.video) selection.skipped.push({ kind: 'video', name: selection.video.name, reason: 'a larger rendition is forwarded' });
      selection.video = { name, rendition };
      bestPixels = pixels;
    } else selection.skipped.push({ kind: 'video', name, reason: 'a larger rendition is forwarded' });
  }
  for (const [name, rendition] of Object.entries(catalog.audio?.renditions ?? {})) {
    const reason =
      rendition.codec.toLowerCase() !== 'opus'
        ? `codec ${rendition.codec} (onair forwards Opus)`
        : containerKind(rendition) !== 'legacy'
          ? `container ${containerKind(rendition)} (onair reads the legacy container)`
          : rendition.numberOfChannels > 2
            ? `${rendition.numberOfChannels} channels (RTP Opus carries one or two)`
            : selection.audio
              ? 'another Opus rendition is forwarded'
              : undefined;
    if (reason) selection.skipped.push({ kind: 'audio', name, reason });
    else selection.audio = { name, rendition };
  }
  return selection;
}
