/**
 * A WHEP viewer in a Playwright page (Chromium), whose presented frames are recorded: what the
 * shaped-link e2e test and the renditions bench watch. The page's origin must be the ingest.
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
