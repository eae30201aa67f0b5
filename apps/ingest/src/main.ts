/** Entry point of the ingest service: config, first-run setup, listen, clean shutdown. */
import { ConfigError } from '@onair/service/config';
import { resolveAdminToken } from '@onair/service/admin-token';
import { createLogger } from '@onair/service/logger';
import { createIngest } from './app';
import { loadIngestConfig } from './config';
import { createDemoStreamOnFirstRun } from './streams/first-run';

const log = createLogger('ingest');

async function main(): Promise<void> {
  const config = loadIngestConfig();
  const admin = resolveAdminToken(config.dataDir, config.adminToken);
  config.adminToken = admin.token;
  if (admin.generated) log.info({ file: `${config.dataDir}/admin-token` }, 'generated an admin token on first run');

  const ingest = await createIngest(config, log);
  const demo = createDemoStreamOnFirstRun(ingest.store, config.dataDir);
  if (demo) log.info({ stream: demo.name }, 'created the demo stream on first run');

  const address = await ingest.listen();
  log.info({ host: address.address, port: address.port, iceHosts: config.ice.hosts }, 'ingest listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const forceExit = setTimeout(() => process.exit(1), 5_000);
    forceExit.unref();
    await ingest.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    log.fatal({ err: error }, 'ingest failed to start');
  }
  process.exit(1);
});
