import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * Root logger of a service. Log levels: `error` something a person must fix, `warn` degraded but
 * recovering (ffmpeg restart, peer timeout), `info` lifecycle (listening, stream live/offline),
 * `debug` per-request detail (SDP bodies only here), `trace` per-packet.
 */
export function createLogger(service: string, level = process.env.ONAIR_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: service, level, base: { service } });
}
