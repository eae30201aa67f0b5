/**
 * H.264 helpers for the MoQ ingest's tests: cut an Annex B file into access units (one hang
 * frame each, as WebCodecs hands them to a publisher) and write random but well-formed ones.
 */
import { readFileSync } from 'node:fs';
import { H264RtpPayload } from 'werift';

/** Emulation prevention (ITU-T H.264 §7.4.1): no start code can appear inside a NAL unit. */
export function escapeRbsp(rbsp: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  // A NAL unit never ends in 00 (its RBSP ends with the stop bit, §7.4.2.11).
  if (out[out.length - 1] === 0) out.push(0x80);
  return Uint8Array.from(out);
}

/** NAL units of an Annex B file, without start codes (an independent splitter: a regex over hex). */
function nalUnitsOf(data: Uint8Array): Uint8Array[] {
  const text = Buffer.from(data).toString('hex');
  const starts: Array<{ at: number; length: number }> = [];
  const re = /(?:00)?000001/g;
  for (let m = re.exec(text); m; m = re.exec(text)) if (m.index % 2 === 0) starts.push({ at: m.index / 2, length: m[0].length / 2 });
  return starts.map((start, i) => data.subarray(start.at + start.length, starts[i + 1]?.at ?? data.length));
}

export interface AccessUnit {
  /** The access unit as the encoder wrote it: Annex B, start codes included. */
  annexB: Uint8Array;
  /** Its NAL units without start codes. */
  nals: Uint8Array[];
  keyframe: boolean;
}

/**
 * Access units of an Annex B file (ITU-T H.264 §7.4.1.2.3): a new one starts at an AUD, SPS,
 * PPS or SEI after a slice, or at a slice whose first_mb_in_slice is 0 after a slice.
 */
export function readAccessUnits(path: URL | string): AccessUnit[] {
  const data = new Uint8Array(readFileSync(path));
  const units: Uint8Array[][] = [];
  let current: Uint8Array[] = [];
  let sawSlice = false;
  for (const nal of nalUnitsOf(data)) {
    const type = nal[0]! & 0x1f;
    const slice = type === 1 || type === 5;
    const firstSliceOfPicture = slice && (nal[1]! & 0x80) !== 0; // ue(v) first_mb_in_slice = 0 is the bit "1"
    if (sawSlice && (!slice || firstSliceOfPicture)) {
      units.push(current);
      current = [];
      sawSlice = false;
    }
    current.push(nal);
    sawSlice ||= slice;
  }
  if (current.length) units.push(current);
  return units.map((nals) => ({
    nals,
    keyframe: nals.some((nal) => (nal[0]! & 0x1f) === 5),
    annexB: Uint8Array.from(nals.flatMap((nal, i) => [...(i === 0 ? [0, 0, 0, 1] : [0, 0, 1]), ...nal])),
  }));
}

/** A random access unit: `count` NAL units of the given types, sizes up to `maxSize`. */
export function randomAccessUnit(types: number[], maxSize: number, random: () => number = Math.random): Uint8Array[] {
  return types.map((type) => {
    const rbsp = Uint8Array.from({ length: 1 + Math.floor(random() * maxSize) }, () => (random() < 0.2 ? 0 : Math.floor(random() * 256)));
    rbsp[0] = (type === 5 || type === 7 || type === 8 ? 0x60 : 0x40) | type;
    return escapeRbsp(rbsp);
  });
}

/**
 * NAL units (hex) back out of RTP with werift's RFC 6184 depacketizer — an implementation that is
 * not ours — one list per access unit (the marker bit ends one).
 */
export function depacketizeAccessUnits(packets: ReadonlyArray<{ payload: Buffer; marker: boolean }>): string[][] {
  const units: string[][] = [];
  let current: string[] = [];
  let fragment: Buffer | undefined;
  for (const packet of packets) {
    const h264 = H264RtpPayload.deSerialize(packet.payload, fragment);
    fragment = h264.fragment;
    if (h264.payload) current.push(...nalUnitsOf(h264.payload).map((nal) => Buffer.from(nal).toString('hex')));
    if (packet.marker) {
      units.push(current);
      current = [];
    }
  }
  return units;
}
