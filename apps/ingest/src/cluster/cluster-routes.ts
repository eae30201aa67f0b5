/**
 * `GET /api/cluster` (admin, cluster mode): this node as the cluster sees it — its id and URL, the
 * streams it is the origin of (with their lease tokens), the streams it pulls and from where, and
 * the other nodes' pulls it serves. For operators and for the cluster tests.
 */
import { sendJson, type Router } from '@onair/service/http';
import type { IngestConfig } from '../config';
import { requireAdmin } from '../streams/admin-auth';
import type { ClusterNode } from './cluster-node';

export function registerClusterRoutes(router: Router, { cluster, config }: { cluster: ClusterNode; config: IngestConfig }): void {
  router.on('GET', '/api/cluster', ({ req, res }) => {
    requireAdmin(req, config.adminToken);
    sendJson(res, 200, cluster.describe());
  });
}
