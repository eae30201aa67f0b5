/**
 * H.264 byte stream format (ITU-T H.264 Annex B), as WebCodecs writes it with
 * `avc: {format: 'annexb'}`: NAL units each behind a 3-byte (00 00 01) or 4-byte (00 00 00 01)
 * start code. Emulation prevention bytes (00 00 03) stay in the NAL units: RTP carries NAL units
 * exactly as they are in the byte stream (RFC 6184 §1.3).
 */

export const H264_NAL = { slice: 1, idr: 5, sei: 6, sps: 7, pps: 8, aud: 9, filler: 12 } as const;

export function nalType(nal: Uint8Array): number {
  return nal[0]! & 0x1f;
}

/**
 * NAL units of an Annex B access unit, as views into `data` (no copy), in order. Zero bytes
 * before a start code (leading_zero_8bits, trailing_zero_8bits, the first byte of a 4-byte start
 * code; B.1.1) are not part of a NAL unit, which never ends in 00. Empty NAL units (two start
 * codes in a row) are skipped. Undefined when `data` does not start with a start code: it is
 * then not Annex B (a length-prefixed access unit starts with its length). Stops after
 * `maxUnits` + 1 units: more than `maxUnits` says the access unit has too many.
 */
export function splitAnnexB(data: Uint8Array, maxUnits = Infinity): Uint8Array[] | undefined {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
  let start = bytes.indexOf(START_CODE);
  if (start < 0) return undefined;
  for (let i = 0; i < start; i += 1) if (bytes[i] !== 0) return undefined;
  const nals: Uint8Array[] = [];
  start += 3;
  while (start <= bytes.length) {
    const next = bytes.indexOf(START_CODE, start);
    let end = next < 0 ? bytes.length : next;
    while (end > start && bytes[end - 1] === 0) end -= 1;
    if (end > start) nals.push(data.subarray(start, end));
    if (next < 0 || nals.length > maxUnits) break;
    start = next + 3;
  }
  return nals;
}

const START_CODE = Buffer.from([0, 0, 1]);
