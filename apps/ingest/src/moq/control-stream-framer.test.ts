import { describe, expect, it } from 'vitest';
import { ControlStreamFramer, type ControlStreamFramerOptions } from './control-stream-framer';
import { encodeQuicVarint } from './quic-varint';

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const v = encodeQuicVarint;
const u16 = (n: number) => Uint8Array.of(n >> 8, n & 0xff);
/** moq-lite's message: varint size · body. */
const msg = (body: Uint8Array) => concat(v(body.length), body);
/** moq-transport-14's control message: varint type · u16 size · body. */
const ietf = (type: number, body: Uint8Array) => concat(v(type), u16(body.length), body);
const bytes = (length: number, fill = 0x61) => new Uint8Array(length).fill(fill);
const LITE_02 = 0xff0dad02;
const IETF_14 = 0xff00000e;
/** The ingest's SERVER_SETUP as @moq/lite writes it (three writes: type, u16 size, body). */
const serverSetup = (version: number) => [v(0x21), u16(v(version).length + 1), concat(v(version), v(0))];

interface Case {
  opened: ControlStreamFramerOptions['opened'];
  /** What the ingest wrote before the data arrived. */
  sent?: Uint8Array[];
  data: Uint8Array;
  /** Written by the ingest once this many bytes of `data` were pushed. */
  sentAt?: { at: number; chunks: Uint8Array[] };
}

function run(c: Case, cuts: number[], max = 64 * 1024) {
  const framer = new ControlStreamFramer({ opened: c.opened, maxMessageBytes: max });
  for (const chunk of c.sent ?? []) framer.sent(chunk);
  const out: Uint8Array[] = [];
  const points = [...new Set([0, ...cuts, ...(c.sentAt ? [c.sentAt.at] : []), c.data.length])].sort((a, b) => a - b);
  for (let i = 1; i < points.length; i += 1) {
    if (c.sentAt && points[i - 1] === c.sentAt.at) for (const chunk of c.sentAt.chunks) framer.sent(chunk);
    const result = framer.push(c.data.subarray(points[i - 1], points[i]));
    out.push(...result.chunks);
    if (result.error) return { out: concat(...out), error: result.error };
  }
  return { out: concat(...out), error: undefined };
}

/** One chunk, byte by byte, and cut in two at every byte boundary. */
function everySplit(c: Case, max?: number) {
  const splits = [[], Array.from({ length: c.data.length }, (_, i) => i), ...Array.from({ length: c.data.length }, (_, i) => [i])];
  return splits.map((cuts) => run(c, cuts, max));
}

const clientSetupBody = concat(v(3), v(LITE_02), v(0xff0dad01), v(IETF_14), v(1), v(7), msg(bytes(11)));
const clientSetup = concat(v(0x20), u16(clientSetupBody.length), clientSetupBody);

describe('ControlStreamFramer', () => {
  const valid: Array<[string, Case]> = [
    ["the publisher's announce interest (type 1) and more announcements", { opened: 'remote', data: concat(v(1), msg(concat(v(5), bytes(5), v(0))), msg(bytes(300))) }],
    ["the publisher's subscribe and its updates (type 2)", { opened: 'remote', data: concat(v(2), msg(bytes(40)), msg(bytes(5)), msg(new Uint8Array(0))) }],
    ["the ingest's announce stream: announcements", { opened: 'local', sent: [v(1), msg(bytes(3))], data: concat(msg(concat(Uint8Array.of(1), v(20), bytes(20), v(0))), msg(bytes(1000))) }],
    ["the ingest's probe stream: probes", { opened: 'local', sent: [v(4)], data: concat(msg(concat(v(3_000_000), v(40))), msg(concat(v(2_000_000), v(41)))) }],
    [
      // Read as plain messages, the DROP's start group (1 000 000) would be a 1 MB size.
      "the ingest's subscribe stream: SUBSCRIBE_OK, then a SUBSCRIBE_DROP of groups from 1 000 000",
      { opened: 'local', sent: [v(2), msg(bytes(30))], data: concat(v(0), msg(concat(Uint8Array.of(60, 1), v(0), v(0), v(0))), v(1), msg(concat(v(1_000_000), v(1_000_001), v(3)))) },
    ],
    ['a SETUP stream (no wt-protocol), moq-lite-02 chosen, then session info', { opened: 'remote', data: concat(clientSetup, msg(v(5_000_000)), msg(v(6_000_000))), sentAt: { at: clientSetup.length, chunks: serverSetup(LITE_02) } }],
    [
      // Read as moq-lite's, the 0xc0 bytes would be sizes past 2^53.
      'a SETUP stream, moq-transport-14 chosen, then its control messages (u16 sizes)',
      { opened: 'remote', data: concat(clientSetup, ietf(0x11, bytes(300, 0xc0)), ietf(0x03, bytes(2))), sentAt: { at: clientSetup.length, chunks: serverSetup(IETF_14) } },
    ],
    ['a moq-transport client sending on before the reply', { opened: 'remote', data: concat(clientSetup, ietf(0x11, bytes(300, 0xc0))), sentAt: { at: clientSetup.length + 10, chunks: serverSetup(IETF_14) } }],
    ['a stream type @moq/lite refuses at once (its bytes are not read)', { opened: 'remote', data: concat(v(7), bytes(100, 0xff)) }],
    ['a stream type past 2^53', { opened: 'remote', data: concat(bytes(8, 0xff), bytes(100, 0xff)) }],
  ];

  it.each(valid)('passes %s through unchanged, however it is cut', (_name, c) => {
    for (const result of everySplit(c)) {
      expect(result.error).toBeUndefined();
      expect(Buffer.from(result.out).equals(Buffer.from(c.data))).toBe(true);
    }
  });

  const refused: Array<[string, Case, RegExp]> = [
    ["a 1 MiB announce interest (only its prefix sent)", { opened: 'remote', data: concat(v(1), v(1 << 20)) }, /^a 1048576-byte control message on the publisher's announce stream, more than 65536$/],
    ['a subscribe update over the cap after a good subscribe', { opened: 'remote', data: concat(v(2), msg(bytes(40)), v(65_537), bytes(10)) }, /65537-byte control message on the publisher's subscribe stream/],
    ["a probe answer over the cap on the ingest's probe stream", { opened: 'local', sent: [v(4)], data: concat(msg(v(100)), v(70_000)) }, /70000-byte control message on the probe stream the ingest opened/],
    ["a SUBSCRIBE_OK over the cap on the ingest's subscribe stream", { opened: 'local', sent: [v(2)], data: concat(v(0), v(4 << 20)) }, /4194304-byte control message on the subscribe stream the ingest opened/],
    ['a size past 2^53', { opened: 'local', sent: [v(1)], data: bytes(8, 0xff) }, /size past 2\^53 on the announce stream the ingest opened/],
    ['moq-lite-02 session info over the cap', { opened: 'remote', data: concat(clientSetup, msg(v(5)), v(1 << 20)), sentAt: { at: clientSetup.length, chunks: serverSetup(LITE_02) } }, /1048576-byte control message on the publisher's SETUP stream/],
    ['a moq-lite session stream that went on before the reply', { opened: 'remote', data: concat(clientSetup, msg(v(5)), msg(v(5))), sentAt: { at: clientSetup.length + 2, chunks: serverSetup(LITE_02) } }, /went on before the SETUP reply/],
  ];

  it.each(refused)('refuses %s at its size prefix, however it is cut', (_name, c, error) => {
    for (const result of everySplit(c)) {
      expect(result.error).toMatch(error);
      expect(Buffer.from(c.data.subarray(0, result.out.length)).equals(Buffer.from(result.out))).toBe(true);
    }
  });

  it('checks a CLIENT_SETUP against the cap too (its u16 size bounds it to 65535 at the default)', () => {
    expect(run({ opened: 'remote', data: clientSetup }, [], 16).error).toMatch(new RegExp(`${clientSetupBody.length}-byte control message on the publisher's SETUP stream`));
  });

  it('stays failed', () => {
    const framer = new ControlStreamFramer({ opened: 'local', maxMessageBytes: 10 });
    expect(framer.push(v(11)).error).toBeDefined();
    expect(framer.push(msg(bytes(1)))).toEqual({ chunks: [], error: 'the stream already failed' });
  });

  it('never throws on 20 000 random streams, hands on a prefix of what it got, and decides the same however they are cut', () => {
    const random = (n: number) => Math.floor(Math.random() * n);
    for (let i = 0; i < 20_000; i += 1) {
      // Mostly small sizes and stream types @moq/lite knows, so that the messages go on past the first.
      const data = Uint8Array.from({ length: random(60) }, () => (Math.random() < 0.5 ? random(6) : Math.random() < 0.1 ? 0x20 : random(256)));
      const c: Case = { opened: Math.random() < 0.5 ? 'remote' : 'local', sent: Math.random() < 0.3 ? serverSetup(Math.random() < 0.5 ? LITE_02 : IETF_14) : [Uint8Array.of(random(6))], data };
      const whole = run(c, [], 32);
      const cut = run(c, Array.from({ length: random(5) }, () => random(data.length + 1)), 32);
      expect(Buffer.from(data.subarray(0, whole.out.length)).equals(Buffer.from(whole.out))).toBe(true);
      expect(cut.error).toBe(whole.error);
      if (!whole.error) expect(whole.out.length).toBe(data.length);
    }
  });
});
