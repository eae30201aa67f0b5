/**
 * The other way WebCodecs hands out H.264 (`avc: {format: 'avc'}`): a decoder configuration
 * record (avcC, ISO/IEC 14496-15 §5.3.3.1) with the SPS and PPS, given in hang's catalog as the
 * rendition's hex `description`, and access units as NAL units each behind a big-endian length
 * of `lengthSize` bytes.
 */

export interface AvcDecoderConfig {
  /** Bytes of each NAL unit's length prefix: 1, 2 or 4. */
  lengthSize: number;
  sps: Uint8Array[];
  pps: Uint8Array[];
}

/** Reads an avcC record; undefined when it is truncated or not version 1. */
export function parseAvcDecoderConfig(record: Uint8Array): AvcDecoderConfig | undefined {
  if (record.length < 7 || record[0] !== 1) return undefined;
  const lengthSize = (record[4]! & 0x03) + 1;
  if (lengthSize === 3) return undefined;
  let offset = 5;
  const readSets = (count: number): Uint8Array[] | undefined => {
    const sets: Uint8Array[] = [];
    for (let i = 0; i < count; i += 1) {
      if (offset + 2 > record.length) return undefined;
      const length = (record[offset]! << 8) | record[offset + 1]!;
      offset += 2;
      if (length === 0 || offset + length > record.length) return undefined;
      sets.push(record.subarray(offset, offset + length));
      offset += length;
    }
    return sets;
  };
  const sps = readSets(record[offset++]! & 0x1f);
  if (!sps || offset >= record.length) return undefined;
  const pps = readSets(record[offset++]!);
  if (!pps) return undefined;
  return { lengthSize, sps, pps };
}

/**
 * NAL units of a length-prefixed access unit, as views into `data`; undefined when a length
 * overruns it or is 0. Stops after `maxUnits` + 1 units (see splitAnnexB).
 */
export function splitLengthPrefixed(data: Uint8Array, lengthSize: number, maxUnits = Infinity): Uint8Array[] | undefined {
  const nals: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.length && nals.length <= maxUnits) {
    if (offset + lengthSize > data.length) return undefined;
    let length = 0;
    for (let i = 0; i < lengthSize; i += 1) length = length * 256 + data[offset + i]!;
    offset += lengthSize;
    if (length === 0 || offset + length > data.length) return undefined;
    nals.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return nals;
}
