/**
 * The ops routes every service shares, on a real server: a problem's `type` resolves, against
 * the URL that answered, to a page the service itself serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Router, closeServer, createHttpService, listen } from './http';
import { createMetricsRegistry, registerOpsRoutes } from './ops';

let base: string;
let server: ReturnType<typeof createHttpService>;

beforeAll(async () => {
  const router = new Router();
  registerOpsRoutes(router, 'test', [], createMetricsRegistry('test', false));
  server = createHttpService({ router, log: pino({ level: 'silent' }) });
  const { port } = await listen(server, 0, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await closeServer(server);
});

describe('problem type pages', () => {
  it('the type of a problem the service answered with resolves to a page on the same service', async () => {
    const refused = await fetch(`${base}/whip/nothing-here`);
    expect(refused.status).toBe(404);
    const problem = (await refused.json()) as { type: string; code: string };
    expect(problem.code).toBe('not_found');
    const typeUrl = new URL(problem.type, refused.url);
    expect(typeUrl.origin).toBe(base);
    const page = await fetch(typeUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<code>not_found</code>');
  });

  it('answers 404 for a code that does not exist', async () => {
    const res = await fetch(`${base}/problems/made_up`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'not_found' });
  });
});
