import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ProfileStore } from '../ladder/profile-store';
import { waitFor } from '../test-support/hls-probe';
import { StaticSdpInput } from './input-source';
import { JobManager, type JobPolicy } from './job-manager';

// No ffmpeg is run: the binary path does not exist, so every start ends in ffmpeg_missing.
const SDP = 'v=0\r\nm=video 40000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n';
let profiles: ProfileStore;
let manager: JobManager;
const inputsFor: string[] = [];

function create(policy: JobPolicy): JobManager {
  profiles = new ProfileStore(':memory:');
  manager = new JobManager({
    policy,
    profiles,
    ffmpegPath: '/nonexistent/ffmpeg',
    log: pino({ level: 'silent' }),
    createInput: (live) => {
      inputsFor.push(live.streamId);
      return new StaticSdpInput(SDP);
    },
    createPackager: () => ({ addRendition: () => ({ push() {} }), removeRendition() {}, discontinuity() {}, end() {}, close() {} }),
  });
  return manager;
}

afterEach(async () => {
  await manager.close();
  profiles.close();
  inputsFor.length = 0;
});

describe('JobManager', () => {
  it('auto: a live stream gets a job (here failing with ffmpeg_missing, without throwing)', async () => {
    const m = create('auto');
    m.streamLive({ streamId: 'id-a', name: 'a' });
    await waitFor(() => m.get('a')?.state === 'failed', 2000, 'job failed');
    expect(inputsFor).toEqual(['id-a']);
    expect(m.list()).toEqual([expect.objectContaining({ stream: 'a', live: true, state: 'failed', lastError: expect.stringContaining('ffmpeg is not available') })]);
  });

  it('manual: a live stream waits for the operator; a stream that is not live cannot start', async () => {
    const m = create('manual');
    m.streamLive({ streamId: 'id-b', name: 'b' });
    expect(m.list()).toEqual([]);
    expect(m.isLive('b')).toBe(true);
    await expect(m.start('b')).rejects.toMatchObject({ code: 'ffmpeg_missing' });
    await expect(m.start('nope')).rejects.toMatchObject({ code: 'stream_offline' });
    expect(() => m.require('nope')).toThrow(expect.objectContaining({ code: 'job_not_found' }));
  });

  it('gives a stream re-created under the same name (new id) a new job and input', async () => {
    const m = create('manual');
    m.streamLive({ streamId: 'id-old', name: 'g' });
    await m.start('g').catch(() => {});
    const first = m.get('g');
    await m.start('g').catch(() => {});
    expect(m.get('g')).toBe(first);
    m.streamOffline('id-old', 'g');
    m.streamLive({ streamId: 'id-new', name: 'g' });
    await m.start('g').catch(() => {});
    expect(m.get('g')).not.toBe(first);
    expect(inputsFor).toEqual(['id-old', 'id-new']);
  });

  it('offline events are matched by stream id (a deleted stream has no name any more)', () => {
    const m = create('manual');
    m.streamLive({ streamId: 'id-c', name: 'c' });
    m.streamOffline('id-c', null);
    expect(m.isLive('c')).toBe(false);
  });

  it('after a reconnect, streams not announced again are taken offline', () => {
    const m = create('manual');
    m.streamLive({ streamId: 'id-d', name: 'd' });
    m.streamLive({ streamId: 'id-e', name: 'e' });
    m.reconcileLive(new Set(['e']));
    expect(m.isLive('d')).toBe(false);
    expect(m.isLive('e')).toBe(true);
  });

  it('persists a profile choice for a stream without a job', async () => {
    const m = create('manual');
    expect((await m.setProfile('f', 'passthrough')).name).toBe('passthrough');
    expect(profiles.profileNameFor('f')).toBe('passthrough');
    await expect(m.setProfile('f', 'missing')).rejects.toMatchObject({ code: 'profile_not_found' });
  });
});
