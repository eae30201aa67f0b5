/**
 * Interop: an independent WebRTC stack (python3-aiortc) publishes video and audio over WHIP,
 * and Chromium watches it on the site over WHEP — picture, advancing frames and sound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAiortcPublisher, type AiortcPublisher } from '../support/peers/aiortc-publisher';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { audioLevel, waitForAdvancingVideo } from '../support/playback';
import { pollUntil } from '../support/poll';
import { startStack, type Stack } from '../support/stack';

describe('python3-aiortc publishes over WHIP, Chromium watches over WHEP', () => {
  let stack: Stack;
  let browser: TestBrowser;
  let publisher: AiortcPublisher | undefined;

  beforeAll(async () => {
    stack = await startStack({ web: true });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    publisher?.stop();
    await browser?.close();
    await stack?.close();
  });

  it('plays the aiortc stream with picture, motion and sound', async () => {
    const stream = await stack.createStream('interop');
    publisher = startAiortcPublisher(`${stack.ingestUrl}/whip`, stream.streamKey);
    const sessionUrl = await publisher.session;
    expect(sessionUrl).toMatch(new RegExp(`^${stack.ingestUrl}/whip/`));

    const live = await pollUntil('the stream to be listed live with H.264 video', async () => {
      const list = (await (await fetch(`${stack.ingestUrl}/api/streams/live`)).json()) as Array<{ name: string; video: { codec: string; width: number | null } | null; audio: { codec: string } | null }>;
      const entry = list.find((s) => s.name === 'interop');
      return entry?.video?.width ? entry : undefined;
    }, { timeoutMs: 20_000 });
    expect(live.video).toMatchObject({ codec: expect.stringMatching(/h264/i), width: 640, height: 360 });
    expect(live.audio?.codec).toMatch(/opus/i);

    const page = await browser.context.newPage();
    await page.goto(`${stack.webUrl}/watch/interop`);
    const playback = await waitForAdvancingVideo(page);
    expect(playback).toMatchObject({ width: 640, height: 360 });
    await pollUntil('the player to report live', () => page.$eval('[data-testid="player"]', (el) => el.getAttribute('data-state') === 'live'));
    // The publisher sends a 440 Hz tone at about -12 dBFS: sound must come out, not silence.
    const level = await pollUntil('audible audio', async () => {
      const rms = await audioLevel(page);
      return rms > 0.02 ? rms : undefined;
    }, { timeoutMs: 10_000 });
    expect(level).toBeGreaterThan(0.02);
  });
});
