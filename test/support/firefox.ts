/**
 * Debian's firefox-esr driven by puppeteer-core over WebDriver BiDi — a client onair did not
 * write. Fake camera and microphone, no permission prompt; every other preference is Firefox's
 * own default unless the caller sets it (ICE: no loopback candidates, mDNS host names).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export const FIREFOX_PATH = process.env.ONAIR_FIREFOX ?? '/usr/bin/firefox-esr';

/** What the tests set: fake media without prompts, and no calls to Mozilla's services on a closed network. */
export const FIREFOX_TEST_PREFS: Record<string, unknown> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.autoplay.default': 0,
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'media.gmp-manager.updateEnabled': false,
};

export interface TestFirefox {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchFirefox(prefs: Record<string, unknown> = {}): Promise<TestFirefox> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'onair-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    userDataDir,
    extraPrefsFirefox: { ...FIREFOX_TEST_PREFS, ...prefs },
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
