import { describe, expect, it } from 'vitest';
import { RtpPacket } from 'werift';
import { fakeSender, packet } from './fast-sender-test-kit';

describe('WeriftFastSender', () => {
  it.each([
    ['AEAD_AES_128_GCM', 7],
    ['AES_CM_128_HMAC_SHA1_80', 1],
  ])('%s: werift decrypts what it sends, across a sequence number wrap, with mid and abs-send-time', (_name, profile) => {
    const { fast, wire, receiver, sender } = fakeSender(profile);
    const sent = [0xfffd, 0xfffe, 0xffff, 0, 1, 2].map((seq) => packet(seq));
    for (const p of sent) expect(fast.send(p)).toBeGreaterThan(p.payload.length + 12);
    expect(wire).toHaveLength(sent.length);
    wire.forEach((buf, i) => {
      const rtp = RtpPacket.deSerialize(receiver.decrypt(buf));
      expect(rtp.header).toMatchObject({ sequenceNumber: sent[i]!.sequenceNumber, timestamp: sent[i]!.timestamp, ssrc: 0x11223344, payloadType: 102, marker: sent[i]!.marker, extension: true });
      expect(rtp.header.extensions.map((e) => e.id)).toEqual([1, 3]);
      expect(rtp.header.extensions[0]!.payload.toString()).toBe('0');
      expect(rtp.payload).toEqual(sent[i]!.payload);
    });
    expect(sender.packetCount).toBe(sent.length);
    expect(sender.octetCount).toBe(sent.length * 900);
    expect(sender.rtcpRuns).toBe(1);
  });

  it("writes to the nominated pair's socket while consent is fresh, through werift's connection otherwise", () => {
    const fresh = fakeSender(7, undefined, true);
    fresh.fast.send(packet(1));
    expect(fresh.wire).toHaveLength(0);
    expect(fresh.direct.map(({ port, host }) => [host, port])).toEqual([['127.0.0.1', 5004]]);
    expect(fresh.pair).toMatchObject({ packetsSent: 1, bytesSent: fresh.direct[0]!.data.length });
    const stale = fakeSender(7, undefined, false);
    stale.fast.send(packet(1));
    expect(stale.direct).toHaveLength(0);
    expect(stale.wire).toHaveLength(1);
  });

  it('leaves the shared payload untouched', () => {
    const { fast } = fakeSender(7);
    const payload = Buffer.from('payload shared by every viewer');
    const copy = Buffer.from(payload);
    fast.send(packet(5, payload));
    expect(payload).toEqual(copy);
  });

  it('answers a NACK with the packet as it was sent, and ignores sequence numbers it no longer has', () => {
    const { fast, wire, nack } = fakeSender(7);
    for (let seq = 100; seq < 300; seq += 1) fast.send(packet(seq));
    wire.length = 0;
    nack([290, 50]);
    expect(wire).toHaveLength(1);
    expect(wire[0]!.readUInt16BE(2)).toBe(290);
  });

  it('sends a packet it is handed twice once (protected again it would reuse its GCM IV with another abs-send-time)', () => {
    const { fast, wire } = fakeSender(7);
    expect(fast.send(packet(5))).toBeGreaterThan(0);
    expect(fast.send(packet(5))).toBe(0);
    expect(wire).toHaveLength(1);
  });

  it('hands packets to werift when an extension it does not write was negotiated', () => {
    const { fast, wire, fallback } = fakeSender(7, [{ id: 5, uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' }]);
    fast.send(packet(1));
    expect(wire).toHaveLength(0);
    expect(fallback).toHaveLength(1);
  });

  it('sends no extension block when none was negotiated', () => {
    const { fast, wire, receiver } = fakeSender(7, []);
    fast.send(packet(9));
    expect(wire[0]![0]).toBe(0x80);
    expect(RtpPacket.deSerialize(receiver.decrypt(wire[0]!)).header.sequenceNumber).toBe(9);
  });
});
