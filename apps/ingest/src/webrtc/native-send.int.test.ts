import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { RtpPacket } from 'werift';
import { pollUntil } from '../../../../test/support/poll';
import { fakeSender, packet } from './fast-sender-test-kit';
import { nativeSendUnavailable, nativeSrtpSend } from './native-send';

const addon = nativeSrtpSend();
const sockets: Socket[] = [];

async function boundSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

/** A fast sender on the addon, writing from a real socket (werift's, as far as it knows) to a viewer socket. */
async function nativeSender(profile: number, headerExtensions?: Parameters<typeof fakeSender>[1]) {
  const from = await boundSocket();
  const viewer = await boundSocket();
  const received: Buffer[] = [];
  viewer.on('message', (data) => received.push(data));
  const fake = fakeSender(profile, headerExtensions, true, { addon: addon!, socket: from, remote: ['127.0.0.1', viewer.address().port] });
  return { ...fake, from, viewer, received };
}

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

// The addon is built with the system's C compiler; the suite's machines have one (cc is in
// Debian's build-essential), and a machine without it runs the JS path these tests compare to.
describe.skipIf(!addon)(`native SRTP send (${nativeSendUnavailable ?? 'addon loaded'})`, () => {
  it.each([
    ['AEAD_AES_128_GCM', 7],
    ['AES_CM_128_HMAC_SHA1_80', 1],
  ])('%s: werift decrypts what leaves the socket, across a sequence number wrap, with mid and abs-send-time', async (_name, profile) => {
    const { fast, received, receiver, sender, wire, direct } = await nativeSender(profile);
    const sent = [0xfffd, 0xfffe, 0xffff, 0, 1, 2].map((seq) => packet(seq));
    // Header, extension block (the 0xBEDE word, mid, abs-send-time: 3 words), payload, tag.
    for (const p of sent) expect(fast.send(p)).toBe(12 + 12 + 900 + (profile === 7 ? 16 : 10));
    await pollUntil('packets', () => received.length === sent.length, { timeoutMs: 5000 });
    received.forEach((buf, i) => {
      const rtp = RtpPacket.deSerialize(receiver.decrypt(buf));
      expect(rtp.header).toMatchObject({ sequenceNumber: sent[i]!.sequenceNumber, timestamp: sent[i]!.timestamp, ssrc: 0x11223344, payloadType: 102, marker: sent[i]!.marker, extension: true });
      expect(rtp.header.extensions.map((e) => e.id)).toEqual([1, 3]);
      expect(rtp.header.extensions[0]!.payload.toString()).toBe('0');
      // abs-send-time: 6.18 fixed-point seconds of now, within a second of ours.
      const nowFixed = (((Date.now() / 1000 + 2_208_988_800) * 262_144) & 0xffffff) >>> 0;
      const diff = (nowFixed - rtp.header.extensions[1]!.payload.readUIntBE(0, 3) + 0x1000000) % 0x1000000;
      expect(Math.min(diff, 0x1000000 - diff)).toBeLessThan(262_144);
      expect(rtp.payload).toEqual(sent[i]!.payload);
    });
    expect(wire.length + direct.length).toBe(0);
    expect(sender.packetCount).toBe(sent.length);
  });

  it("sends a viewer's burst in one system call, at the end of the run that queued it", async () => {
    const { fast, received } = await nativeSender(7);
    const before = addon!.stats();
    for (let seq = 10; seq < 20; seq += 1) fast.send(packet(seq));
    expect(received).toHaveLength(0);
    await pollUntil('packets', () => received.length === 10, { timeoutMs: 5000 });
    const after = addon!.stats();
    expect(after.sent - before.sent).toBe(10);
    expect(after.sendCalls - before.sendCalls).toBe(1);
  });

  it('answers a NACK with the same packet, protected again to the same index', async () => {
    const { fast, received, receiver, nack } = await nativeSender(1);
    const sent = [0xfffe, 0xffff, 0, 1].map((seq) => packet(seq));
    for (const p of sent) fast.send(p);
    await pollUntil('packets', () => received.length === 4, { timeoutMs: 5000 });
    const originals = received.splice(0);
    // Lost on the way: the receiver never saw 0xffff (before the wrap) nor 1.
    receiver.decrypt(originals[0]!);
    receiver.decrypt(originals[2]!);
    nack([0xffff, 1, 50]);
    await pollUntil('packets', () => received.length === 2, { timeoutMs: 5000 });
    expect(received.map((buf) => RtpPacket.deSerialize(receiver.decrypt(buf)).payload)).toEqual([sent[1]!.payload, sent[3]!.payload]);
  });

  it('resends a packet NACKed many times once, and a flood of NACKs only within the budget', async () => {
    const { fast, received, nack } = await nativeSender(7);
    // In runs of 20: a loopback socket's default receive buffer holds ~100 of these.
    for (let seq = 1000; seq < 1200; seq += 20) {
      for (let i = 0; i < 20; i += 1) fast.send(packet(seq + i));
      await pollUntil('packets', () => received.length === seq + 20 - 1000, { timeoutMs: 5000 });
    }
    received.length = 0;
    nack(Array.from({ length: 20 }, () => 1100));
    await pollUntil('the resend', () => received.length === 1, { timeoutMs: 5000 });
    nack(Array.from({ length: 100 }, (_, i) => 1100 + i));
    // MIN_RETRANSMIT_BYTES (16 000) a second to start with: ~16 of these 936-byte packets.
    await pollUntil('resends', () => received.length > 10, { timeoutMs: 5000 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(received.length).toBeLessThan(25);
  });

  it("keeps writing to the socket it was given, not to a descriptor reused after that socket closed", async () => {
    const { fast, received, from } = await nativeSender(7);
    fast.send(packet(1));
    await pollUntil('packets', () => received.length === 1, { timeoutMs: 5000 });
    from.close();
    sockets.splice(sockets.indexOf(from), 1);
    // The next socket most likely takes the closed one's descriptor number.
    const reused = await boundSocket();
    const stray: Buffer[] = [];
    reused.on('message', (data) => stray.push(data));
    fast.send(packet(2));
    await pollUntil('packets', () => received.length === 2, { timeoutMs: 5000 });
    expect(stray).toHaveLength(0);
    fast.close();
    expect(fast.send(packet(3))).toBe(0);
  });

  it('sends no extension block when none was negotiated', async () => {
    const { fast, received, receiver } = await nativeSender(7, []);
    expect(fast.send(packet(9))).toBe(12 + 900 + 16);
    await pollUntil('packets', () => received.length === 1, { timeoutMs: 5000 });
    expect(received[0]![0]).toBe(0x80);
    expect(RtpPacket.deSerialize(receiver.decrypt(received[0]!)).header.sequenceNumber).toBe(9);
  });

  it('resends a NACKed packet byte for byte (one IV, one header: RFC 7714 §8.2), and drops a duplicate it is handed', async () => {
    const { fast, received, nack } = await nativeSender(7);
    fast.send(packet(7));
    await pollUntil('packets', () => received.length === 1, { timeoutMs: 5000 });
    // abs-send-time moves on in 1/262144 s steps: a resend a few ms later would carry another.
    const resentAt = performance.now() + 5;
    await pollUntil('time to pass', () => performance.now() > resentAt, { timeoutMs: 1000, intervalMs: 1 });
    nack([7]);
    await pollUntil('the resend', () => received.length === 2, { timeoutMs: 5000 });
    expect(received[1]).toEqual(received[0]);
    expect(fast.send(packet(7))).toBe(0);
    fast.send(packet(8));
    await pollUntil('the next packet', () => received.length === 3, { timeoutMs: 5000 });
    expect(received[2]!.readUInt16BE(2)).toBe(8);
  });

  it('refuses bad keys and arguments with a TypeError, not a crash', () => {
    expect(() => addon!.createContext(true, Buffer.alloc(15), Buffer.alloc(12), Buffer.alloc(0), 1, null, -1)).toThrow(TypeError);
    expect(() => addon!.createContext(false, Buffer.alloc(16), Buffer.alloc(14), Buffer.alloc(3), 1, null, -1)).toThrow(/authKey/);
    expect(() => addon!.createContext(true, Buffer.alloc(16), Buffer.alloc(12), Buffer.alloc(0), 1, Buffer.alloc(8), 7)).toThrow(/absSendTimeAt/);
    expect(() => addon!.createContext(true, Buffer.alloc(16), Buffer.alloc(12), Buffer.alloc(0), 1, null, 0)).toThrow(/absSendTimeAt/);
    // An offset past the end by integer overflow (it was accepted, and the first send wrote 2 GB on).
    expect(() => addon!.createContext(true, Buffer.alloc(16), Buffer.alloc(12), Buffer.alloc(0), 1, Buffer.alloc(8), 2_147_483_647)).toThrow(/absSendTimeAt/);
    expect(() => addon!.setDestination({} as never, 0, '127.0.0.1', 1)).toThrow(TypeError);
    expect(() => addon!.send(addon!.createContext(true, Buffer.alloc(16), Buffer.alloc(12), Buffer.alloc(0), 1, null, -1), 1, 2, 3, 4, 'not a buffer' as unknown as Buffer, 0)).toThrow(TypeError);
  });
});

describe('native SRTP send switched off', () => {
  it('is not loaded with ONAIR_NATIVE_SEND=off: werift viewers encrypt and send in JS', () => {
    expect(nativeSrtpSend({ ONAIR_NATIVE_SEND: 'off' })).toBeUndefined();
  });
});
