/** Entry point of the ingest service: config, first-run setup, listen, clean shutdown. */
import { resolveAdminToken } from '@onair/service/admin-token';
import { createLogger } from '@onair/service/logger';
import { runService } from '@onair/service/run-service';
import { createIngest } from './app';
import { loadIngestConfig } from './config';
import { createDemoStreamOnFirstRun } from './streams/first-run';

const log = createLogger('ingest');

runService('ingest', log, async () => {
  const config = loadIngestConfig();
  const admin = resolveAdminToken(config.dataDir, config.adminToken);
  config.adminToken = admin.token;
  if (admin.generated) log.info({ file: `${config.dataDir}/admin-token` }, 'generated an admin token on first run');

  const ingest = await createIngest(config, log);
  const demo = await createDemoStreamOnFirstRun(ingest.store, config.dataDir);
  if (demo) log.info({ stream: demo.name }, 'created the demo stream on first run');

  const address = await ingest.listen();
  log.info({ host: address.address, port: address.port, iceHosts: config.ice.hosts }, 'ingest listening');
  return ingest;
});
