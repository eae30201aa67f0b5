/**
 * A live ffmpeg writes fMP4 to stdout → HlsPackager → HlsOrigin on a free loopback port; the
 * test plays the role of an LL-HLS client over real HTTP and checks what a player relies on.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, createHttpService, listen, Router } from '@onair/service/http';
import { HlsOrigin } from './hls-origin';
import { HlsPackager } from './hls-packager';
import { silentLog } from './test-kit';

const MEDIA_SECONDS = 7;

function ffmpegArgs(seconds: number): string[] {
  return [
    ...['-hide_banner', '-loglevel', 'error', '-re'],
    ...['-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-t', String(seconds)],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-bf', '0', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-b:a', '64k', '-ac', '2'],
    // One fragment per frame, written to the pipe as soon as it is muxed.
    ...['-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof+frag_every_frame', '-flush_packets', '1', 'pipe:1'],
  ];
}

interface Timed<T> {
  at: number;
  value: T;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

describe('LL-HLS from a live ffmpeg', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let ffmpeg: ChildProcess;
  let packager: HlsPackager;
  let ffmpegExit: Promise<number | null>;
  const stderr: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onair-hls-'));
    packager = new HlsPackager({ stream: 'cam', dir, partTargetSec: 0.2, segmentTargetSec: 1, windowSegments: 3, extraSegments: 1, log: silentLog });
    const writer = packager.addRendition({ id: '180p', bandwidth: 600_000, frameRate: 30 });
    const origin = new HlsOrigin();
    origin.register(packager);
    const router = new Router();
    origin.routes(router);
    server = createHttpService({ router, log: silentLog });
    const address = await listen(server, 0, '127.0.0.1');
    base = `http://127.0.0.1:${address.port}`;
    ffmpeg = spawn('ffmpeg', ffmpegArgs(MEDIA_SECONDS), { stdio: ['ignore', 'pipe', 'pipe'] });
    ffmpeg.stdout!.on('data', (chunk: Buffer) => writer.push(chunk));
    ffmpeg.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    ffmpegExit = new Promise((resolve) => ffmpeg.once('exit', (code) => resolve(code)));
    ffmpegExit.then(() => packager.end());
  });

  afterAll(async () => {
    if (ffmpeg && ffmpeg.exitCode === null) ffmpeg.kill('SIGKILL');
    if (server) await closeServer(server);
    packager?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the multivariant playlist as soon as the init segment exists', async () => {
    const response = await fetch(`${base}/hls/cam/index.m3u8`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const text = await response.text();
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('#EXTM3U');
    const inf = lines.find((line) => line.startsWith('#EXT-X-STREAM-INF:'))!;
    const attributes = Object.fromEntries([...inf.slice(18).matchAll(/([A-Z-]+)=("[^"]*"|[^,]*)/g)].map((m) => [m[1], m[2]!.replace(/"/g, '')]));
    expect(attributes).toMatchObject({ BANDWIDTH: '600000', CODECS: expect.stringMatching(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/), RESOLUTION: '320x180', 'FRAME-RATE': '30.000' });
    expect(lines[lines.indexOf(inf) + 1]).toBe('180p/index.m3u8');
  });

  it('follows the live edge by blocking reload: each request returns when its part exists, ~every part target', async () => {
    const rendition = packager.rendition('180p')!;
    const first = await fetch(`${base}/hls/cam/180p/index.m3u8`);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    let text = await first.text();
    const arrivals: Array<Timed<{ msn: number; part: number }>> = [];
    const latencies: number[] = [];
    /** The newest part a playlist lists: its segment, its index, and whether that segment is complete. */
    const parse = (playlist: string) => {
      let msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)![1]);
      let parts = 0;
      let newest = { msn: -1, part: -1, complete: false };
      for (const line of playlist.split('\n')) {
        if (line.startsWith('#EXT-X-PART:')) newest = { msn, part: parts++, complete: false };
        else if (line.startsWith('#EXTINF')) {
          if (newest.msn === msn) newest.complete = true;
          msn++;
          parts = 0;
        }
      }
      return newest;
    };
    let last = parse(text);
    for (let i = 0; i < 20; i++) {
      const wanted = last.complete ? { msn: last.msn + 1, part: 0 } : { msn: last.msn, part: last.part + 1 };
      const response = await fetch(`${base}/hls/cam/180p/index.m3u8?_HLS_msn=${wanted.msn}&_HLS_part=${wanted.part}`);
      const at = performance.now();
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
      text = await response.text();
      const got = parse(text);
      // Never answered before the requested part existed.
      expect(got.msn > wanted.msn || (got.msn === wanted.msn && got.part >= wanted.part), `asked ${JSON.stringify(wanted)}, got ${JSON.stringify(got)}:\n${text}`).toBe(true);
      // The part that satisfied the request: the one asked for, or the first of the next segment.
      const stored = rendition.findSegment(wanted.msn)?.parts[wanted.part] ?? rendition.findSegment(wanted.msn + 1)!.parts[0]!;
      latencies.push(at - stored.availableAt);
      arrivals.push({ at, value: got });
      last = got;
    }
    const intervals = arrivals.slice(1).map((a, i) => a.at - arrivals[i]!.at);
    const p50 = median(intervals);
    console.log(
      `[hls] part interval over HTTP: p50 ${p50.toFixed(0)} ms, min ${Math.min(...intervals).toFixed(0)}, max ${Math.max(...intervals).toFixed(0)}; ` +
        `part available → blocking response received: p50 ${median(latencies).toFixed(1)} ms, p95 ${percentile(latencies, 0.95).toFixed(1)} ms`,
    );
    expect(p50).toBeGreaterThan(100);
    expect(p50).toBeLessThan(300);
    expect(median(latencies)).toBeLessThan(50);
    // The playlist a client sees carries the LL-HLS tags.
    expect(text).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,HOLD-BACK=3.000');
    expect(text).toContain('#EXT-X-PART-INF:PART-TARGET=0.200');
    expect(text).toMatch(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-[0-9a-z]+-\d+\.m4s"/);
    expect(text).toMatch(/#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT/);
  });

  it('the preload-hinted part blocks until written and arrives within a part target', async () => {
    const text = await (await fetch(`${base}/hls/cam/180p/index.m3u8`)).text();
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(text)![1]!;
    const started = performance.now();
    const response = await fetch(`${base}/hls/cam/180p/${hint}`);
    const waited = performance.now() - started;
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.toString('latin1', 4, 8)).toBe('moof');
    // One part target plus scheduling slack on a shared 2-core machine.
    expect(waited).toBeLessThan(1000);
  });

  it('segments are whole playable files that start with a keyframe', async () => {
    const text = await (await fetch(`${base}/hls/cam/180p/index.m3u8?_HLS_msn=3`)).text();
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)![1]!;
    const segments = [...text.matchAll(/^(seg-[^\n]+\.m4s)$/gm)].map((m) => m[1]!);
    expect(segments.length).toBeGreaterThanOrEqual(2);
    const init = Buffer.from(await (await fetch(`${base}/hls/cam/180p/${map}`)).arrayBuffer());
    for (const name of segments.slice(-2)) {
      const response = await fetch(`${base}/hls/cam/180p/${name}`);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const file = join(dir, `probe-${name}.mp4`);
      await writeFile(file, Buffer.concat([init, Buffer.from(await response.arrayBuffer())]));
      const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', file], { encoding: 'utf8' });
      const streams = (JSON.parse(probe.stdout) as { streams: Array<{ codec_name: string; width?: number; height?: number }> }).streams;
      expect(streams).toEqual(expect.arrayContaining([expect.objectContaining({ codec_name: 'h264', width: 320, height: 180 }), expect.objectContaining({ codec_name: 'aac' })]));
      const frames = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=key_frame,pict_type', '-of', 'csv=p=0', file], { encoding: 'utf8' });
      const list = frames.stdout.trim().split('\n');
      expect(list[0]).toMatch(/^1,I/);
      expect(list.length).toBeGreaterThanOrEqual(29);
      expect(list.length).toBeLessThanOrEqual(31);
    }
  });

  it('keeps a rolling window on disk and ends with EXT-X-ENDLIST', async () => {
    const code = await ffmpegExit;
    expect(code, stderr.join('')).toBe(0);
    const text = await (await fetch(`${base}/hls/cam/180p/index.m3u8`)).text();
    expect(text.trimEnd().split('\n').at(-1)).toBe('#EXT-X-ENDLIST');
    expect(text).not.toContain('PRELOAD-HINT');
    await packager.flushDisk();
    const files = await readdir(join(dir, '180p'));
    const segmentFiles = files.filter((name) => name.endsWith('.m4s'));
    // windowSegments 3 + extraSegments 1 kept; ~7 segments were written, the oldest deleted.
    expect(segmentFiles).toHaveLength(4);
    expect(files).toContain('index.m3u8');
    expect(files.some((name) => name.startsWith('init-'))).toBe(true);
    expect(existsSync(join(dir, 'index.m3u8'))).toBe(true);
    const stats = packager.getStats().renditions[0]!;
    expect(stats.segments).toBeGreaterThanOrEqual(MEDIA_SECONDS - 1);
    expect(stats.parseErrors).toBe(0);
  });
});
