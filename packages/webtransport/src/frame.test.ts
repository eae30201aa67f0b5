import { describe, expect, it } from 'vitest';
import { concatBytes } from './bytes';
import { H3 } from './error-codes';
import { decodeFrame, decodeFrameHeader, decodeGoaway, encodeFrame, encodeFrameHeader, encodeGoaway, FrameType } from './frame';
import { FrameReader, type FrameEvent } from './frame-reader';
import { INCOMPLETE, ProtocolError } from './protocol-error';
import { corruptions, hex, outcomeOf, randomSplit, seededRandom, toHex } from './test-support/fuzz';
import { encodeVarint } from './varint';

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('HTTP/3 frames (RFC 9114 §7.1)', () => {
  const table: Array<[string, number, Uint8Array, string]> = [
    ['empty DATA', FrameType.DATA, bytes(), '0000'],
    ['DATA', FrameType.DATA, bytes(1, 2, 3), '0003010203'],
    ['HEADERS', FrameType.HEADERS, bytes(0, 0, 0xd1), '01030000d1'],
    ['SETTINGS', FrameType.SETTINGS, bytes(0x01, 0x00), '04020100'],
    ['GOAWAY', FrameType.GOAWAY, bytes(0x04), '070104'],
    ['greased type 0x21', 0x21, bytes(9), '210109'],
    ['two-byte type', 0x1234, bytes(), '523400'],
  ];

  it.each(table)('%s round-trips', (_name, type, payload, encoded) => {
    expect(toHex(encodeFrame(type, payload))).toBe(encoded);
    const decoded = decodeFrame(hex(encoded), 0, 1024);
    expect(decoded).toEqual({ frame: { type, payload }, length: encoded.length / 2 });
    expect(toHex(concatBytes([encodeFrameHeader(type, payload.length), payload]))).toBe(encoded);
  });

  it('says INCOMPLETE until the whole frame is there', () => {
    const frame = hex('0003010203');
    for (let cut = 0; cut < frame.length; cut++) expect(decodeFrame(frame.subarray(0, cut), 0, 1024)).toBe(INCOMPLETE);
  });

  it('refuses a payload longer than the cap before buffering it', () => {
    const header = concatBytes([encodeVarint(FrameType.HEADERS), encodeVarint(1 << 20)]);
    expect(() => decodeFrame(header, 0, 16384)).toThrowError(expect.objectContaining({ code: H3.EXCESSIVE_LOAD }));
  });

  it('reads the header of a frame with a huge length without its payload', () => {
    expect(decodeFrameHeader(hex('00 c0000000ffffffff'))).toEqual({ type: 0, length: 0xffffffff, headerLength: 9 });
  });

  it('GOAWAY carries exactly one varint', () => {
    expect(decodeGoaway(decodeFrameOrThrow(encodeGoaway(16)).payload)).toBe(16);
    expect(() => decodeGoaway(bytes(0x04, 0x00))).toThrowError(ProtocolError);
    expect(() => decodeGoaway(bytes())).toThrowError(ProtocolError);
  });
});

function decodeFrameOrThrow(encoded: Uint8Array) {
  const decoded = decodeFrame(encoded, 0, 1024);
  if (decoded === INCOMPLETE) throw new Error('incomplete');
  return decoded.frame;
}

/** Feeds pieces and merges consecutive DATA events, so splits compare equal. */
function readAll(reader: FrameReader, pieces: Uint8Array[]): Array<{ kind: string; type?: number; hex: string }> {
  const out: Array<{ kind: string; type?: number; hex: string }> = [];
  for (const piece of pieces) {
    for (const event of reader.push(piece) as FrameEvent[]) {
      if (event.kind === 'data') {
        const last = out.at(-1);
        if (last?.kind === 'data') last.hex += toHex(event.bytes);
        else out.push({ kind: 'data', hex: toHex(event.bytes) });
      } else if (event.kind === 'frame') out.push({ kind: 'frame', type: event.type, hex: toHex(event.payload) });
      else out.push({ kind: 'too-large', type: event.type, hex: String(event.length) });
    }
  }
  return out;
}

describe('FrameReader', () => {
  const stream = concatBytes([
    encodeFrame(FrameType.HEADERS, bytes(0, 0, 0xd1)),
    encodeFrame(0x21, new Uint8Array(300)), // greased: skipped (RFC 9114 §9)
    encodeFrame(FrameType.DATA, bytes(1, 2, 3, 4, 5)),
    encodeFrame(FrameType.DATA, bytes()),
    encodeFrame(0x2b603742, bytes(1)), // unknown type
    encodeFrame(FrameType.DATA, new Uint8Array(1000).fill(7)),
    encodeFrame(FrameType.HEADERS, bytes(0, 0)),
  ]);
  const expected = [
    { kind: 'frame', type: FrameType.HEADERS, hex: '0000d1' },
    { kind: 'data', hex: '0102030405' + '07'.repeat(1000) },
    { kind: 'frame', type: FrameType.HEADERS, hex: '0000' },
  ];

  it('yields the same frames however the stream is split', () => {
    expect(readAll(new FrameReader(1024), [stream])).toEqual(expected);
    const random = seededRandom(3);
    for (let i = 0; i < 300; i++) {
      const reader = new FrameReader(1024);
      expect(readAll(reader, randomSplit(stream, random))).toEqual(expected);
      expect(reader.atFrameBoundary).toBe(true);
    }
  });

  it('byte by byte', () => {
    const reader = new FrameReader(1024);
    const pieces = Array.from(stream, (byte) => bytes(byte));
    expect(readAll(reader, pieces)).toEqual(expected);
  });

  it('knows when the stream stops inside a frame', () => {
    const reader = new FrameReader(1024);
    reader.push(stream.subarray(0, 2));
    expect(reader.atFrameBoundary).toBe(false);
  });

  it('reports a frame over the cap once, then reads nothing more', () => {
    const reader = new FrameReader(16);
    const events = reader.push(concatBytes([encodeFrame(FrameType.HEADERS, new Uint8Array(17)), encodeFrame(FrameType.HEADERS, bytes(0, 0))]));
    expect(events).toEqual([{ kind: 'too-large', type: FrameType.HEADERS, length: 17 }]);
    expect(reader.push(encodeFrame(FrameType.HEADERS, bytes(0, 0)))).toEqual([]);
  });

  it('streams a DATA frame bigger than the cap (DATA is never buffered)', () => {
    const reader = new FrameReader(16);
    expect(readAll(reader, [encodeFrame(FrameType.DATA, new Uint8Array(100).fill(1))])).toEqual([{ kind: 'data', hex: '01'.repeat(100) }]);
  });

  it.each([0x02, 0x06, 0x08, 0x09])('HTTP/2 frame type 0x%s is H3_FRAME_UNEXPECTED (§7.2.8)', (type) => {
    expect(() => new FrameReader(1024).push(encodeFrame(type, bytes()))).toThrowError(expect.objectContaining({ code: H3.FRAME_UNEXPECTED, scope: 'connection' }));
  });

  it('fuzz: 20 000 corrupted streams fed in random pieces never throw anything but ProtocolError', () => {
    const random = seededRandom(5);
    const outcomes = new Set<string>();
    for (const input of corruptions([stream, stream.subarray(0, 40)], 20_000, 17)) {
      const reader = new FrameReader(64);
      outcomes.add(outcomeOf(input, (b) => randomSplit(b, random).forEach((piece) => reader.push(piece))));
      outcomeOf(input, (b) => decodeFrame(b, 0, 64), INCOMPLETE);
    }
    expect(outcomes).toContain('protocol-error');
    expect(outcomes).toContain('value');
  });
});
