/** `GET /api/cluster` (admin) on a transcoder in a cluster: its name, HLS origin URL and the jobs it holds. */
import { sendJson, type Router } from '@onair/service/http';
import { requireAdmin } from '../api/control-routes';
import type { JobLeases } from './job-leases';

export function registerClusterRoutes(router: Router, deps: { adminToken: string; jobLeases: JobLeases; id: string; url: () => string }): void {
  router.on('GET', '/api/cluster', ({ req, res }) => {
    requireAdmin(req, deps.adminToken);
    sendJson(res, 200, { transcoder: { id: deps.id, url: deps.url() }, jobs: deps.jobLeases.describe() });
  });
}
