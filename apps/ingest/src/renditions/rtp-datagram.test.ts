import { describe, expect, it } from 'vitest';
import { serializeRtp } from '../router/rtp-rewriter';
import { buildSenderReport } from '../webrtc/rtcp/sender-report';
import { decodeRtpDatagram, type RtpPacketFields } from './rtp-datagram';

const PAYLOAD = Buffer.from([0x7c, 0x85, 0x88, 0x84, 0x00, 0x33]);

/** An RTP packet with CSRCs, a header extension and padding, built by hand (RFC 3550 §5.1, §5.3.1). */
function fullPacket({ csrcs = 0, extensionWords = -1, padding = 0 }: { csrcs?: number; extensionWords?: number; padding?: number }): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head[0] = 0x80 | (padding > 0 ? 0x20 : 0) | (extensionWords >= 0 ? 0x10 : 0) | csrcs;
  head[1] = 0x80 | 96;
  head.writeUInt16BE(4242, 2);
  head.writeUInt32BE(90_000, 4);
  head.writeUInt32BE(0x1234_5678, 8);
  parts.push(head);
  for (let i = 0; i < csrcs; i++) parts.push(Buffer.alloc(4, i + 1));
  if (extensionWords >= 0) {
    const ext = Buffer.alloc(4 + 4 * extensionWords, 0xee);
    ext.writeUInt16BE(0xbede, 0);
    ext.writeUInt16BE(extensionWords, 2);
    parts.push(ext);
  }
  parts.push(PAYLOAD);
  if (padding > 0) {
    const pad = Buffer.alloc(padding);
    pad[padding - 1] = padding;
    parts.push(pad);
  }
  return Buffer.concat(parts);
}

describe('decodeRtpDatagram', () => {
  it('round-trips what serializeRtp writes', () => {
    for (const header of [
      { sequenceNumber: 0, timestamp: 0, ssrc: 1, payloadType: 96, marker: false },
      { sequenceNumber: 65_535, timestamp: 0xffff_ffff, ssrc: 0xffff_ffff, payloadType: 127, marker: true },
      { sequenceNumber: 12_345, timestamp: 3_000_000, ssrc: 0x7fff_ffff, payloadType: 111, marker: false },
    ]) {
      const wire = serializeRtp({ ...header, payload: PAYLOAD });
      expect(decodeRtpDatagram(wire)).toEqual({ type: 'rtp', ...header, payload: PAYLOAD, size: wire.length });
    }
  });

  it.each([
    ['CSRCs', { csrcs: 3 }],
    ['a header extension', { extensionWords: 2 }],
    ['an empty header extension', { extensionWords: 0 }],
    ['padding', { padding: 4 }],
    ['all of them', { csrcs: 15, extensionWords: 1, padding: 1 }],
  ])('takes off %s and keeps the payload', (_name, shape) => {
    const decoded = decodeRtpDatagram(fullPacket(shape)) as RtpPacketFields;
    expect(decoded).toMatchObject({ type: 'rtp', ssrc: 0x1234_5678, sequenceNumber: 4242, timestamp: 90_000, payloadType: 96, marker: true });
    expect(decoded.payload).toEqual(PAYLOAD);
  });

  it('decodes a padding-only packet with an empty payload', () => {
    const probe = Buffer.alloc(12 + 224);
    probe[0] = 0xa0;
    probe[1] = 96;
    probe[probe.length - 1] = 224;
    expect((decodeRtpDatagram(probe) as RtpPacketFields).payload).toHaveLength(0);
  });

  it('reads the sender reports of an RTCP compound on the same port (RFC 5761 §4)', () => {
    const wallTimeMs = Date.UTC(2026, 11, 1, 12, 0, 0, 250);
    const compound = buildSenderReport({ ssrc: 0xabcdef01, wallTimeMs, rtpTimestamp: 123_456, packetCount: 10, octetCount: 12_000, cname: 'onair' });
    const decoded = decodeRtpDatagram(compound);
    expect(decoded).toMatchObject({ type: 'rtcp', senderReports: [{ ssrc: 0xabcdef01, rtpTimestamp: 123_456, packetCount: 10, octetCount: 12_000 }] });
    expect((decoded as { senderReports: Array<{ ntpMs: number }> }).senderReports[0]!.ntpMs).toBeCloseTo(wallTimeMs, 0);
    // A receiver report alone: RTCP, no sender report.
    const receiverReport = Buffer.from([0x80, 201, 0x00, 0x01, 0, 0, 0, 1]);
    expect(decodeRtpDatagram(receiverReport)).toEqual({ type: 'rtcp', senderReports: [] });
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['shorter than the fixed header', Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 0])],
    ['version 1', Buffer.concat([Buffer.from([0x40]), fullPacket({}).subarray(1)])],
    ['CSRCs past the end', fullPacket({ csrcs: 15 }).subarray(0, 20)],
    ['an extension past the end', (() => { const p = fullPacket({ extensionWords: 1 }); p.writeUInt16BE(200, 14); return p; })()],
    ['padding of zero', (() => { const p = fullPacket({ padding: 2 }); p[p.length - 1] = 0; return p; })()],
    ['padding past the header', (() => { const p = fullPacket({ padding: 2 }); p[p.length - 1] = 250; return p; })()],
    ['an RTCP length past the end', Buffer.from([0x80, 200, 0x00, 0x09, 0, 0, 0, 1])],
    ['an RTCP compound with trailing bytes', Buffer.from([0x80, 201, 0x00, 0x01, 0, 0, 0, 1, 0x80])],
  ])('refuses %s', (_name, datagram) => {
    expect(decodeRtpDatagram(datagram)).toBeUndefined();
  });

  it('survives thousands of corrupted datagrams: never throws, payload always inside the datagram', () => {
    let seed = 12_345;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fff_ffff;
      return seed / 0x7fff_ffff;
    };
    const valid = [fullPacket({ csrcs: 2, extensionWords: 1, padding: 3 }), serializeRtp({ sequenceNumber: 1, timestamp: 2, ssrc: 3, payloadType: 96, marker: true, payload: PAYLOAD }), buildSenderReport({ ssrc: 1, wallTimeMs: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0, cname: 'x' })];
    let decoded = 0;
    for (let i = 0; i < 5000; i++) {
      const base = Buffer.from(valid[i % valid.length]!);
      const datagram = i % 4 === 0 ? Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256))) : base.subarray(0, Math.max(0, base.length - Math.floor(random() * 8)));
      for (let flips = 0; flips < 3 && datagram.length > 0; flips++) datagram[Math.floor(random() * datagram.length)] = Math.floor(random() * 256);
      const result = decodeRtpDatagram(datagram);
      if (result?.type !== 'rtp') continue;
      decoded += 1;
      expect(result.payload.byteOffset - datagram.byteOffset).toBeGreaterThanOrEqual(12);
      expect(result.payload.byteOffset + result.payload.length).toBeLessThanOrEqual(datagram.byteOffset + datagram.length);
    }
    // Some corrupted datagrams are still well-formed RTP (most flips hit the payload).
    expect(decoded).toBeGreaterThan(100);
  });
});
