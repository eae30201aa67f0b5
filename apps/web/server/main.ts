/**
 * Entry point of the web site (`npm start` runs it through scripts/start.ts): Next's production
 * handler (`next build` output in apps/web/.next) behind onair's own HTTP server (web-server.ts)
 * with timeouts, connection caps and the trusted-proxy rule for forwarded headers.
 */
import { resolve } from 'node:path';
import next from 'next';
import { createLogger } from '@onair/service/logger';
import { runService } from '@onair/service/run-service';
import { markForwardedHeadersVerified } from '../lib/forwarded';
import { currentSessionEpoch } from '../lib/server/session-epoch';
import { loadWebServerConfig } from './config';
import { createWebServer } from './web-server';

const log = createLogger('web');

runService('web', log, async () => {
  const config = loadWebServerConfig();
  // The dashboard's session epoch exists (a 0600 file, or the cluster's key in Redis) before the
  // first request: sign-out survives restarts. Redis not answering yet is no reason not to start.
  await currentSessionEpoch({ ...process.env, ONAIR_DATA_DIR: config.dataDir }).catch((error: unknown) => log.warn({ err: (error as Error).message }, 'the session epoch could not be read yet (Redis)'));
  const app = next({ dev: false, dir: resolve(import.meta.dirname, '..'), hostname: config.host, port: config.port });
  const handle = app.getRequestHandler();
  await app.prepare();
  markForwardedHeadersVerified();
  const web = createWebServer(config, (req, res) => handle(req, res), log);
  const address = await web.listen();
  log.info(
    { host: address.address, port: address.port, trustedProxies: config.trustedProxies.entries, requestTimeoutMs: config.requestTimeoutMs, maxConnections: config.maxConnections, maxConnectionsPerClient: config.maxConnectionsPerClient },
    'web listening',
  );
  return {
    async close() {
      await web.close();
      await app.close();
    },
  };
});
