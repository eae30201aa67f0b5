import { describe, expect, it } from 'vitest';
import { H264RtpPayload } from 'werift';
import { randomAccessUnit, readAccessUnits } from '../../../../test/support/moq/h264-stream';
import { splitAnnexB } from './h264-annexb';
import { packetizeH264, type RtpPayload } from './h264-rtp-packetizer';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const fixtures = ['x264-high-320x180.h264', 'x264-baseline-aud-320x180.h264'].map((name) => ({ name, units: readAccessUnits(new URL(`./fixtures/${name}`, import.meta.url)) }));

/** werift's RFC 6184 depacketizer, an independent implementation: NAL units out of the packets. */
function depacketizeWithWerift(packets: RtpPayload[]): Uint8Array[] {
  const nals: Uint8Array[] = [];
  let fragment: Buffer | undefined;
  for (const { payload } of packets) {
    const h264 = H264RtpPayload.deSerialize(payload, fragment);
    fragment = h264.fragment;
    if (h264.payload) nals.push(...splitAnnexB(h264.payload)!);
  }
  expect(fragment).toBeUndefined();
  return nals;
}

/** This test's own reading of RFC 6184 §5.6–5.8, strict about the framing bits. */
function depacketize(packets: RtpPayload[]): Uint8Array[] {
  const nals: Uint8Array[] = [];
  let fu: Uint8Array[] | undefined;
  for (const { payload } of packets) {
    const type = payload[0]! & 0x1f;
    if (type >= 1 && type <= 23) {
      expect(fu).toBeUndefined();
      nals.push(payload);
    } else if (type === 24) {
      expect(fu).toBeUndefined();
      for (let offset = 1; offset < payload.length; ) {
        const size = payload.readUInt16BE(offset);
        nals.push(payload.subarray(offset + 2, offset + 2 + size));
        offset += 2 + size;
        expect(offset).toBeLessThanOrEqual(payload.length);
      }
    } else if (type === 28) {
      const start = (payload[1]! & 0x80) !== 0;
      const end = (payload[1]! & 0x40) !== 0;
      expect(payload[1]! & 0x20).toBe(0); // R
      expect(start).toBe(fu === undefined);
      if (start) fu = [Uint8Array.of((payload[0]! & 0xe0) | (payload[1]! & 0x1f))];
      fu!.push(payload.subarray(2));
      if (end) {
        nals.push(Buffer.concat(fu!));
        fu = undefined;
      }
    } else throw new Error(`unexpected packet type ${type}`);
  }
  expect(fu).toBeUndefined();
  return nals;
}

function checkFraming(packets: RtpPayload[], maxPayloadSize: number): void {
  for (const packet of packets) expect(packet.payload.length).toBeLessThanOrEqual(maxPayloadSize);
  expect(packets.map((p) => p.marker)).toEqual(packets.map((_, i) => i === packets.length - 1));
}

describe('packetizeH264', () => {
  const sps = hex('6764001facb40a0cfcf80880000003008000001e478c1950');
  const pps = hex('68ef0fcb');
  const slice = hex('419a0203');

  it.each([
    ['a small P slice: one single NAL unit packet', [slice], ['419a0203'], []],
    ['SPS + PPS + IDR: STAP-A (F 0, NRI 3), then the IDR', [sps, pps, hex('6588')], [`78 0018 ${toHex(sps)} 0004 68ef0fcb`, '6588'], []],
    ['an SPS alone: a single NAL unit packet', [sps, hex('6588')], [toHex(sps), '6588'], []],
    ['STAP-A takes the highest NRI and any F bit', [hex('2701'), hex('c801')], ['d8 0002 2701 0002 c801'], []],
    ['AUD and filler dropped', [hex('0910'), sps, pps, hex('0cffff'), hex('6588')], [`78 0018 ${toHex(sps)} 0004 68ef0fcb`, '6588'], [{ type: 9, reason: 'access_unit_delimiter' }, { type: 12, reason: 'filler_data' }]],
    ['types 0, 24 and 31 dropped', [hex('0001'), hex('1801'), hex('1f01'), slice], ['419a0203'], [0, 24, 31].map((type) => ({ type, reason: 'reserved_type' }))],
    ['empty NAL units skipped', [new Uint8Array(0), slice], ['419a0203'], []],
    ['nothing left: no packet', [hex('0910')], [], [{ type: 9, reason: 'access_unit_delimiter' }]],
  ])('%s', (_name, nals, expected, dropped) => {
    const result = packetizeH264(nals);
    expect(result.packets.map((p) => toHex(p.payload))).toEqual(expected.map((s) => s.replace(/\s+/g, '')));
    expect(result.dropped).toEqual(dropped);
    checkFraming(result.packets, 1200);
  });

  it('fragments a NAL unit one byte over the limit into two FU-A packets of equal size', () => {
    const nal = Uint8Array.from({ length: 13 }, (_, i) => (i === 0 ? 0x65 : i));
    expect(packetizeH264([nal], 13).packets).toHaveLength(1);
    const { packets } = packetizeH264([nal], 12);
    expect(packets.map((p) => toHex(p.payload))).toEqual(['7c85 0102030405 06'.replace(/\s/g, ''), '7c45 0708090a0b0c'].map((s) => s.replace(/\s/g, '')));
    checkFraming(packets, 12);
  });

  it('puts an SPS/PPS pair that does not fit together into single packets', () => {
    const { packets } = packetizeH264([sps, pps], sps.length + 2);
    expect(packets.map((p) => p.payload[0]! & 0x1f)).toEqual([7, 8]);
  });

  it('refuses a payload size that cannot carry an FU-A', () => {
    expect(() => packetizeH264([slice], 2)).toThrow(RangeError);
  });

  it('does not share memory with its input', () => {
    const nal = Uint8Array.from(slice);
    const { packets } = packetizeH264([nal]);
    nal[1] = 0;
    expect(toHex(packets[0]!.payload)).toBe('419a0203');
  });

  it.each(fixtures)('$name: werift and this test depacketize every access unit back to its NAL units, byte for byte', ({ units }) => {
    expect(units).toHaveLength(12);
    let fragmented = 0;
    for (const unit of units) {
      const { packets, dropped } = packetizeH264(unit.nals);
      checkFraming(packets, 1200);
      const sent = unit.nals.filter((nal) => (nal[0]! & 0x1f) !== 9).map(toHex);
      expect(depacketizeWithWerift(packets).map(toHex)).toEqual(sent);
      expect(depacketize(packets).map(toHex)).toEqual(sent);
      expect(dropped.length).toBe(unit.nals.length - sent.length);
      if (unit.keyframe) expect(packets[0]!.payload[0]! & 0x1f).toBe(24); // SPS + PPS in a STAP-A
      fragmented += packets.filter((p) => (p.payload[0]! & 0x1f) === 28).length;
    }
    expect(fragmented).toBeGreaterThan(4);
  });

  it('round-trips 800 random access units through both depacketizers, at random payload sizes', () => {
    let seed = 99;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 800; i += 1) {
      const types = Array.from({ length: 1 + Math.floor(random() * 6) }, () => [1, 5, 6, 7, 8, 9, 12, 0, 30][Math.floor(random() * 9)]!);
      const nals = randomAccessUnit(types, 1 + Math.floor(random() * 3000), random);
      // Mostly realistic sizes; now and then a tiny one (3 bytes: one byte of NAL unit per FU-A).
      const maxPayloadSize = i % 50 === 0 ? 3 + Math.floor(random() * 20) : 100 + Math.floor(random() * 1400);
      const { packets, dropped } = packetizeH264(nals, maxPayloadSize);
      checkFraming(packets, maxPayloadSize);
      const sent = nals.filter((nal) => ![0, 9, 12, 30].includes(nal[0]! & 0x1f)).map(toHex);
      expect(depacketize(packets).map(toHex)).toEqual(sent);
      expect(depacketizeWithWerift(packets).map(toHex)).toEqual(sent);
      expect(dropped).toHaveLength(nals.length - sent.length);
    }
  }, 30_000); // bounded in count; the time is for a loaded 2-core machine
});
