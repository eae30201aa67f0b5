import { describe, expect, it } from 'vitest';
import { Router } from '@onair/service/http';
import { OnairError } from '@onair/shared/errors';
import { callRoute } from '../hls/test-kit';
import type { JobManager } from '../jobs/job-manager';
import type { ProfileStore } from '../ladder/profile-store';
import { registerControlRoutes } from './control-routes';

const TOKEN = 'test-admin-token-0123456789';

function setup(hlsViewers?: (stream: string) => number) {
  const stats = (stream: string) => ({ stream, state: 'running', profile: 'default' });
  const jobs = {
    policy: 'auto',
    list: () => [{ ...stats('cam'), live: true }, { ...stats('quiet'), live: true }],
    require: (stream: string) => ({ stream, getStats: () => stats(stream) }),
    isLive: () => true,
  } as unknown as JobManager;
  const router = new Router();
  registerControlRoutes(router, { jobs, profiles: {} as ProfileStore, adminToken: TOKEN, hlsViewers });
  return router;
}

const auth = { headers: { authorization: `Bearer ${TOKEN}` } };

describe('GET /api/jobs', () => {
  it('carries each job’s HLS viewers', async () => {
    const router = setup((stream) => (stream === 'cam' ? 2 : 0));
    const res = await callRoute(router, '/api/jobs', auth);
    if (res instanceof OnairError) throw res;
    expect(JSON.parse(res.body!.toString())).toEqual({
      policy: 'auto',
      jobs: [
        { stream: 'cam', state: 'running', profile: 'default', live: true, hlsViewers: 2 },
        { stream: 'quiet', state: 'running', profile: 'default', live: true, hlsViewers: 0 },
      ],
    });
    const one = await callRoute(router, '/api/jobs/cam', auth);
    if (one instanceof OnairError) throw one;
    expect(JSON.parse(one.body!.toString())).toMatchObject({ stream: 'cam', hlsViewers: 2 });
  });

  it('stays admin-only', async () => {
    const res = await callRoute(setup(() => 1), '/api/jobs', { headers: { authorization: 'Bearer wrong' } });
    expect(res).toBeInstanceOf(OnairError);
    expect((res as OnairError).code).toBe('invalid_admin_token');
  });
});
