/**
 * Reads timing and sync information from a movie fragment (`moof`, ISO/IEC 14496-12 §8.8):
 * per track fragment its base media decode time (`tfdt`), summed sample durations (`trun`,
 * falling back to `tfhd` and `trex` defaults) and whether its first sample is a sync sample.
 */
import { body, childrenOf, find, Mp4ParseError, readBoxes, required, type BoxRef } from './mp4-boxes';
import type { InitInfo, SampleDefaults } from './mp4-init';

export interface TrackFragmentInfo {
  trackId: number;
  /** `tfdt` baseMediaDecodeTime in the track's timescale, or undefined when absent. */
  baseMediaDecodeTime: number | undefined;
  /** Sum of the sample durations, in the track's timescale. */
  duration: number;
  sampleCount: number;
  /** The first sample is a sync sample (an IDR for H.264; every AAC sample). */
  startsWithSync: boolean;
}

export interface FragmentInfo {
  sequenceNumber: number;
  tracks: TrackFragmentInfo[];
}

// tfhd flags (§8.8.7.1)
const TFHD_BASE_DATA_OFFSET = 0x000001;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
const TFHD_DEFAULT_DURATION = 0x000008;
const TFHD_DEFAULT_SIZE = 0x000010;
const TFHD_DEFAULT_FLAGS = 0x000020;
// trun flags (§8.8.8.1)
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
const TRUN_SAMPLE_DURATION = 0x000100;
const TRUN_SAMPLE_SIZE = 0x000200;
const TRUN_SAMPLE_FLAGS = 0x000400;
const TRUN_SAMPLE_CTO = 0x000800;

/**
 * sample_flags (§8.8.3.1): sample_depends_on in bits 25–24 (2 = depends on no other sample, 1 =
 * depends on others), sample_is_non_sync_sample in bit 16.
 */
export function isSyncSample(flags: number): boolean {
  const dependsOn = (flags >>> 24) & 0x3;
  const nonSync = (flags >>> 16) & 0x1;
  if (dependsOn === 1) return false;
  return nonSync === 0;
}

/** Parses a `moof` box given as a whole box (header included). */
export function parseMoof(moof: Buffer, init: InitInfo): FragmentInfo {
  const [top] = readBoxes(moof);
  if (!top || top.type !== 'moof') throw new Mp4ParseError(`expected a 'moof' box, got '${top?.type ?? 'nothing'}'`);
  const children = childrenOf(moof, top);
  const mfhd = body(moof, required(children, 'mfhd', 'moof'));
  mfhd.fullBox();
  const sequenceNumber = mfhd.u32();
  const tracks = children.filter((box) => box.type === 'traf').map((traf) => parseTraf(moof, traf, init));
  return { sequenceNumber, tracks };
}

function parseTraf(buf: Buffer, traf: BoxRef, init: InitInfo): TrackFragmentInfo {
  const children = childrenOf(buf, traf);
  const tfhd = body(buf, required(children, 'tfhd', 'traf'));
  const { flags: tfhdFlags } = tfhd.fullBox();
  const trackId = tfhd.u32();
  const track = init.tracks.find((candidate) => candidate.id === trackId);
  if (!track) throw new Mp4ParseError(`'traf' refers to track ${trackId}, which the init segment does not declare`);
  const defaults: SampleDefaults = { ...track.defaults };
  if (tfhdFlags & TFHD_BASE_DATA_OFFSET) tfhd.skip(8);
  if (tfhdFlags & TFHD_SAMPLE_DESCRIPTION_INDEX) tfhd.skip(4);
  if (tfhdFlags & TFHD_DEFAULT_DURATION) defaults.duration = tfhd.u32();
  if (tfhdFlags & TFHD_DEFAULT_SIZE) defaults.size = tfhd.u32();
  if (tfhdFlags & TFHD_DEFAULT_FLAGS) defaults.flags = tfhd.u32();

  let baseMediaDecodeTime: number | undefined;
  const tfdtBox = find(children, 'tfdt');
  if (tfdtBox) {
    const tfdt = body(buf, tfdtBox);
    const { version } = tfdt.fullBox();
    baseMediaDecodeTime = version === 1 ? tfdt.u64() : tfdt.u32();
  }

  let duration = 0;
  let sampleCount = 0;
  let firstFlags: number | undefined;
  for (const trunBox of children.filter((box) => box.type === 'trun')) {
    const trun = body(buf, trunBox);
    const { flags } = trun.fullBox();
    const count = trun.u32();
    if (flags & TRUN_DATA_OFFSET) trun.i32();
    let firstSampleFlags: number | undefined;
    if (flags & TRUN_FIRST_SAMPLE_FLAGS) firstSampleFlags = trun.u32();
    const perSample =
      (flags & TRUN_SAMPLE_DURATION ? 4 : 0) + (flags & TRUN_SAMPLE_SIZE ? 4 : 0) + (flags & TRUN_SAMPLE_FLAGS ? 4 : 0) + (flags & TRUN_SAMPLE_CTO ? 4 : 0);
    // Check the whole table fits before looping, so a forged sample_count cannot make us spin.
    if (count * perSample > trun.remaining) {
      throw new Mp4ParseError(`'trun' declares ${count} samples of ${perSample} bytes, but only ${trun.remaining} bytes follow`);
    }
    if (perSample === 0 && count > 1_000_000) throw new Mp4ParseError(`'trun' declares ${count} samples`);
    for (let i = 0; i < count; i++) {
      const sampleDuration = flags & TRUN_SAMPLE_DURATION ? trun.u32() : defaults.duration;
      if (flags & TRUN_SAMPLE_SIZE) trun.skip(4);
      const sampleFlags = flags & TRUN_SAMPLE_FLAGS ? trun.u32() : defaults.flags;
      if (flags & TRUN_SAMPLE_CTO) trun.skip(4);
      if (sampleCount === 0 && i === 0) firstFlags = firstSampleFlags ?? sampleFlags;
      duration += sampleDuration;
    }
    sampleCount += count;
  }
  // Audio without explicit flags: every sample of a non-video track is a sync sample.
  const startsWithSync = sampleCount === 0 ? false : track.kind !== 'video' && firstFlags === 0 ? true : isSyncSample(firstFlags ?? 0);
  return { trackId, baseMediaDecodeTime, duration, sampleCount, startsWithSync };
}
