/**
 * The operator dashboard end to end: the real ingest, transcoder and web app (`next start`) on
 * free ports, headless Chromium as the operator and python3-aiortc as the broadcaster.
 *
 * - Every dashboard page and API route refuses a request without a valid session (table-driven:
 *   no cookie, a forged one, an expired one, one signed with another admin token).
 * - Sign in → create a stream → publish to it → the stream shows live with changing figures →
 *   the transcoder job runs with per-rung figures → stop/start → switch to and edit a profile and
 *   watch the HLS master playlist follow → sign out and be refused → sign-in rate limit.
 * - The built browser bundle holds no admin secret.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSession, SESSION_COOKIE } from '../../apps/web/lib/server/session-token';
import { startAiortcPublisher, type AiortcPublisher } from '../support/peers/aiortc-publisher';
import { startWeriftWhepViewer } from '../support/peers/werift-whep-viewer';
import { cspViolations, launchBrowser, type TestBrowser } from '../support/browser';
import { pollUntil } from '../support/poll';
import { startStack, type Stack } from '../support/stack';

const ROOT = resolve(import.meta.dirname, '../..');
const SHOTS = process.env.ONAIR_SCREENSHOTS_DIR;
/** The transcoder is optional while it is being built: without it, the dashboard must say it is unreachable. */
const WITH_TRANSCODER = existsSync(join(ROOT, 'apps/transcoder/src/main.ts'));

async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Sample values for dynamic segments when turning route files into URLs. */
const SEGMENT_SAMPLES: Record<string, string> = { id: 'demo', stream: 'demo', name: 'default', action: 'start' };
/** The only dashboard endpoints open without a session: sign-in and sign-out. */
const OPEN = new Set(['POST /dashboard/api/session', 'DELETE /dashboard/api/session']);

/** Every dashboard page (but sign-in) and every method of every dashboard route handler, from the files. */
function dashboardSurface(): { pages: string[]; routes: Array<[string, string]> } {
  const appDir = join(ROOT, 'apps/web/app');
  const files = filesUnder(join(appDir, 'dashboard'));
  const urlOf = (file: string) =>
    '/' +
    file
      .slice(appDir.length + 1)
      .split('/')
      .slice(0, -1)
      .filter((segment) => !/^\(.*\)$/.test(segment))
      .map((segment) => segment.replace(/^\[(.+)\]$/, (_m, name: string) => SEGMENT_SAMPLES[name] ?? 'x'))
      .join('/');
  const pages = files.filter((f) => f.endsWith('/page.tsx')).map(urlOf).filter((url) => url !== '/dashboard/login');
  const routes: Array<[string, string]> = [];
  for (const file of files.filter((f) => f.endsWith('/route.ts'))) {
    const source = readFileSync(file, 'utf8');
    for (const [, method] of source.matchAll(/export (?:const|async function|function) (GET|POST|PUT|PATCH|DELETE)\b/g)) {
      if (!OPEN.has(`${method} ${urlOf(file)}`)) routes.push([method!, urlOf(file)]);
    }
  }
  return { pages, routes };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('operator dashboard', () => {
  let stack: Stack;
  let browser: TestBrowser;
  let page: Page;
  let publisher: AiortcPublisher | undefined;

  beforeAll(async () => {
    stack = await startStack({ web: true, transcoder: WITH_TRANSCODER });
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });
  afterAll(async () => {
    publisher?.stop();
    await browser?.close();
    await stack?.close();
  });

  describe('refuses everything without a valid session', () => {
    // Derived from the files, so a route or page added later is covered without editing this test.
    const { pages, routes } = dashboardSurface();
    it('knows every dashboard page and route', () => {
      expect(pages).toEqual(expect.arrayContaining(['/dashboard', '/dashboard/transcoder', '/dashboard/profiles']));
      expect(routes).toEqual(expect.arrayContaining([['GET', '/dashboard/api/events'], ['PUT', '/dashboard/api/profiles/default'], ['POST', '/dashboard/api/jobs/demo/start']]));
      expect(routes.length).toBeGreaterThanOrEqual(16);
    });
    pages.push('/dashboard/nonexistent');
    /** The session epoch the web keeps in the data directory (created when it starts). */
    const epoch = () => readFileSync(join(stack.dataDir, 'web-session-epoch'), 'utf8').trim();
    const cookies: Array<[string, () => string | undefined]> = [
      ['no cookie', () => undefined],
      ['a forged cookie', () => `v2.${epoch()}.${Date.now() + 3_600_000}.AAAAAAAAAAAAAAAAAAAAAA.${'A'.repeat(43)}`],
      ['an expired cookie', () => signSession(stack.adminToken, epoch(), Date.now() - 13 * 3_600_000).value],
      ['a cookie signed with another admin token', () => signSession(`${stack.adminToken}-old`, epoch()).value],
      ['a cookie of an earlier epoch (before a sign-out)', () => signSession(stack.adminToken, 'an-earlier-epoch-AAAAAA').value],
    ];

    it.each(cookies)('pages redirect to sign-in with %s', async (_what, cookie) => {
      for (const path of pages) {
        const value = cookie();
        const res = await fetch(`${stack.webUrl}${path}`, { redirect: 'manual', headers: value ? { cookie: `${SESSION_COOKIE}=${value}` } : {} });
        expect([303, 307, 308], `${path}: HTTP ${res.status}`).toContain(res.status);
        expect(new URL(res.headers.get('location')!, stack.webUrl).pathname, path).toBe('/dashboard/login');
      }
    });

    it.each(cookies)('API routes answer 401 missing_credentials with %s', async (_what, cookie) => {
      for (const [method, path] of routes) {
        const value = cookie();
        const res = await fetch(`${stack.webUrl}${path}`, {
          method,
          headers: { ...(value ? { cookie: `${SESSION_COOKIE}=${value}` } : {}), ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }) },
          body: method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify({ name: 'x', profile: 'default' }),
        });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(await res.json()).toMatchObject({ code: 'missing_credentials', status: 401 });
      }
    });

    it('refuses a wrong admin token at sign-in without setting a cookie', async () => {
      const res = await fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: 'not-the-token-at-all' }) });
      expect(res.status).toBe(403);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.json()).toMatchObject({ code: 'invalid_admin_token' });
    });
  });

  it('the browser bundle carries no admin secret', () => {
    const files = filesUnder(join(ROOT, 'apps/web/.next/static')).filter((f) => /\.(js|css|json|html|txt)$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expect(text.includes(stack.adminToken), file).toBe(false);
      // The HMAC purpose string of lib/server/session-token.ts: if it is here, session code reached the browser.
      expect(text.includes('onair dashboard session v1'), file).toBe(false);
    }
  });

  it('runs a stream from sign-in to sign-out', async () => {
    try {
      await signInToSignOut();
    } catch (error) {
      // What the operator would have seen when it failed.
      await page.screenshot({ path: join(SHOTS ?? '/tmp', 'dashboard-failure.png'), fullPage: true }).catch(() => undefined);
      throw error;
    }
  });

  async function signInToSignOut(): Promise<void> {
    // Sign in.
    await page.goto(`${stack.webUrl}/dashboard`);
    await page.waitForURL('**/dashboard/login');
    await shot(page, '01-login');
    await page.fill('input[aria-label="Admin token"]', 'wrong-token-for-the-message');
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-testid="login-error"]');
    expect(await page.textContent('[data-testid="login-error"]')).toMatch(/not the admin token/);
    await page.fill('input[aria-label="Admin token"]', stack.adminToken);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${stack.webUrl}/dashboard`);
    const sessionCookie = (await browser.context.cookies(`${stack.webUrl}/dashboard`)).find((c) => c.name === SESSION_COOKIE);
    expect(sessionCookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/dashboard' });
    expect(sessionCookie!.expires * 1000 - Date.now()).toBeGreaterThan(11.9 * 3_600_000);

    // The first-run `demo` stream is listed; create another from the form.
    await page.waitForSelector('[data-testid="stream-demo"]');
    await page.fill('input[aria-label="New stream name"]', 'Bad Name!');
    await page.click('[data-testid="create-stream"] button[type="submit"]');
    await pollUntil('the invalid name to be refused with the reason', async () => (await page.textContent('[data-testid="create-stream"] [role="alert"]'))?.includes('lower-case'));
    await page.fill('input[aria-label="New stream name"]', 'studio');
    await page.click('[data-testid="create-stream"] button[type="submit"]');
    const card = page.locator('[data-testid="stream-studio"]');
    await card.waitFor();
    expect(await card.getAttribute('data-live')).toBe('false');

    // The key is masked until shown; OBS settings carry the ingest's WHIP URL.
    const masked = await card.locator('[data-testid="stream-key"]').textContent();
    expect(masked).toContain('•');
    await card.locator('[data-testid="toggle-key"]').click();
    const key = (await card.locator('[data-testid="stream-key"]').textContent())!.trim();
    expect(key).not.toContain('•');
    await card.locator('summary').click();
    expect(await card.locator('[data-testid="whip-url"]').textContent()).toBe(`${stack.ingestUrl}/whip`);
    expect(await card.locator('[data-testid="broadcast-link"]').getAttribute('href')).toBe(`${stack.webUrl}/broadcast?key=${encodeURIComponent(key)}`);

    // Rotate the key (confirmed): the shown key changes to the one the ingest now holds.
    await card.locator('[data-testid="rotate-key"]').click();
    await card.locator('[data-testid="confirm-yes"]').click();
    const rotated = await pollUntil('the rotated key to show', async () => {
      const shown = (await card.locator('[data-testid="stream-key"]').textContent())!.trim();
      return shown !== key && !shown.includes('•') ? shown : undefined;
    });
    const stored = (await (await stack.adminFetch('/api/streams/studio')).json()) as { streamKey: string };
    expect(stored.streamKey).toBe(rotated);

    // Publish with aiortc: the card goes live with figures that change.
    publisher = startAiortcPublisher(`${stack.ingestUrl}/whip`, rotated);
    await publisher.session;
    await pollUntil('the stream card to show live', async () => (await card.getAttribute('data-live')) === 'true', { timeoutMs: 20_000 });
    await pollUntil('the resolution to show', async () => (await card.locator('[data-testid="stat-resolution"]').textContent()) === '640×360', { timeoutMs: 20_000 });
    const bitrates = new Set<string>();
    await pollUntil('the ingest bitrate to change between snapshots', async () => {
      const raw = await card.locator('[data-testid="stat-bitrate"]').getAttribute('data-raw');
      if (raw && Number(raw) > 0) bitrates.add(raw);
      return bitrates.size >= 3;
    }, { timeoutMs: 20_000, intervalMs: 400 });
    expect(await card.locator('[data-testid="stat-fps"]').textContent()).toMatch(/fps/);
    expect(await card.locator('[data-testid="stat-ingest-protocol"]').textContent()).toBe('WHIP (WebRTC)');
    expect(await card.locator('[data-testid="chart-bitrate"] path').count()).toBeGreaterThan(0);
    await shot(page, '02-streams-live');

    // Transcoder.
    await page.click('a[href="/dashboard/transcoder"]');
    await page.waitForURL('**/dashboard/transcoder');
    if (!WITH_TRANSCODER) {
      await page.waitForSelector('[data-testid="transcoder-problem"]');
      expect(await page.textContent('[data-testid="transcoder-problem"]')).toMatch(/Transcoder unreachable at http:\/\/127\.0\.0\.1:\d+.*npm start/s);
      await shot(page, '03-transcoder-unreachable');
    } else {
      await exerciseTranscoder(page, stack);
    }

    // Back on Streams (client-side navigation keeps the history): the charts hold the minutes so far.
    await page.click('a[href="/dashboard"]');
    await page.waitForURL(`${stack.webUrl}/dashboard`);
    await card.waitFor();
    await shot(page, '05-streams-history');

    if (WITH_TRANSCODER) {
      // The card lists the stream's renditions over WebRTC with their viewers: a WHEP viewer
      // pinned to 180p shows up on that row, and leaves it when it goes.
      const table = card.locator('[data-testid="stream-renditions"]');
      await pollUntil('the renditions table with the ladder', async () => (await table.locator('[data-testid="rendition-180p"]').count()) === 1, { timeoutMs: 30_000, intervalMs: 250 });
      // The source first, then the rungs of the ladder the transcoder page left set.
      const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-testid')));
      expect(rows[0]).toBe('rendition-source');
      expect(rows.at(-1)).toBe('rendition-180p');
      const viewer = await startWeriftWhepViewer({ whepUrl: `${stack.ingestUrl}/whep/studio` });
      try {
        await viewer.connected;
        expect(viewer.layerUrl).not.toBeNull();
        const pin = await fetch(viewer.layerUrl!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ encodingId: '180p' }) });
        expect(pin.status).toBeLessThan(300);
        await pollUntil('the 180p row to count the viewer', async () => (await table.locator('[data-testid="rendition-180p"]').getAttribute('data-viewers')) === '1', { timeoutMs: 15_000, intervalMs: 250 });
        expect(await table.locator('[data-testid="rendition-source"]').getAttribute('data-viewers')).toBe('0');
        await shot(page, '06-streams-renditions');
      } finally {
        await viewer.close({ delete: true });
      }
      await pollUntil('the 180p row to drop the viewer', async () => (await table.locator('[data-testid="rendition-180p"]').getAttribute('data-viewers')) === '0', { timeoutMs: 15_000, intervalMs: 250 });
    }

    // Sign out: the dashboard and its API refuse the browser again, and a copy of the cookie too.
    const copied = sessionCookie!.value;
    // The dashboard (charts, live updates, every console page visited) worked under its Content-Security-Policy.
    expect(await cspViolations(page)).toEqual([]);
    await page.click('[data-testid="sign-out"]');
    await page.waitForURL('**/dashboard/login');
    expect((await browser.context.cookies(`${stack.webUrl}/dashboard`)).find((c) => c.name === SESSION_COOKIE)).toBeUndefined();
    await page.goto(`${stack.webUrl}/dashboard/transcoder`);
    await page.waitForURL('**/dashboard/login');
    const apiStatus = await page.evaluate(async () => (await fetch('/dashboard/api/streams')).status);
    expect(apiStatus).toBe(401);
    const replay = await fetch(`${stack.webUrl}/dashboard/api/streams`, { headers: { cookie: `${SESSION_COOKIE}=${copied}` } });
    expect(replay.status).toBe(401);
    const replayPage = await fetch(`${stack.webUrl}/dashboard`, { redirect: 'manual', headers: { cookie: `${SESSION_COOKIE}=${copied}` } });
    expect(new URL(replayPage.headers.get('location') ?? '/', stack.webUrl).pathname).toBe('/dashboard/login');
  }

  it('renames, then deletes after confirmation', async () => {
    await stack.createStream('doomed');
    await browser.context.clearCookies();
    await page.goto(`${stack.webUrl}/dashboard/login`);
    await page.fill('input[aria-label="Admin token"]', stack.adminToken);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${stack.webUrl}/dashboard`);
    await page.locator('[data-testid="stream-doomed"] button:has-text("Rename")').click();
    await page.fill('[data-testid="stream-doomed"] input[aria-label="Stream name"]', 'doomed-too');
    await page.click('[data-testid="stream-doomed"] button:has-text("Save")');
    const card = page.locator('[data-testid="stream-doomed-too"]');
    await card.waitFor();
    await card.locator('[data-testid="delete-stream"]').click();
    await card.locator('[data-testid="confirm"]').waitFor();
    await card.locator('[data-testid="confirm-yes"]').click();
    await card.waitFor({ state: 'detached' });
    const list = (await (await stack.adminFetch('/api/streams')).json()) as Array<{ name: string }>;
    expect(list.map((s) => s.name)).not.toContain('doomed-too');
    expect(list.map((s) => s.name)).not.toContain('doomed');
  });

  it('the event stream pushes a snapshot about every second and ends at sign-out', async () => {
    const signIn = await fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: stack.adminToken }) });
    expect(signIn.status).toBe(204);
    expect(signIn.headers.get('set-cookie')).toMatch(/HttpOnly/i);
    expect(signIn.headers.get('set-cookie')).toMatch(/SameSite=Strict/i);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const res = await fetch(`${stack.webUrl}/dashboard/api/events`, { headers: { cookie } });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    const events: Array<{ event: string; data: string }> = [];
    const next = async () => {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          if (event) return { event, data: /^data: (.*)$/m.exec(block)?.[1] ?? '' };
          continue;
        }
        const { value, done } = await reader.read();
        if (done) return null;
        buffer += value;
      }
    };
    const started = Date.now();
    for (let i = 0; i < 3; i++) events.push((await next())!);
    expect(events.map((e) => e.event)).toEqual(['snapshot', 'snapshot', 'snapshot']);
    expect(Date.now() - started).toBeLessThan(6_000);
    const snap = JSON.parse(events[2]!.data) as { ingest: { ok: boolean; data: Array<{ name: string }> }; transcoder: { ok: boolean }; health: { ingest: { ready: boolean } | null } };
    expect(snap.ingest.ok).toBe(true);
    expect(snap.ingest.data.map((s) => s.name)).toContain('demo');
    expect(snap.transcoder.ok).toBe(WITH_TRANSCODER);
    expect(snap.health.ingest?.ready).toBe(true);

    const signOut = await fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'DELETE', headers: { cookie } });
    expect(signOut.status).toBe(204);
    let last: { event: string } | null;
    do last = await next();
    while (last && last.event === 'snapshot');
    expect(last?.event).toBe('signed-out');
    expect(await next()).toBeNull();
  });

  it('refuses changes from another origin and being framed', async () => {
    const signIn = await fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: stack.adminToken }) });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    // Another port on the same host is the same *site*, so SameSite alone would let this through.
    const crossOrigin = await fetch(`${stack.webUrl}/dashboard/api/streams`, {
      method: 'POST',
      headers: { cookie, origin: stack.ingestUrl, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'csrf' }),
    });
    expect(crossOrigin.status).toBe(400);
    expect(await crossOrigin.json()).toMatchObject({ code: 'bad_request', detail: expect.stringContaining('Cross-origin') });
    const sameOrigin = await fetch(`${stack.webUrl}/dashboard/api/streams`, {
      method: 'POST',
      headers: { cookie, origin: stack.webUrl, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'same-origin' }),
    });
    expect(sameOrigin.status).toBe(201);
    const list = (await (await stack.adminFetch('/api/streams')).json()) as Array<{ name: string }>;
    expect(list.map((s) => s.name)).not.toContain('csrf');
    const dashboard = await fetch(`${stack.webUrl}/dashboard`, { headers: { cookie } });
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers.get('x-frame-options')).toBe('DENY');
    await fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'DELETE', headers: { cookie } });
  });

  it('believes no X-Forwarded-Host from a browser: a cross-origin change that claims our host is refused', async () => {
    const signIn = await fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: stack.adminToken }) });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const forged = await fetch(`${stack.webUrl}/dashboard/api/streams`, {
      method: 'POST',
      headers: { cookie, origin: 'http://evil.test', 'x-forwarded-host': 'evil.test', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'csrf-forwarded' }),
    });
    expect(forged.status).toBe(400);
    const list = (await (await stack.adminFetch('/api/streams')).json()) as Array<{ name: string }>;
    expect(list.map((s) => s.name)).not.toContain('csrf-forwarded');

    // Signing out is a change too: another origin cannot end the operator's session.
    const crossSignOut = await fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'DELETE', headers: { cookie, origin: stack.ingestUrl } });
    expect(crossSignOut.status).toBe(400);
    expect(await crossSignOut.json()).toMatchObject({ code: 'bad_request', detail: expect.stringContaining('Cross-origin') });
    expect((await fetch(`${stack.webUrl}/dashboard/api/streams`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'DELETE', headers: { cookie, origin: stack.webUrl } })).status).toBe(204);
  });

  it('keeps a signed-out cookie invalid after the web restarts', async () => {
    const signIn = await fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: stack.adminToken }) });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${stack.webUrl}/dashboard/api/streams`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'DELETE', headers: { cookie } })).status).toBe(204);
    expect((await fetch(`${stack.webUrl}/dashboard/api/streams`, { headers: { cookie } })).status).toBe(401);
    await stack.restart('web');
    // A copy of the cookie kept by someone else stays dead, in the API and on pages.
    const api = await fetch(`${stack.webUrl}/dashboard/api/streams`, { headers: { cookie } });
    expect(api.status).toBe(401);
    const pageRes = await fetch(`${stack.webUrl}/dashboard`, { redirect: 'manual', headers: { cookie } });
    expect(pageRes.status).toBe(303);
    // The revocation is kept in the data directory, readable by its owner only.
    const epoch = statSync(join(stack.dataDir, 'web-session-epoch'));
    expect(epoch.mode & 0o777).toBe(0o600);
    // Signing in again works.
    const again = await fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: stack.adminToken }) });
    expect(again.status).toBe(204);
    const fresh = again.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${stack.webUrl}/dashboard/api/streams`, { headers: { cookie: fresh } })).status).toBe(200);
  });

  it('throttles sign-in by socket address: a rotating X-Forwarded-For neither escapes the limit nor locks the operator out', async () => {
    const statuses: number[] = [];
    // 110 wrong guesses from 127.0.0.2, each claiming another address (above the 100/min global brake).
    for (let i = 0; i < 110; i++) {
      const res = await requestFrom('127.0.0.2', `${stack.webUrl}/dashboard/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.51.100.${i % 250}`, 'x-real-ip': `203.0.113.${i % 250}` },
        body: JSON.stringify({ secret: `guess-${i}` }),
      });
      statuses.push(res.status);
    }
    const refused = statuses.filter((s) => s === 403).length;
    console.log(`[e2e] sign-in from 127.0.0.2 with a rotating X-Forwarded-For: ${refused} × 403, then ${statuses.filter((s) => s === 429).length} × 429`);
    expect(refused).toBe(10);
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
    // The operator, from another address, is not locked out.
    const operator = await requestFrom('127.0.0.1', `${stack.webUrl}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: stack.adminToken }) });
    expect(operator.status).toBe(204);
  });

  // Last: it locks 127.0.0.1 out of sign-in for a minute.
  it('rate-limits failed sign-ins per address with a clear message', async () => {
    const attempt = () => fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: 'guess' }) });
    let res = await attempt();
    for (let i = 0; i < 12 && res.status === 403; i++) res = await attempt();
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ code: 'too_many_attempts', detail: expect.stringMatching(/Too many failed sign-in attempts.*try again in \d+ s/) });
    // Even the right secret waits out the limit.
    const right = await fetch(`${stack.webUrl}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ secret: stack.adminToken }) });
    expect(right.status).toBe(429);
  });
});

/** A request from a given loopback source address (fetch cannot choose one). */
function requestFrom(localAddress: string, url: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method, headers: init.headers, localAddress, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

async function exerciseTranscoder(page: Page, stack: Stack): Promise<void> {
  const job = page.locator('[data-testid="job-studio"]');
  await pollUntil('the studio job to run', async () => (await job.getAttribute('data-state').catch(() => null)) === 'running', { timeoutMs: 30_000 });
  await pollUntil('per-rung measured bitrate', async () => Number((await job.locator('[data-testid="rendition-bitrate"]').first().getAttribute('data-raw')) ?? 0) > 0, { timeoutMs: 30_000 });
  await pollUntil('encoder speed to show', async () => /×/.test((await job.locator('[data-testid="job-speed"]').textContent()) ?? ''), { timeoutMs: 15_000 });
  await job.locator('[data-testid="job-log"] summary').click();
  await job.locator('[data-testid="job-log"] pre').waitFor({ timeout: 10_000 });
  await shot(page, '03-transcoder');

  // Restart: a new ffmpeg process, running again.
  const pid = await job.getAttribute('data-pid');
  expect(Number(pid)).toBeGreaterThan(0);
  await job.locator('[data-testid="job-restart"]').click();
  await pollUntil('the job to run with a new ffmpeg', async () => (await job.getAttribute('data-state')) === 'running' && ![null, pid].includes(await job.getAttribute('data-pid')), { timeoutMs: 30_000 });

  // Stop and start.
  await job.locator('[data-testid="job-stop"]').click();
  await pollUntil('the job to stop', async () => (await job.getAttribute('data-state')) === 'stopped', { timeoutMs: 20_000 });
  await job.locator('[data-testid="job-start"]').click();
  await pollUntil('the job to run again', async () => (await job.getAttribute('data-state')) === 'running', { timeoutMs: 30_000 });

  // A profile with one small rung: invalid first (odd height), then valid.
  const master = async () => {
    const res = await fetch(`${stack.transcoderUrl}/hls/studio/index.m3u8`);
    return res.ok ? res.text() : '';
  };
  await page.click('a[href="/dashboard/profiles"]');
  await page.waitForURL('**/dashboard/profiles');
  await page.click('[data-testid="new-profile"]');
  await page.fill('[data-testid="profile-name"]', 'small');
  const rung = page.locator('[data-testid="rung-0"]');
  await rung.locator('input[aria-label="Rung name"]').fill('180p');
  await rung.locator('input[aria-label="Width"]').fill('320');
  await rung.locator('input[aria-label="Height"]').fill('181');
  await rung.locator('input[aria-label="Video kbit/s"]').fill('300');
  await page.click('[data-testid="save-profile"]');
  await page.waitForSelector('[data-testid="profile-problem"]');
  expect(await page.textContent('[data-testid="profile-problem"]')).toMatch(/even/);
  expect(await rung.locator('input[aria-label="Height"]').getAttribute('aria-invalid')).toBe('true');
  expect(await rung.locator('input[aria-label="Width"]').getAttribute('aria-invalid')).toBeNull();
  await shot(page, '04a-profile-invalid');
  await rung.locator('input[aria-label="Height"]').fill('180');
  await page.click('[data-testid="save-profile"]');
  await page.waitForSelector('[data-testid="profile-saved"]');

  // Switch the live stream to it: the job restarts and the master playlist has one 320×180 variant.
  await page.click('a[href="/dashboard/transcoder"]');
  await page.waitForURL('**/dashboard/transcoder');
  await job.locator('[data-testid="job-profile"]').selectOption('small');
  await pollUntil('the master playlist to list only 320x180', async () => {
    const text = await master();
    return /RESOLUTION=320x180/.test(text) && !/RESOLUTION=640x360/.test(text);
  }, { timeoutMs: 40_000, intervalMs: 500 });

  // Edit the ladder in place: add a second rung and move it first; the playlist follows.
  await page.click('a[href="/dashboard/profiles"]');
  await page.click('[data-testid="profile-small"]');
  await page.click('[data-testid="add-rung"]');
  const added = page.locator('[data-testid="rung-1"]');
  await added.locator('input[aria-label="Rung name"]').fill('240p');
  await added.locator('input[aria-label="Width"]').fill('426');
  await added.locator('input[aria-label="Height"]').fill('240');
  await added.locator('button[aria-label="Move up"]').click();
  expect(await page.locator('[data-testid="rung-0"] input[aria-label="Rung name"]').inputValue()).toBe('240p');
  await page.click('[data-testid="save-profile"]');
  await page.waitForSelector('[data-testid="profile-saved"]');
  expect(await page.textContent('[data-testid="profile-saved"]')).toMatch(/Restarted with the new ladder: studio/);
  await pollUntil('the master playlist to list 426x240 and 320x180', async () => {
    const text = await master();
    return /RESOLUTION=426x240/.test(text) && /RESOLUTION=320x180/.test(text) ? text : undefined;
  }, { timeoutMs: 40_000, intervalMs: 500 });
  await page.waitForSelector('[data-testid="master-playlist"]');
  await pollUntil('the dashboard playlist preview to follow', async () => /426x240/.test((await page.textContent('[data-testid="master-playlist"]')) ?? ''), { timeoutMs: 10_000 });
  await shot(page, '04-profiles');
}
