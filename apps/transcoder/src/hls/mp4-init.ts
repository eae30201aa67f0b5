/**
 * Reads what the packager needs from an fMP4 initialization segment (`moov`): per track its
 * id, kind, timescale, RFC 6381 codec string and picture size, and the `trex` defaults that
 * fragments may rely on (ISO/IEC 14496-12 §8.8.3).
 */
import { body, childrenOf, find, Mp4ParseError, path, readBoxes, required, type BoxRef } from './mp4-boxes';

export interface SampleDefaults {
  duration: number;
  size: number;
  flags: number;
}

export interface TrackInfo {
  id: number;
  kind: 'video' | 'audio' | 'other';
  /** Ticks per second of this track's media time (`mdhd`). */
  timescale: number;
  /** Sample entry type, e.g. `avc1`, `mp4a`. */
  sampleEntry: string;
  /** RFC 6381 codec string for CODECS, e.g. `avc1.64001f`, `mp4a.40.2`. */
  codec: string;
  width?: number;
  height?: number;
  defaults: SampleDefaults;
}

export interface InitInfo {
  tracks: TrackInfo[];
}

/** Parses a `moov` box given as a whole box (header included). */
export function parseMoov(moov: Buffer): InitInfo {
  const [top] = readBoxes(moov);
  if (!top || top.type !== 'moov') throw new Mp4ParseError(`expected a 'moov' box, got '${top?.type ?? 'nothing'}'`);
  const children = childrenOf(moov, top);
  const trexById = new Map<number, SampleDefaults>();
  const mvex = find(children, 'mvex');
  if (mvex) {
    for (const trex of childrenOf(moov, mvex).filter((box) => box.type === 'trex')) {
      const cur = body(moov, trex);
      cur.fullBox();
      const id = cur.u32();
      cur.u32(); // default_sample_description_index
      trexById.set(id, { duration: cur.u32(), size: cur.u32(), flags: cur.u32() });
    }
  }
  const tracks = children.filter((box) => box.type === 'trak').map((trak) => parseTrak(moov, trak, trexById));
  if (tracks.length === 0) throw new Mp4ParseError("'moov' has no tracks");
  return { tracks };
}

function parseTrak(buf: Buffer, trak: BoxRef, trexById: Map<number, SampleDefaults>): TrackInfo {
  const tkhdBox = required(childrenOf(buf, trak), 'tkhd', 'trak');
  const tkhd = body(buf, tkhdBox);
  const { version } = tkhd.fullBox();
  tkhd.skip(version === 1 ? 16 : 8); // creation and modification time
  const id = tkhd.u32();

  const mdia = path(buf, trak, ['mdia']);
  const mdiaChildren = childrenOf(buf, mdia);
  const mdhd = body(buf, required(mdiaChildren, 'mdhd', 'mdia'));
  const mdhdVersion = mdhd.fullBox().version;
  mdhd.skip(mdhdVersion === 1 ? 16 : 8);
  const timescale = mdhd.u32();
  if (timescale === 0) throw new Mp4ParseError(`track ${id}: timescale is 0`);

  const hdlr = body(buf, required(mdiaChildren, 'hdlr', 'mdia'));
  hdlr.fullBox();
  hdlr.u32(); // pre_defined
  const handler = hdlr.fourcc();
  const kind = handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : 'other';

  const stsd = path(buf, mdia, ['minf', 'stbl', 'stsd']);
  const stsdCursor = body(buf, stsd);
  stsdCursor.fullBox();
  const entryCount = stsdCursor.u32();
  if (entryCount < 1) throw new Mp4ParseError(`track ${id}: 'stsd' has no sample entry`);
  const [entry] = readBoxes(buf, stsdCursor.pos, stsd.end);
  if (!entry) throw new Mp4ParseError(`track ${id}: 'stsd' has no sample entry`);

  const track: TrackInfo = {
    id,
    kind,
    timescale,
    sampleEntry: entry.type,
    codec: entry.type,
    defaults: trexById.get(id) ?? { duration: 0, size: 0, flags: 0 },
  };
  if (entry.type === 'avc1' || entry.type === 'avc3') {
    // VisualSampleEntry (§12.1.3): 8 bytes SampleEntry + 70 bytes of fields, then child boxes.
    const cur = body(buf, entry);
    cur.skip(8 + 16);
    track.width = cur.u16();
    track.height = cur.u16();
    const avcC = required(childrenOf(buf, entry, 78), 'avcC', entry.type);
    track.codec = avcCodecString(entry.type, buf.subarray(avcC.bodyStart, avcC.end));
  } else if (entry.type === 'mp4a') {
    // AudioSampleEntry (§12.2.3): 8 bytes SampleEntry + 20 bytes of fields, then child boxes.
    const esds = find(childrenOf(buf, entry, 28), 'esds');
    track.codec = esds ? mp4aCodecString(buf.subarray(esds.bodyStart, esds.end)) : 'mp4a.40.2';
  }
  return track;
}

/** `avc1.PPCCLL` from an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1, RFC 6381 §3.3). */
export function avcCodecString(entryType: string, avcC: Buffer): string {
  if (avcC.length < 4) throw new Mp4ParseError(`'avcC' is ${avcC.length} bytes, too short`);
  const hex = (value: number) => value.toString(16).padStart(2, '0');
  return `${entryType}.${hex(avcC[1]!)}${hex(avcC[2]!)}${hex(avcC[3]!)}`;
}

/**
 * `mp4a.OO.A` from an `esds` payload (FullBox + ES_Descriptor, ISO/IEC 14496-1 §7.2.6; RFC 6381
 * §3.3): OO is the objectTypeIndication in hex, A the audioObjectType of the AudioSpecificConfig.
 */
export function mp4aCodecString(esds: Buffer): string {
  let pos = 4; // version + flags
  const readDescriptor = (expectedTag: number): { start: number; end: number } => {
    if (pos >= esds.length) throw new Mp4ParseError(`'esds': descriptor ${expectedTag} missing`);
    const tag = esds[pos++]!;
    let length = 0;
    for (let i = 0; i < 4; i++) {
      if (pos >= esds.length) throw new Mp4ParseError("'esds': truncated descriptor length");
      const byte = esds[pos++]!;
      length = (length << 7) | (byte & 0x7f);
      if ((byte & 0x80) === 0) break;
    }
    if (tag !== expectedTag) throw new Mp4ParseError(`'esds': expected descriptor tag ${expectedTag}, got ${tag}`);
    if (pos + length > esds.length) throw new Mp4ParseError(`'esds': descriptor ${tag} runs past the box`);
    return { start: pos, end: pos + length };
  };
  readDescriptor(0x03); // ES_Descriptor
  if (pos + 3 > esds.length) throw new Mp4ParseError("'esds': truncated ES_Descriptor");
  pos += 2; // ES_ID
  const flags = esds[pos++]!;
  if (flags & 0x80) pos += 2; // streamDependenceFlag → dependsOn_ES_ID
  if (flags & 0x40) pos += 1 + (esds[pos] ?? 0); // URL_Flag → URLlength + URLstring
  if (flags & 0x20) pos += 2; // OCRstreamFlag → OCR_ES_Id
  const config = readDescriptor(0x04); // DecoderConfigDescriptor
  const objectType = esds[config.start]!;
  const oti = objectType.toString(16).padStart(2, '0');
  if (objectType !== 0x40) return `mp4a.${oti}`;
  pos = config.start + 13;
  if (pos >= config.end) return 'mp4a.40.2';
  const info = readDescriptor(0x05); // DecoderSpecificInfo = AudioSpecificConfig
  if (info.end - info.start < 1) throw new Mp4ParseError("'esds': empty AudioSpecificConfig");
  let aot = esds[info.start]! >> 3;
  if (aot === 31) {
    if (info.end - info.start < 2) throw new Mp4ParseError("'esds': truncated AudioSpecificConfig");
    aot = 32 + (((esds[info.start]! & 0x07) << 3) | (esds[info.start + 1]! >> 5));
  }
  return `mp4a.40.${aot}`;
}
