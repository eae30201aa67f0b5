/**
 * A profile is an ABR ladder as data: the rungs ffmpeg encodes for a stream, plus the AAC
 * bitrate for HLS. Profiles are validated here (where they enter: HTTP bodies and the database)
 * and trusted everywhere after.
 */
import { z } from 'zod';
import { OnairError } from '@onair/shared/errors';

export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;

/** Rung and profile names appear in playlist URIs and socket paths: keep them short and safe. */
const nameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(32, 'must be at most 32 characters')
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'may contain only lower-case letters, digits, "-" and "_", and must start with a letter or digit');

/** The HLS audio rendition's name (its playlist directory, its output socket): no rung may take it. */
export const AUDIO_RENDITION_ID = 'audio';

const evenDimension = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int(`${what} must be an integer`)
    .min(16, `${what} must be at least 16`)
    .max(4096, `${what} must be at most 4096`)
    .refine((value) => value % 2 === 0, `${what} must be even (H.264 with 4:2:0 chroma needs even dimensions)`);

export const rungSchema = z
  .object({
    name: nameSchema,
    /** Bounding box of the rung in pixels (landscape; swapped for a portrait source). */
    width: evenDimension('width'),
    height: evenDimension('height'),
    /** Frame-rate cap; a slower source keeps its own rate. */
    maxFps: z.number().min(1, 'maxFps must be at least 1').max(120, 'maxFps must be at most 120').default(30),
    /** Target video bitrate in kbit/s (x264 `-b:v`, with a VBV of the same size). */
    videoKbps: z.number().int('videoKbps must be an integer').min(100, 'videoKbps must be at least 100').max(50_000, 'videoKbps must be at most 50000'),
    preset: z.enum(X264_PRESETS, { error: `preset must be one of ${X264_PRESETS.join(', ')}` }).default('veryfast'),
  })
  .strict();

export const profileSchema = z
  .object({
    name: nameSchema,
    description: z.string().max(200).optional(),
    /** `transcode` encodes every rung; `passthrough` copies the source video (one rendition) and only re-encodes audio. */
    mode: z.enum(['transcode', 'passthrough']).default('transcode'),
    /** AAC bitrate for HLS, kbit/s. */
    audioKbps: z.number().int('audioKbps must be an integer').min(32, 'audioKbps must be at least 32').max(320, 'audioKbps must be at most 320').default(128),
    /** Keyframe interval in seconds, aligned across rungs (one HLS segment per GOP). */
    gopSeconds: z.number().min(0.5, 'gopSeconds must be at least 0.5').max(10, 'gopSeconds must be at most 10').default(1),
    rungs: z.array(rungSchema).max(8, 'a ladder has at most 8 rungs'),
  })
  .strict()
  .superRefine((profile, ctx) => {
    if (profile.mode === 'transcode' && profile.rungs.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['rungs'], message: 'the ladder is empty: a transcode profile needs at least one rung' });
    }
    if (profile.mode === 'passthrough' && profile.rungs.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['rungs'], message: 'a passthrough profile has at most one rung (it only names the rendition)' });
    }
    const seen = new Set<string>();
    profile.rungs.forEach((rung, index) => {
      if (seen.has(rung.name)) ctx.addIssue({ code: 'custom', path: ['rungs', index, 'name'], message: `duplicate rung name "${rung.name}"` });
      if (rung.name === AUDIO_RENDITION_ID) ctx.addIssue({ code: 'custom', path: ['rungs', index, 'name'], message: `"${AUDIO_RENDITION_ID}" is the name of the stream's audio rendition` });
      seen.add(rung.name);
    });
  });

export type Rung = z.infer<typeof rungSchema>;
export type Profile = z.infer<typeof profileSchema>;
export type ProfileInput = z.input<typeof profileSchema>;

/** Parses a profile or throws `invalid_profile` listing every problem ("rungs.1.height: height must be even …"). */
export function parseProfile(value: unknown): Profile {
  const parsed = profileSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || 'profile'}: ${issue.message}`);
  throw new OnairError('invalid_profile', issues.join('; '), { extensions: { issues } });
}

export const DEFAULT_PROFILE: Profile = parseProfile({
  name: 'default',
  description: '720p / 480p / 360p, x264 zerolatency, 1 s aligned keyframes',
  audioKbps: 128,
  gopSeconds: 1,
  rungs: [
    { name: '720p', width: 1280, height: 720, maxFps: 30, videoKbps: 2800, preset: 'veryfast' },
    { name: '480p', width: 854, height: 480, maxFps: 30, videoKbps: 1400, preset: 'veryfast' },
    { name: '360p', width: 640, height: 360, maxFps: 30, videoKbps: 800, preset: 'veryfast' },
  ],
});

export const PASSTHROUGH_PROFILE: Profile = parseProfile({
  name: 'passthrough',
  description: 'source video as is (no re-encode), audio to AAC',
  mode: 'passthrough',
  audioKbps: 128,
  gopSeconds: 1,
  rungs: [],
});

export const BUILTIN_PROFILES: readonly Profile[] = [DEFAULT_PROFILE, PASSTHROUGH_PROFILE];

export function isBuiltinProfile(name: string): boolean {
  return BUILTIN_PROFILES.some((profile) => profile.name === name);
}
