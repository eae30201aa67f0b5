/**
 * @moq/lite logs through `console` (`console.debug` on every announce, subscribe and group
 * close; `console.warn`/`error` when a peer resets a stream, which a closing tab does), with no
 * logger to hand it. Its calls made on behalf of a MoQ session are routed into that session's
 * pino logger at debug level — the library's severities are its own, the ingest logs what a
 * session's end means — and every other `console` call is left alone. AsyncLocalStorage tells
 * them apart: the library's loops start inside `runWithLibraryLog`, and its promise
 * continuations keep that context.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';
import type { Logger } from '@onair/service/logger';

const METHODS = ['debug', 'info', 'log', 'warn', 'error'] as const;
const context = new AsyncLocalStorage<Logger>();
let installed = false;

/** Runs `fn` (and everything it starts) with library console output going to `log` at debug. */
export function runWithLibraryLog<T>(log: Logger, fn: () => T): T {
  installConsoleRouting();
  return context.run(log, fn);
}

function installConsoleRouting(): void {
  if (installed) return;
  installed = true;
  for (const method of METHODS) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const log = context.getStore();
      if (!log) return original(...args);
      if (!log.isLevelEnabled('debug')) return;
      // Errors as one line: a stack trace of the library's own loop tells an operator nothing.
      const text = format(...args.map((arg) => (arg instanceof Error ? `${arg.name}: ${arg.message}` : arg)));
      log.debug({ lib: '@moq/lite', console: method }, text.length > 1000 ? `${text.slice(0, 1000)}…` : text);
    };
  }
}
