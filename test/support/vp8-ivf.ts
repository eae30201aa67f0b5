/**
 * VP8 received over RTP back into frames a decoder reads: the RFC 7741 payload descriptor (§4.2)
 * stripped, the partitions of one RTP timestamp joined into a frame, framed as IVF, and decoded
 * by ffprobe — every frame's size and every error line. Packets must be in sequence order.
 */
import { writeFile } from 'node:fs/promises';
import { decodeFrames, type DecodedFrame } from './h264-annexb';


/** The VP8 payload of one RTP packet (RFC 7741 §4.2), or undefined for a malformed descriptor. */
function vp8Payload(packet: Buffer): Buffer | undefined {
  let offset = 1;
  if (packet[0]! & 0x80) {
    const x = packet[offset++]!;
    if (x & 0x80) offset += packet[offset]! & 0x80 ? 2 : 1;
    if (x & 0x40) offset += 1;
    if (x & 0x30) offset += 1;
  }
  return offset < packet.length ? packet.subarray(offset) : undefined;
}

/** IVF (a 32-byte file header, then a 12-byte header per frame) of the frames in `packets`. */
export function ivfFromRtp(packets: ReadonlyArray<{ timestamp: number; payload: Buffer }>, size: { width: number; height: number }): Buffer {
  const frames: Array<{ timestamp: number; parts: Buffer[] }> = [];
  for (const packet of packets) {
    const payload = vp8Payload(packet.payload);
    if (!payload) continue;
    const last = frames.at(-1);
    if (last && last.timestamp === packet.timestamp) last.parts.push(payload);
    else frames.push({ timestamp: packet.timestamp, parts: [payload] });
  }
  const header = Buffer.alloc(32);
  header.write('DKIF', 0, 'ascii');
  header.writeUInt16LE(0, 4);
  header.writeUInt16LE(32, 6);
  header.write('VP80', 8, 'ascii');
  header.writeUInt16LE(size.width, 12);
  header.writeUInt16LE(size.height, 14);
  header.writeUInt32LE(90_000, 16);
  header.writeUInt32LE(1, 20);
  header.writeUInt32LE(frames.length, 24);
  const base = frames[0]?.timestamp ?? 0;
  const chunks = [header];
  for (const frame of frames) {
    const data = Buffer.concat(frame.parts);
    const frameHeader = Buffer.alloc(12);
    frameHeader.writeUInt32LE(data.length, 0);
    frameHeader.writeBigUInt64LE(BigInt((frame.timestamp - base) >>> 0), 4);
    chunks.push(frameHeader, data);
  }
  return Buffer.concat(chunks);
}

export async function decodeVp8(ivf: Buffer, file: string): Promise<{ frames: DecodedFrame[]; errors: string[] }> {
  await writeFile(file, ivf);
  return decodeFrames(file);
}
