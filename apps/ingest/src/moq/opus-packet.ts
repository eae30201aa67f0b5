/**
 * The duration of an Opus packet from its TOC byte and frame count (RFC 6716 §3.1–3.2), and the
 * packet checks of §3.4 that need no decoding. RTP carries one Opus packet per RTP packet with
 * a 48 kHz clock whatever the encoder's rate (RFC 7587 §4.1–4.2), so the duration in 48 kHz
 * samples is what a sender needs.
 */

export type OpusPacketResult = { ok: true; samples: number; frames: number } | { ok: false; detail: string };

/** Frame duration in 48 kHz samples per TOC configuration (RFC 6716 §3.1, Table 2). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]!; // SILK-only: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config % 2]!; // Hybrid: 10, 20 ms
  return [120, 240, 480, 960][config % 4]!; // CELT-only: 2.5, 5, 10, 20 ms
}

/** Reads and checks an Opus packet (requirements R1–R5 of RFC 6716 §3.4). */
export function readOpusPacket(packet: Uint8Array): OpusPacketResult {
  if (packet.length < 1) return { ok: false, detail: 'an empty Opus packet (R1)' };
  const toc = packet[0]!;
  const samples = frameSamples(toc >> 3);
  const code = toc & 0x03;
  if (code === 0) return { ok: true, samples, frames: 1 };
  if (code === 1) {
    if ((packet.length - 1) % 2 !== 0) return { ok: false, detail: 'two equal frames of odd total length (R3)' };
    return { ok: true, samples: 2 * samples, frames: 2 };
  }
  if (code === 2) {
    const first = packet[1];
    if (first === undefined) return { ok: false, detail: 'no frame length (R4)' };
    const [length, lengthBytes] = first < 252 ? [first, 1] : [first + 4 * (packet[2] ?? -1), 2];
    if (length < 0 || 1 + lengthBytes + length > packet.length) return { ok: false, detail: 'the first frame overruns the packet (R4)' };
    return { ok: true, samples: 2 * samples, frames: 2 };
  }
  const countByte = packet[1];
  if (countByte === undefined) return { ok: false, detail: 'no frame count (R6)' };
  const frames = countByte & 0x3f;
  if (frames === 0) return { ok: false, detail: 'zero frames (R5)' };
  if (frames * samples > 5760) return { ok: false, detail: `${(frames * samples) / 48} ms, more than 120 ms (R5)` };
  return { ok: true, samples: frames * samples, frames };
}
