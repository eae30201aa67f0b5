import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { runWithLibraryLog } from './library-console';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: pino({ level }, stream), lines };
}

describe('runWithLibraryLog', () => {
  it("routes console calls made in the session's async context into its logger, and leaves others alone", async () => {
    const { log, lines } = capture('debug');
    // What the console was before the routing was installed (the first call installs it).
    const before = vi.fn();
    console.debug = before;
    runWithLibraryLog(log, () => undefined);
    await runWithLibraryLog(log, async () => {
      console.debug('announced: broadcast=%s active=%s', 'onair/test', true);
      await new Promise((resolve) => setTimeout(resolve, 1));
      console.warn('subscribe error:', new Error('stream reset'));
    });
    console.debug('not the library');
    expect(lines.map((line) => [line.level, line.console, line.msg])).toEqual([
      [20, 'debug', 'announced: broadcast=onair/test active=true'],
      [20, 'warn', 'subscribe error: Error: stream reset'],
    ]);
    expect(lines[0]).toMatchObject({ lib: '@moq/lite' });
    expect(before.mock.calls).toEqual([['not the library']]);
  });

  it('costs nothing but a level check at info', () => {
    const { log, lines } = capture('info');
    runWithLibraryLog(log, () => console.debug('noise'));
    expect(lines).toEqual([]);
  });
});
