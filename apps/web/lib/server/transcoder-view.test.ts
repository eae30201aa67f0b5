import { describe, expect, it } from 'vitest';
import { toJobView, toJobViews } from './transcoder-view';

/** A job as the transcoder's `JobStats` (apps/transcoder/src/jobs/transcode-job.ts) serializes it. */
const running = {
  stream: 'studio',
  state: 'running',
  profile: 'default',
  input: 'rtp from ingest (sdp)',
  pid: 4242,
  startedAt: '2026-11-22T03:00:00.000Z',
  runningSince: '2026-11-22T03:00:01.000Z',
  hlsViewers: 2,
  restarts: 1,
  lastError: null,
  firstOutputMs: 640,
  progress: { frame: 900, fps: 29.97, bitrateKbps: null, totalSize: null, outTimeUs: 30_000_000, dup: 2, drop: 5, speed: 1.01, end: false },
  cpu: { share: 1.25, seconds: 40 },
  memory: { rssBytes: 150 * 1024 * 1024 },
  live: true,
  renditions: [
    { id: '720p', width: 1280, height: 720, videoKbps: 2800, bytes: 1_000_000, bitrateKbps: 2750.5 },
    { id: '360p', width: 640, height: 360, videoKbps: 800, bytes: 300_000, bitrateKbps: null },
  ],
};

describe('toJobView', () => {
  it('maps a running job: overall encoder figures, ffmpeg CPU in % of a core, memory, renditions', () => {
    expect(toJobView(running)).toEqual({
      stream: 'studio',
      state: 'running',
      profile: 'default',
      since: '2026-11-22T03:00:01.000Z',
      restarts: 1,
      lastError: null,
      input: 'rtp from ingest (sdp)',
      live: true,
      overall: { fps: 29.97, bitrateKbps: null, speed: 1.01, droppedFrames: 5, duplicatedFrames: 2 },
      renditions: [
        { id: '720p', width: 1280, height: 720, targetKbps: 2800, fps: null, bitrateKbps: 2750.5, speed: null, droppedFrames: null, duplicatedFrames: null },
        { id: '360p', width: 640, height: 360, targetKbps: 800, fps: null, bitrateKbps: null, speed: null, droppedFrames: null, duplicatedFrames: null },
      ],
      process: { pid: 4242, cpuPercent: 125, rssBytes: 150 * 1024 * 1024 },
      hlsUrl: null,
      hlsViewers: 2,
    });
  });

  it('shows a failed job without progress as unknowns, not a crash', () => {
    const view = toJobView({ stream: 'x', state: 'failed', profile: 'default', pid: null, progress: null, cpu: { share: null, seconds: null }, memory: { rssBytes: null }, renditions: [], lastError: 'ffmpeg exited with 1' });
    expect(view).toMatchObject({ state: 'failed', lastError: 'ffmpeg exited with 1', overall: { fps: null, speed: null }, process: { pid: null, cpuPercent: null, rssBytes: null } });
  });

  it.each([
    ['an array', [running], 1],
    ['{jobs: [...]}', { jobs: [running, running] }, 2],
    ['something else', { error: 'x' }, 0],
    ['null', null, 0],
  ])('accepts a job list as %s', (_what, body, count) => {
    expect(toJobViews(body)).toHaveLength(count);
  });

  it('never throws on garbage', () => {
    for (const value of [null, 1, 'x', [], { state: 7, renditions: 'no', progress: [1] }]) expect(() => toJobView(value)).not.toThrow();
  });
});
