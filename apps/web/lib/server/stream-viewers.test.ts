import { describe, expect, it } from 'vitest';
import type { JobView, Stream } from '../../components/dashboard/types';
import { withViewers } from './stream-viewers';
import { toJobView } from './transcoder-view';

function stream(name: string, whep: number): Stream {
  return {
    id: `id-${name}`,
    name,
    streamKey: 'k',
    createdAt: '2026-01-01T00:00:00Z',
    whipUrl: '/whip',
    whepUrl: `/whep/${name}`,
    state: { live: true, since: null, publisher: null, video: null, audio: null, viewers: { whep, total: whep } },
  };
}

const job = (name: string, hlsViewers: unknown): JobView => toJobView({ stream: name, state: 'running', hlsViewers });

describe('withViewers', () => {
  it('adds the transcoder HLS count to the ingest WebRTC count, by stream name', () => {
    const out = withViewers([stream('cam', 2), stream('studio', 0), stream('quiet', 1)], { ok: true, data: [job('cam', 3), job('studio', 1), job('other', 9)] });
    expect(out.map((s) => [s.name, s.viewers])).toEqual([
      ['cam', { webrtc: 2, hls: 3, total: 5 }],
      ['studio', { webrtc: 0, hls: 1, total: 1 }],
      ['quiet', { webrtc: 1, hls: 0, total: 1 }],
    ]);
    expect(out[0]!.state.viewers).toEqual({ whep: 2, total: 2 });
  });

  it('an older transcoder without the figure counts as 0 HLS; an unreachable one as unknown', () => {
    expect(withViewers([stream('cam', 2)], { ok: true, data: [job('cam', undefined)] })[0]!.viewers).toEqual({ webrtc: 2, hls: 0, total: 2 });
    expect(withViewers([stream('cam', 2)], { ok: false, error: { code: 'upstream_unreachable', detail: 'down' } })[0]!.viewers).toEqual({ webrtc: 2, hls: null, total: 2 });
  });
});
