/**
 * The whole transcoding path with real parts: a werift WHIP publisher (720p H.264 from ffmpeg)
 * → ingest → forward → transcoder ffmpeg ladder → LL-HLS origin. Every rung's first complete
 * segment is checked with ffprobe (codec, size, keyframe first), then the publisher leaves and
 * the playlists end.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { pollUntil } from '../support/poll';
import { startStack, type Stack } from '../support/stack';

const run = promisify(execFile);

interface Variant {
  uri: string;
  resolution: string;
  codecs: string;
}

function parseMultivariant(text: string): Variant[] {
  const lines = text.split('\n');
  const variants: Variant[] = [];
  lines.forEach((line, index) => {
    if (!line.startsWith('#EXT-X-STREAM-INF:')) return;
    variants.push({
      uri: lines[index + 1]!.trim(),
      resolution: /RESOLUTION=(\d+x\d+)/.exec(line)?.[1] ?? '',
      codecs: /CODECS="([^"]+)"/.exec(line)?.[1] ?? '',
    });
  });
  return variants;
}

/** The init segment and the first segment whose `#EXTINF` is listed (so it is complete). */
function firstSegment(media: string): { init: string; segment: string } | undefined {
  const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(media)?.[1];
  const lines = media.split('\n');
  const extinf = lines.findIndex((line) => line.startsWith('#EXTINF'));
  if (!init || extinf < 0) return undefined;
  const segment = lines.slice(extinf + 1).find((line) => line && !line.startsWith('#'));
  return segment ? { init, segment: segment.trim() } : undefined;
}

describe('WHIP publish → transcoder ladder → LL-HLS, verified by ffprobe', () => {
  let stack: Stack;
  let publisher: WeriftH264Publisher | undefined;

  beforeAll(async () => {
    stack = await startStack({ transcoder: true });
  });
  afterAll(async () => {
    await publisher?.stop();
    await stack?.close();
  });

  it('encodes every rung of the default ladder and ends the playlists when the publisher leaves', async () => {
    const stream = await stack.createStream('ladder');
    publisher = await startWeriftH264Publisher({ whipUrl: `${stack.ingestUrl}/whip`, streamKey: stream.streamKey, width: 1280, height: 720 });
    const master = `${stack.transcoderUrl}/hls/ladder/index.m3u8`;

    // The job may first start blind and re-plan once the ingest has read the SPS: wait for the full ladder.
    const variants = await pollUntil('the 3-rung multivariant playlist', async () => {
      const res = await fetch(master, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) return undefined;
      const found = parseMultivariant(await res.text());
      return found.length === 3 ? found : undefined;
    }, { timeoutMs: 45_000, intervalMs: 300 });
    expect(variants.map((v) => v.resolution).sort()).toEqual(['1280x720', '640x360', '854x480']);
    for (const variant of variants) expect(variant.codecs).toMatch(/avc1\.42|avc1\.4d|avc1\.64/);

    for (const variant of variants) {
      const mediaUrl = new URL(variant.uri, master);
      const files = await pollUntil(`a complete segment of ${variant.resolution}`, async () => {
        const res = await fetch(mediaUrl, { signal: AbortSignal.timeout(5_000) });
        return res.ok ? firstSegment(await res.text()) : undefined;
      }, { timeoutMs: 20_000, intervalMs: 200 });
      const [init, segment] = await Promise.all(
        [files.init, files.segment].map(async (uri) => {
          const res = await fetch(new URL(uri, mediaUrl));
          expect(res.status, uri).toBe(200);
          return Buffer.from(await res.arrayBuffer());
        }),
      );
      const file = join(stack.dataDir, `probe-${variant.resolution}.mp4`);
      await writeFile(file, Buffer.concat([init!, segment!]));
      const streams = JSON.parse((await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,codec_type,width,height', '-of', 'json', file])).stdout) as {
        streams: Array<{ codec_name: string; codec_type: string; width?: number; height?: number }>;
      };
      const video = streams.streams.find((s) => s.codec_type === 'video');
      expect(video, variant.resolution).toMatchObject({ codec_name: 'h264' });
      expect(`${video!.width}x${video!.height}`).toBe(variant.resolution);
      const firstFrame = (await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame,pict_type', '-read_intervals', '%+#1', '-of', 'csv=p=0', file])).stdout.trim().split('\n')[0];
      expect(firstFrame, `first frame of ${variant.resolution}`).toMatch(/^1,I/);
    }

    // The publisher leaves (DELETE): the ingest says offline, the job stops, every playlist ends.
    await publisher.stop({ delete: true });
    publisher = undefined;
    for (const variant of variants) {
      const mediaUrl = new URL(variant.uri, master);
      await pollUntil(`EXT-X-ENDLIST in ${variant.resolution}`, async () => {
        const res = await fetch(mediaUrl, { signal: AbortSignal.timeout(5_000) });
        return res.ok && (await res.text()).includes('#EXT-X-ENDLIST');
      }, { timeoutMs: 20_000, intervalMs: 250 });
    }
  });

  it('transcodes again when the publisher reconnects at once (an OBS reconnect)', async () => {
    const stream = await stack.createStream('reconnect');
    const job = async () => {
      const res = await fetch(`${stack.transcoderUrl}/api/jobs`, { headers: { Authorization: `Bearer ${stack.adminToken}` } });
      const body = (await res.json()) as { jobs: Array<{ stream: string; state: string; startedAt: string | null; runningSince: string | null }> };
      return body.jobs.find((j) => j.stream === 'reconnect');
    };
    publisher = await startWeriftH264Publisher({ whipUrl: `${stack.ingestUrl}/whip`, streamKey: stream.streamKey });
    const first = await pollUntil('the first job to run', async () => {
      const found = await job();
      return found?.state === 'running' ? found : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });

    // Leave and come back straight away: the offline event stops the job, and the live event
    // arrives while ffmpeg is still stopping.
    await publisher.stop({ delete: true });
    publisher = await startWeriftH264Publisher({ whipUrl: `${stack.ingestUrl}/whip`, streamKey: stream.streamKey });
    const second = await pollUntil('a new run of the job', async () => {
      const found = await job();
      return found?.state === 'running' && found.startedAt !== first.startedAt ? found : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    expect(second.runningSince).not.toBeNull();
    const master = await fetch(`${stack.transcoderUrl}/hls/reconnect/index.m3u8`, { signal: AbortSignal.timeout(5_000) });
    expect(master.status).toBe(200);
  });
});
