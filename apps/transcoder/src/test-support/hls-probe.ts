/**
 * Test helpers: read a rendition's plain playlist from disk and probe its segments with
 * ffprobe (init segment + media segment concatenated, as a player would feed them).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DiskPlaylist {
  text: string;
  /** Init segment of the current map (the last EXT-X-MAP seen). */
  maps: string[];
  segments: Array<{ uri: string; map: string | undefined; discontinuity: boolean }>;
  ended: boolean;
}

export async function readDiskPlaylist(renditionDir: string): Promise<DiskPlaylist | null> {
  const text = await readFile(join(renditionDir, 'index.m3u8'), 'utf8').catch(() => null);
  if (text === null) return null;
  const maps: string[] = [];
  const segments: DiskPlaylist['segments'] = [];
  let map: string | undefined;
  let discontinuity = false;
  for (const line of text.split('\n')) {
    const m = /^#EXT-X-MAP:URI="([^"]+)"/.exec(line);
    if (m) {
      map = m[1];
      maps.push(m[1]!);
    } else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (line && !line.startsWith('#')) {
      segments.push({ uri: line.trim(), map, discontinuity });
      discontinuity = false;
    }
  }
  return { text, maps, segments, ended: text.includes('#EXT-X-ENDLIST') };
}

export interface SegmentProbe {
  codec: string | undefined;
  width: number | undefined;
  height: number | undefined;
  /** Whether the first video packet of the segment is a keyframe. */
  startsWithKeyframe: boolean;
  videoPackets: number;
  audioCodec: string | undefined;
}

export async function probeSegment(initPath: string, segmentPath: string): Promise<SegmentProbe> {
  const dir = await mkdtemp(join(tmpdir(), 'onair-probe-'));
  try {
    const file = join(dir, 'probe.mp4');
    await writeFile(file, Buffer.concat([await readFile(initPath), await readFile(segmentPath)]));
    const json = await new Promise<string>((resolve, reject) =>
      execFile('ffprobe', ['-v', 'error', '-show_streams', '-show_packets', '-show_entries', 'stream=codec_type,codec_name,width,height:packet=stream_index,flags,pts_time', '-of', 'json', file], (error, stdout, stderr) =>
        error ? reject(new Error(`ffprobe failed: ${stderr}`)) : resolve(stdout),
      ),
    );
    const parsed = JSON.parse(json) as { streams: Array<{ index?: number; codec_type: string; codec_name: string; width?: number; height?: number }>; packets: Array<{ stream_index: number; flags: string }> };
    const videoIndex = parsed.streams.findIndex((s) => s.codec_type === 'video');
    const video = parsed.streams[videoIndex];
    const videoPackets = parsed.packets.filter((p) => p.stream_index === videoIndex);
    return {
      codec: video?.codec_name,
      width: video?.width,
      height: video?.height,
      startsWithKeyframe: videoPackets[0]?.flags.startsWith('K') ?? false,
      videoPackets: videoPackets.length,
      audioCodec: parsed.streams.find((s) => s.codec_type === 'audio')?.codec_name,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Polls until `check` returns a truthy value (never a blind sleep); throws with `what` on timeout. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs: number, what: string, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}
