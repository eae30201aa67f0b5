/**
 * Typed handles on the bench pages for the bench process: what `window.bench` offers in
 * bench/pages/{publisher,viewer}.ts, called through Playwright.
 */
import type { BrowserContext, Page } from 'playwright-core';

export type StatsEntry = Record<string, unknown>;

/** One displayed frame whose code was read (bench/pages/viewer.ts). All times ms since the epoch. */
export interface FrameSample {
  capture: number;
  /** rVFC `expectedDisplayTime`: when the compositor puts the frame on screen. */
  display: number;
  /** rVFC callback time (`now`). */
  callback: number;
  /** rVFC `receiveTime` (WebRTC only): the frame's last packet arrived. */
  receive?: number;
  width: number;
  height: number;
}

export interface HlsLogEntry {
  t: number;
  latency: number;
  targetLatency: number;
  drift: number;
  rate: number;
  buffer: number;
  level: number;
}

export interface HlsInfo {
  log: HlsLogEntry[];
  events: Record<string, number>;
  errors: string[];
  levels: string[];
  config?: Record<string, unknown>;
  timeOrigin: number;
}

export type WhepSteps = Record<string, number>;

// The pages' `window.bench`, loosely typed on this side of the boundary.
type AnyBench = Record<string, (...args: never[]) => unknown>;
declare global {
  interface Window {
    bench: AnyBench;
  }
}

async function call<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(({ method, args }) => (window.bench[method] as unknown as (...a: unknown[]) => unknown)(...args), { method, args }) as Promise<T>;
}

async function open(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page ${url.split('?')[0]}] ${error.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.bench?.ready === (true as never), undefined, { timeout: 15_000 });
  return page;
}

export class PublisherPage {
  private constructor(readonly page: Page) {}

  static async open(context: BrowserContext, baseUrl: string, size = { w: 1280, h: 720 }): Promise<PublisherPage> {
    return new PublisherPage(await open(context, `${baseUrl}/publisher.html?w=${size.w}&h=${size.h}&fps=30`));
  }

  /** Over WHIP (`url` = the WHIP endpoint) or WebTransport (`url` = the ingest's /api/webtransport). */
  publish(url: string, token: string, transport: 'whip' | 'webtransport' = 'whip', options: { simulcast?: boolean } = {}) {
    return call<{ startEpoch: number; answerEpoch: number; answerMs: number }>(this.page, 'publish', url, token, transport, options);
  }
  connected() {
    return call<number>(this.page, 'connected');
  }
  stats() {
    return call<StatsEntry[]>(this.page, 'stats');
  }
  visibility() {
    return call<string>(this.page, 'visibility');
  }
  stop() {
    return call<void>(this.page, 'stop');
  }
  async close() {
    await this.stop().catch(() => undefined);
    await this.page.close().catch(() => undefined);
  }
}

export class ViewerPage {
  private constructor(readonly page: Page) {}

  static async open(context: BrowserContext, baseUrl: string, query = ''): Promise<ViewerPage> {
    return new ViewerPage(await open(context, `${baseUrl}/viewer.html${query}`));
  }

  playWhep(url: string) {
    return call<{ steps: WhepSteps }>(this.page, 'playWhep', url);
  }
  playWhepVideoOnly(url: string) {
    return call<void>(this.page, 'playWhepVideoOnly', url);
  }
  /** What the server holds the playing WHEP session's sound back by now (lip sync), ms; undefined when it does not say. */
  async audioHoldMs(): Promise<number | undefined> {
    return (await call<{ audioHoldMs?: number }>(this.page, 'layers')).audioHoldMs;
  }
  /** Pins the playing WHEP session to a transcoded rung or a simulcast layer; resolves once it is active. */
  pinLayer(kind: 'transcoded' | 'simulcast') {
    return call<{ encodingId: string; width: number | null; height: number | null; bitrateKbps: number }>(this.page, 'pinLayer', kind);
  }
  playHls(url: string, config: Record<string, unknown>) {
    return call<void>(this.page, 'playHls', url, config);
  }
  /** The site's own HLS mode (apps/web/lib/hls-playback.ts), as /watch plays. */
  playSiteHls(url: string) {
    return call<void>(this.page, 'playSiteHls', url);
  }
  /** Epoch ms of the first displayed frame; rejects after `timeoutMs`. */
  firstFrame(timeoutMs = 20_000) {
    return Promise.race([
      call<number>(this.page, 'firstFrame'),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no frame within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  }
  /** The auto-started WHEP run's steps, once its first frame showed. */
  autoResult(timeoutMs = 20_000) {
    return Promise.race([
      this.page.evaluate(() => (window.bench as unknown as { auto: Promise<WhepSteps> }).auto),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no frame within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  }
  take() {
    return call<{ samples: FrameSample[]; misread: number; quality?: { dropped: number; total: number } }>(this.page, 'take');
  }
  whepStats() {
    return call<StatsEntry[]>(this.page, 'whepStats');
  }
  hlsInfo() {
    return call<HlsInfo>(this.page, 'hlsInfo');
  }
  timeOrigin() {
    return this.page.evaluate(() => performance.timeOrigin);
  }
  async close() {
    await call<void>(this.page, 'stop').catch(() => undefined);
    await this.page.close().catch(() => undefined);
  }
}
