/**
 * Helpers for the HLS tests: fixtures, a silent logger, a packager fed fragment by fragment,
 * and a fake request context for calling origin handlers without a socket.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { RequestContext, Router } from '@onair/service/http';
import { OnairError } from '@onair/shared/errors';
import { readBoxes } from './mp4-boxes';

export const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

export function fixture(name: 'av-per-frame.mp4' | 'av-200ms.mp4' | 'video-only.mp4' | 'audio-only.mp4'): Buffer {
  return readFileSync(join(FIXTURES, name));
}

export const silentLog = pino({ level: 'silent' });

/** Splits a whole fMP4 file into its init (ftyp+moov) and its fragments (moof+mdat each). */
export function splitFile(file: Buffer): { init: Buffer; fragments: Buffer[] } {
  const boxes = readBoxes(file);
  const initEnd = boxes.find((box) => box.type === 'moov')!.end;
  const fragments: Buffer[] = [];
  for (const box of boxes) {
    if (box.type === 'moof') fragments.push(file.subarray(box.start, box.end));
    else if (box.type === 'mdat') fragments[fragments.length - 1] = Buffer.concat([fragments.at(-1)!, file.subarray(box.start, box.end)]);
  }
  return { init: file.subarray(0, initEnd), fragments };
}

/** Lets promise callbacks (waiters) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface FakeResponse {
  status: number | undefined;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

/**
 * Calls the route a real server would for `GET url` and returns what it wrote, or the
 * OnairError it threw (which the service kit would turn into problem+json).
 */
export async function callRoute(
  router: Router,
  url: string,
  options: { abort?: AbortSignal; headers?: Record<string, string>; remoteAddress?: string } = {},
): Promise<FakeResponse | OnairError> {
  const parsed = new URL(url, 'http://localhost');
  const found = router.match('GET', parsed.pathname);
  if ('allowed' in found) return new OnairError('not_found', 'no route');
  const out: FakeResponse = { status: undefined, headers: {}, body: undefined };
  const emitter = new EventEmitter();
  const res = Object.assign(emitter, {
    destroyed: false,
    writableFinished: false,
    headersSent: false,
    socket: null,
    setHeader(name: string, value: string) {
      out.headers[name.toLowerCase()] = value;
    },
    writeHead(status: number, headers: Record<string, string | number>) {
      out.status = status;
      for (const [name, value] of Object.entries(headers)) out.headers[name.toLowerCase()] = String(value);
      this.headersSent = true;
    },
    end(body?: string | Buffer) {
      out.body = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
      this.writableFinished = true;
      emitter.emit('close');
    },
  });
  options.abort?.addEventListener('abort', () => {
    res.destroyed = true;
    res.emit('close');
  });
  const req = { headers: options.headers ?? {}, socket: { remoteAddress: options.remoteAddress ?? '127.0.0.1' } };
  const ctx = { req, res, url: parsed, params: found.params, log: silentLog } as unknown as RequestContext;
  try {
    await found.handler(ctx);
    return out;
  } catch (error) {
    if (error instanceof OnairError) return error;
    throw error;
  }
}
