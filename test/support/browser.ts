/**
 * Headless Debian Chromium through playwright-core, set up as FIELD-NOTES.md measured: a fake
 * 30 fps camera and microphone, no permission prompts, and no attempts to reach the network.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.ONAIR_CHROMIUM ?? '/usr/bin/chromium';

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium's own stderr lines kept for a crash report (a crashed tab tells the test nothing else). */
const STDERR_LINES_KEPT = 80;

/** `executablePath`: another way to start Chromium (e.g. inside a network namespace: shaped-link.ts). */
export async function launchBrowser(extraArgs: string[] = [], options: { executablePath?: string } = {}): Promise<TestBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'onair-chromium-'));
  const stderrTail: string[] = [];
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: options.executablePath ?? CHROMIUM_PATH,
    logger: {
      isEnabled: (name) => name === 'browser',
      log: (_name, _severity, message) => {
        const line = String(message);
        if (!line.includes('[err]') || /ALSA lib|alsa_util|dbus\//.test(line)) return;
        stderrTail.push(line);
        if (stderrTail.length > STDERR_LINES_KEPT) stderrTail.shift();
      },
    },
    headless: true,
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 720 },
    args: [
      '--use-fake-device-for-media-stream=fps=30',
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      ...extraArgs,
    ],
  });
  // Every page records what its Content-Security-Policy blocked (read with cspViolations()).
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.effectiveDirective} blocked ${event.blockedURI || '(inline)'}${event.sample ? ` (${event.sample.slice(0, 60)})` : ''}`));
  });
  const reportCrash = (page: Page) => page.on('crash', () => console.error(`[browser] the tab ${page.url()} crashed; Chromium's last stderr lines:\n${stderrTail.join('\n')}`));
  context.pages().forEach(reportCrash);
  context.on('page', reportCrash);
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** What the page's Content-Security-Policy blocked since it loaded (see launchBrowser). */
export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? []);
}
