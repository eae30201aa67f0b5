/**
 * The Opus packets of an Ogg Opus file (RFC 7845), for tests that need real Opus: pages
 * (RFC 3533 §6) are read, packets rebuilt from their lacing values, and the two header packets
 * (OpusHead, OpusTags) left out.
 */
import { readFileSync } from 'node:fs';

export function readOggOpusPackets(path: URL | string): Uint8Array[] {
  const data = new Uint8Array(readFileSync(path));
  const packets: Uint8Array[] = [];
  let pending: number[] = [];
  for (let offset = 0; offset + 27 <= data.length; ) {
    if (Buffer.from(data.subarray(offset, offset + 4)).toString('latin1') !== 'OggS') throw new Error(`no Ogg page at ${offset}`);
    const segments = data[offset + 26]!;
    const lacing = data.subarray(offset + 27, offset + 27 + segments);
    let body = offset + 27 + segments;
    for (const length of lacing) {
      pending.push(...data.subarray(body, body + length));
      body += length;
      // A lacing value under 255 ends a packet.
      if (length < 255) {
        packets.push(Uint8Array.from(pending));
        pending = [];
      }
    }
    offset = body;
  }
  return packets.slice(2);
}
