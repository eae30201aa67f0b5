import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { JobManager } from './jobs/job-manager';
import { registerTranscoderMetrics } from './metrics';

describe('onair_transcoder_hls_viewers', () => {
  it('is a gauge per stream: every running job (0 without viewers) and every stream with viewers', async () => {
    const jobs = Object.assign(new EventEmitter(), {
      list: () => [
        { stream: 'cam', state: 'running', profile: 'default', progress: null, process: null, renditions: [] },
        { stream: 'idle', state: 'running', profile: 'default', progress: null, process: null, renditions: [] },
        { stream: 'old', state: 'stopped', profile: 'default', progress: null, process: null, renditions: [] },
      ],
    }) as unknown as JobManager;
    let counts: Record<string, number> = { cam: 3, ending: 1 };
    const registry = new Registry();
    registerTranscoderMetrics(registry, jobs, () => counts);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE onair_transcoder_hls_viewers gauge');
    expect(text).toContain('onair_transcoder_hls_viewers{stream="cam"} 3');
    expect(text).toContain('onair_transcoder_hls_viewers{stream="idle"} 0');
    expect(text).toContain('onair_transcoder_hls_viewers{stream="ending"} 1');
    expect(text).not.toContain('stream="old"');
    counts = {};
    const later = await registry.metrics();
    expect(later).toContain('onair_transcoder_hls_viewers{stream="cam"} 0');
    expect(later).not.toContain('stream="ending"');
  });
});
