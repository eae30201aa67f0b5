/**
 * Test oracle: a viewer's H.264 RTP payloads back into an Annex B elementary stream (RFC 6184:
 * single NAL units, STAP-A, FU-A), written independently of the ingest's own probe, so ffmpeg can
 * decode what a player was sent and say whether it is a valid stream. Packets must be in sequence
 * order; a fragmented NAL unit missing a piece is dropped (as a decoder would lose it).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const START_CODE = Buffer.from([0, 0, 0, 1]);
const run = promisify(execFile);

export function annexBFromRtp(payloads: Buffer[]): Buffer {
  const out: Buffer[] = [];
  let fragments: Buffer[] | undefined;
  for (const payload of payloads) {
    if (payload.length < 1) continue;
    const type = payload[0]! & 0x1f;
    if (type >= 1 && type <= 23) {
      out.push(START_CODE, payload);
    } else if (type === 24) {
      for (let offset = 1; offset + 2 <= payload.length; ) {
        const size = payload.readUInt16BE(offset);
        offset += 2;
        if (size === 0 || offset + size > payload.length) break;
        out.push(START_CODE, payload.subarray(offset, offset + size));
        offset += size;
      }
    } else if (type === 28 && payload.length > 2) {
      const header = payload[1]!;
      if (header & 0x80) fragments = [Buffer.from([(payload[0]! & 0xe0) | (header & 0x1f)])];
      if (!fragments) continue;
      fragments.push(payload.subarray(2));
      if (header & 0x40) {
        out.push(START_CODE, ...fragments);
        fragments = undefined;
      }
    }
  }
  return Buffer.concat(out);
}

export interface DecodedFrame {
  width: number;
  height: number;
  keyFrame: boolean;
}

/**
 * Decodes an Annex B stream with ffmpeg: every frame's size, and every error line the decoder
 * printed (a stream that starts mid-GOP, a missing reference, a corrupt slice all show there).
 */
export async function decodeH264(annexB: Buffer, file: string): Promise<{ frames: DecodedFrame[]; errors: string[] }> {
  await writeFile(file, annexB);
  return decodeFrames(file, ['-f', 'h264']);
}

/** ffprobe decodes `file` (its format forced by `inputArgs`, else guessed): frames and the decoder's error lines. */
export async function decodeFrames(file: string, inputArgs: string[] = []): Promise<{ frames: DecodedFrame[]; errors: string[] }> {
  const probe = await run('ffprobe', ['-v', 'error', ...inputArgs, '-select_streams', 'v:0', '-show_entries', 'frame=width,height,key_frame', '-of', 'csv=p=0', file], { maxBuffer: 64 * 1024 * 1024 });
  const frames = probe.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [keyFrame, width, height] = line.split(',').map(Number);
      return { keyFrame: keyFrame === 1, width: width!, height: height! };
    });
  const errors = probe.stderr.split('\n').filter((line) => line.trim() !== '');
  return { frames, errors };
}
