/**
 * The life cycle every service's `main.ts` shares: start, then stop cleanly on SIGINT/SIGTERM
 * (once, with a deadline so a stuck close cannot keep the process alive), and exit non-zero
 * with a plain message when the configuration is invalid.
 */
import { ConfigError } from './config';
import type { Logger } from './logger';

export interface RunningService {
  close(): Promise<void>;
}

export function runService(name: string, log: Logger, start: () => Promise<RunningService>, { stopDeadlineMs = 5_000 } = {}): void {
  start()
    .then((service) => {
      let stopping = false;
      const stop = async (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping');
        setTimeout(() => process.exit(1), stopDeadlineMs).unref();
        await service.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    })
    .catch((error: unknown) => {
      if (error instanceof ConfigError) console.error(error.message);
      else log.fatal({ err: error }, `${name} failed to start`);
      process.exit(1);
    });
}
