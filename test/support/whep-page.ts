/**
 * WHEP viewers in Playwright pages (Chromium), whose presented frames are recorded: a bare one
 * (`watchWhep`, the page's origin the ingest) and the site's own /watch page (`watchSitePlayer`),
 * what the shaped-link e2e test and the renditions bench watch.
 */
import type { Page } from 'playwright-core';
import type { WhepLayers } from '@onair/shared/api';

export interface WhepPage {
  page: Page;
  /** The session's layer resource (WHEP layer extension). */
  layerUrl: string;
  layers(): Promise<WhepLayers>;
}

/**
 * Starts a WHEP viewer of `stream` in `page`: recvonly video + audio, the <video> element's
 * presented frames recorded with requestVideoFrameCallback (`window.frameTimes`).
 */
export async function watchWhep(page: Page, ingestUrl: string, stream: string): Promise<WhepPage> {
  await page.goto(`${ingestUrl}/healthz`);
  // tsx (the bench) keeps function names with an `__name` helper the page does not have.
  await page.evaluate('window.__name = (f) => f');
  const layerPath = await page.evaluate(async (whepPath) => {
    const w = window as unknown as { frameTimes: number[]; pc: RTCPeerConnection };
    w.frameTimes = [];
    const pc = new RTCPeerConnection();
    w.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    document.body.append(video);
    const media = new MediaStream();
    pc.ontrack = (event) => {
      media.addTrack(event.track);
      video.srcObject = media;
    };
    const onFrame = (now: number) => {
      w.frameTimes.push(now);
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      setTimeout(resolve, 1000);
    });
    const res = await fetch(whepPath, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp });
    if (res.status !== 201) throw new Error(`WHEP answered ${res.status}: ${await res.text()}`);
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    return /<([^>]+)>;\s*rel="urn:ietf:params:whep:ext:core:layer"/.exec(res.headers.get('link') ?? '')?.[1] ?? '';
  }, `/whep/${stream}`);
  if (layerPath === '') throw new Error('the WHEP answer links no layer resource');
  const layerUrl = new URL(layerPath, ingestUrl).toString();
  return { page, layerUrl, layers: async () => (await (await fetch(layerUrl, { signal: AbortSignal.timeout(3000) })).json()) as WhepLayers };
}

/** What the site's player shows at a moment (its `data-*`), with the page clock. */
export interface PlayerShown {
  at: number;
  mode: string | null;
  state: string | null;
  rendition: string | null;
}

export interface SitePlayerPage {
  page: Page;
  /** What the player shows now. */
  shown(): Promise<PlayerShown>;
  /** Every change of mode, state or rendition the player showed since the page opened, in order. */
  trace(): Promise<PlayerShown[]>;
}

/**
 * Opens `${webUrl}/watch/<stream>` as a viewer does and records what it shows: the player's
 * presented frames (`window.frameTimes`, as `watchWhep` records them, on whichever <video> the
 * player has) and each change of its mode (webrtc / hls), state and rendition, sampled every
 * 20 ms from before the page's own scripts run.
 */
export async function watchSitePlayer(page: Page, webUrl: string, stream: string): Promise<SitePlayerPage> {
  // A string, not a function: nothing the test's transpiler adds (`__name`) can reach the page.
  await page.addInitScript(`(() => {
    const w = window;
    w.frameTimes = [];
    w.playerTrace = [];
    let watched = null;
    let last = '';
    setInterval(() => {
      const player = document.querySelector('[data-testid="player"]');
      if (player) {
        const d = player.dataset;
        const key = [d.mode, d.state, d.rendition].join('|');
        if (key !== last) {
          last = key;
          w.playerTrace.push({ at: performance.now(), mode: d.mode ?? null, state: d.state ?? null, rendition: d.rendition ?? null });
        }
      }
      const video = document.querySelector('video[data-testid="video"]');
      if (video && video !== watched) {
        watched = video;
        const onFrame = (now) => {
          if (watched !== video) return;
          w.frameTimes.push(now);
          video.requestVideoFrameCallback(onFrame);
        };
        video.requestVideoFrameCallback(onFrame);
      }
    }, 20);
  })();`);
  await page.goto(`${webUrl}/watch/${encodeURIComponent(stream)}`);
  const trace = () => page.evaluate(() => (window as unknown as { playerTrace: PlayerShown[] }).playerTrace);
  return {
    page,
    trace,
    shown: async () => (await trace()).at(-1) ?? { at: 0, mode: null, state: null, rendition: null },
  };
}

/** The longest time between two presented frames since `sinceMs` (page clock), and how many frames came. */
export async function longestFreeze(page: Page, sinceMs = 0): Promise<{ longestMs: number; frames: number; pageNow: number }> {
  return page.evaluate((since) => {
    const times = (window as unknown as { frameTimes: number[] }).frameTimes.filter((t) => t >= since);
    let longestMs = 0;
    for (let i = 1; i < times.length; i++) longestMs = Math.max(longestMs, times[i]! - times[i - 1]!);
    const now = performance.now();
    // A picture that stopped and never came back is a freeze too.
    if (times.length > 0) longestMs = Math.max(longestMs, now - times.at(-1)!);
    return { longestMs: Math.round(longestMs), frames: times.length, pageNow: now };
  }, sinceMs);
}

export const pageNow = (page: Page): Promise<number> => page.evaluate(() => performance.now());
