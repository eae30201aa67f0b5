/**
 * Start-up scenarios, each repeated: WHEP time to first frame (with its steps timed in the page),
 * HLS page load → first frame, and publish → first playable segment at the HLS origin.
 */
import type { BrowserContext } from 'playwright-core';
import { ViewerPage, type PublisherPage } from './bench-pages';
import { distribution } from './stats';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const epochNow = () => performance.timeOrigin + performance.now();

export interface RepeatOptions {
  context: BrowserContext;
  pagesUrl: string;
  reps: number;
  log: (line: string) => void;
}

/** WHEP viewers of the stream `url` names (its last path segment), from the live list on `url`'s origin; undefined when it cannot say. */
async function liveViewers(url: string): Promise<number | undefined> {
  const { origin, pathname } = new URL(url);
  const name = decodeURIComponent(pathname.split('/').pop() ?? '');
  const res = await fetch(`${origin}/api/streams/live`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  if (!res?.ok) return undefined;
  const live = (await res.json()) as Array<{ name: string; viewers: number }>;
  return live.find((s) => s.name === name)?.viewers;
}

/**
 * `o.reps` runs, each on a fresh page that `run` opens (and closes in its own `finally`); a run
 * that throws is a failure, not the end. With `viewersOf` (a WHEP or watch URL), the stream's
 * viewers are polled back to what they were between runs (≤ 5 s), so the next run does not start
 * while the ingest still holds the last one.
 */
async function repeatRuns(o: RepeatOptions, run: () => Promise<Record<string, number>>, viewersOf?: string) {
  const runs: Array<Record<string, number>> = [];
  const failures: string[] = [];
  const before = viewersOf === undefined ? undefined : await liveViewers(viewersOf);
  for (let i = 0; i < o.reps; i++) {
    try {
      runs.push(await run());
    } catch (error) {
      failures.push(`run ${i}: ${String(error)}`);
    }
    const until = Date.now() + 5_000;
    while (viewersOf !== undefined && before !== undefined && Date.now() < until && ((await liveViewers(viewersOf)) ?? 0) > before) await sleep(50);
  }
  return { runs, failures };
}

/** A fresh viewer page per repetition: POST → 201 → ICE connected → first frame on screen. */
export async function whepFirstFrame(whepUrl: string, o: RepeatOptions) {
  const { runs, failures } = await repeatRuns(o, async () => {
    const viewer = await ViewerPage.open(o.context, o.pagesUrl, `?autostart=whep&src=${encodeURIComponent(whepUrl)}`);
    try {
      const [steps, timeOrigin] = await Promise.all([viewer.autoResult(), viewer.timeOrigin()]);
      return {
        postToAnswer: steps.answer! - steps.start!,
        startToOfferSent: steps.offerSent! - steps.start!,
        offerSentToAnswer: steps.answer! - steps.offerSent!,
        answerToIceConnected: steps.iceConnected! - steps.answer!,
        iceConnectedToFirstFrame: steps.firstFrame! - steps.iceConnected!,
        iceConnectedToDtlsConnected: steps.connected! - steps.iceConnected!,
        dtlsConnectedToFirstFrame: steps.firstFrame! - steps.connected!,
        startToFirstFrame: steps.firstFrame! - steps.start!,
        postToFirstFrame: steps.firstFrame! - steps.offerSent!,
        pageLoadToFirstFrame: steps.firstFrame! - timeOrigin,
      };
    } finally {
      await viewer.close();
    }
  }, whepUrl);
  const pick = (k: string) => distribution(runs.map((r) => r[k]!));
  const result = {
    reps: o.reps,
    /** From the HTTP POST leaving (the offer made) to the first frame on screen: the "POST → frame". */
    postToFirstFrame: pick('postToFirstFrame'),
    /** From the player's start (new RTCPeerConnection, the browser making its offer) to the first frame. */
    startToFirstFrame: pick('startToFirstFrame'),
    steps: {
      postToAnswer: pick('postToAnswer'),
      /** Of postToAnswer: the offer made (and ICE candidates waited for), then the HTTP exchange. */
      startToOfferSent: pick('startToOfferSent'),
      offerSentToAnswer: pick('offerSentToAnswer'),
      answerToIceConnected: pick('answerToIceConnected'),
      iceConnectedToFirstFrame: pick('iceConnectedToFirstFrame'),
      iceConnectedToDtlsConnected: pick('iceConnectedToDtlsConnected'),
      /** The ingest asks the publisher for a keyframe once the viewer is connected; this is that wait plus decode. */
      dtlsConnectedToFirstFrame: pick('dtlsConnectedToFirstFrame'),
    },
    pageLoadToFirstFrame: pick('pageLoadToFirstFrame'),
    failures,
  };
  o.log(`WHEP first frame p50 ${result.postToFirstFrame.p50} ms, p95 ${result.postToFirstFrame.p95} ms from the POST; ${result.startToFirstFrame.p50} / ${result.startToFirstFrame.p95} ms from the player's start (${runs.length}/${o.reps})`);
  return result;
}

/** A fresh page per repetition, hls.js started at load: navigation start → first frame. */
export async function hlsFirstFrame(label: string, playlistUrl: string, config: Record<string, unknown>, o: RepeatOptions) {
  const { runs, failures } = await repeatRuns(o, async () => {
    const viewer = await ViewerPage.open(o.context, o.pagesUrl, `?autostart=hls&config=${encodeURIComponent(JSON.stringify(config))}&src=${encodeURIComponent(playlistUrl)}`);
    try {
      const [first, timeOrigin] = await Promise.all([viewer.firstFrame(30_000), viewer.timeOrigin()]);
      const info = await viewer.hlsInfo();
      const rel = (k: string) => (info.events[k] ?? Number.NaN) - timeOrigin;
      return { pageLoadToFirstFrame: first - timeOrigin, manifest: rel('manifestLoaded'), mediaPlaylist: rel('levelLoaded'), firstFragment: rel('firstFragLoaded'), firstBuffered: rel('firstFragBuffered') };
    } finally {
      await viewer.close();
    }
  });
  const pick = (k: string) => distribution(runs.map((r) => r[k]!));
  const result = {
    reps: o.reps,
    pageLoadToFirstFrame: pick('pageLoadToFirstFrame'),
    steps: { manifestLoaded: pick('manifest'), mediaPlaylistLoaded: pick('mediaPlaylist'), firstFragmentLoaded: pick('firstFragment'), firstFragmentBuffered: pick('firstBuffered') },
    failures,
  };
  o.log(`${label} first frame p50 ${result.pageLoadToFirstFrame.p50} ms, p95 ${result.pageLoadToFirstFrame.p95} ms (${runs.length}/${o.reps})`);
  return result;
}

async function fetchText(url: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch {
    return { status: 0, text: '' };
  }
}

const epochOf = (playlist: string) => /(?:part|seg|init)-([0-9a-z]+)-\d+\./.exec(playlist)?.[1];

/** The first variant's media playlist as served now (status 0/404 when there is none). */
async function firstMediaPlaylist(transcoderUrl: string, stream: string): Promise<{ status: number; text: string; rendition?: string; multivariantAt?: number }> {
  const mv = await fetchText(`${transcoderUrl}/hls/${stream}/index.m3u8`, 8_000);
  if (mv.status !== 200) return mv;
  const multivariantAt = epochNow();
  const uri = mv.text.split('\n').find((l) => l && !l.startsWith('#'))?.trim();
  if (!uri) return { status: 0, text: '' };
  const media = await fetchText(`${transcoderUrl}/hls/${stream}/${uri}`, 8_000);
  return { ...media, rendition: uri.split('/')[0]!, multivariantAt };
}

/**
 * Polls the origin from the moment of publishing until a media playlist of a new run (an epoch
 * not seen before, no ENDLIST) lists a part or a segment: the moment a player could start. The
 * origin holds a playlist request until media exists, so the answer comes as soon as the
 * packager has it; while there is no job yet (404) it is retried every 20 ms.
 */
export async function firstPlayable(transcoderUrl: string, stream: string, oldEpochs: ReadonlySet<string>, deadline: number): Promise<{ multivariant: number; playable: number; rendition: string; epoch: string } | undefined> {
  let multivariant: number | undefined;
  while (Date.now() < deadline) {
    const media = await firstMediaPlaylist(transcoderUrl, stream);
    const epoch = epochOf(media.text);
    if (media.status === 200 && epoch && !oldEpochs.has(epoch) && !media.text.includes('#EXT-X-ENDLIST')) {
      multivariant ??= media.multivariantAt;
      if (/#EXT-X-PART:|#EXTINF:/.test(media.text)) return { multivariant: multivariant!, playable: epochNow(), rendition: media.rendition!, epoch };
    }
    await sleep(20);
  }
  return undefined;
}

/** Waits until the stream's HLS run has ended (404 or ENDLIST); returns the epochs seen. */
export async function waitEnded(transcoderUrl: string, stream: string, timeoutMs: number): Promise<{ ended: boolean; epochs: Set<string> }> {
  const epochs = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const media = await firstMediaPlaylist(transcoderUrl, stream);
    const epoch = epochOf(media.text);
    if (epoch) epochs.add(epoch);
    if (media.status === 404 || media.text.includes('#EXT-X-ENDLIST')) return { ended: true, epochs };
    await sleep(100);
  }
  return { ended: false, epochs };
}

/**
 * WHIP 201 (or, over WebTransport, the MoQ session up) → the first media playlist listing a
 * part; the stream goes offline between runs.
 */
export async function publishToFirstSegment(
  publisher: PublisherPage,
  whip: { url: string; key: string; transport?: 'whip' | 'webtransport' },
  transcoder: { url: string; stream: string },
  o: RepeatOptions,
) {
  const runs: Array<Record<string, number>> = [];
  const failures: string[] = [];
  const renditions = new Set<string>();
  for (let i = 0; i < o.reps; i++) {
    const previous = await waitEnded(transcoder.url, transcoder.stream, 20_000);
    if (!previous.ended) failures.push(`run ${i}: the previous run's HLS stream had not ended after 20 s`);
    const polling = firstPlayable(transcoder.url, transcoder.stream, previous.epochs, Date.now() + 20_000);
    try {
      const published = await publisher.publish(whip.url, whip.key, whip.transport);
      const found = await polling;
      if (!found) throw new Error('no playable media playlist within 20 s');
      renditions.add(found.rendition);
      runs.push({ answerToMultivariant: found.multivariant - published.answerEpoch, answerToPlayable: found.playable - published.answerEpoch, postToAnswer: published.answerMs });
    } catch (error) {
      failures.push(`run ${i}: ${String(error)}`);
    } finally {
      await publisher.stop();
    }
  }
  const pick = (k: string) => distribution(runs.map((r) => r[k]!));
  const result = {
    reps: o.reps,
    answerToFirstPlayable: pick('answerToPlayable'),
    steps: { postToAnswer: pick('postToAnswer'), answerToMultivariant: pick('answerToMultivariant') },
    firstRendition: [...renditions],
    failures,
  };
  o.log(`publish${whip.transport === 'webtransport' ? ' over WebTransport' : ''} → first playable part p50 ${result.answerToFirstPlayable.p50} ms, p95 ${result.answerToFirstPlayable.p95} ms (${runs.length}/${o.reps})`);
  return result;
}

/**
 * The transcoder's start-up marks per run, from its log (`ffmpeg producing output`: ms after
 * ffmpeg's spawn until every RTP port was bound, the first keyframe request was answered, the
 * first fMP4 byte; packets the forward sent from the kept keyframe).
 */
export function transcoderStartup(logLines: readonly string[]) {
  const runs: Array<Record<string, number>> = [];
  for (const line of logLines) {
    if (!line.includes('ffmpeg producing output')) continue;
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      const pick = (k: string) => (typeof entry[k] === 'number' ? (entry[k] as number) : Number.NaN);
      runs.push({ boundMs: pick('boundMs'), keyframeRequestMs: pick('keyframeRequestMs'), firstOutputMs: pick('firstOutputMs'), replayedPackets: pick('replayedPackets') });
    } catch {
      // not a JSON log line
    }
  }
  const pick = (k: string) => distribution(runs.map((r) => r[k]!));
  return { spawnToBound: pick('boundMs'), spawnToKeyframeRequest: pick('keyframeRequestMs'), spawnToFirstOutput: pick('firstOutputMs'), replayedPackets: pick('replayedPackets'), withoutReplay: runs.filter((r) => !(r.replayedPackets! > 0)).length };
}

/**
 * Installed in each watch page before its own scripts run: every <video> the page gets (the
 * server-rendered player's, or one React puts in its place) has a requestVideoFrameCallback
 * waiting, and the first frame shown on any of them is kept (`expectedDisplayTime`, ms since
 * navigation start: the page's own performance timeline). A string, not a function: tsx's
 * transform would wrap a function's inner closures in a helper the page does not have.
 */
const HOOK_FIRST_FRAME = `(() => {
  const hooked = new WeakSet();
  const hook = () => {
    for (const video of document.querySelectorAll('video')) {
      if (hooked.has(video)) continue;
      hooked.add(video);
      video.requestVideoFrameCallback((now, meta) => { window.__benchFirstFrame ??= meta.expectedDisplayTime; });
    }
  };
  new MutationObserver(hook).observe(document, { childList: true, subtree: true });
})();`;

/** What a watch page's performance timeline says about one run, ms since navigation start. */
interface WatchPageMarks {
  firstFrame?: number;
  htmlFirstByte: number;
  htmlLoaded: number;
  domContentLoaded: number;
  scriptsLoaded: number;
  whepPost?: number;
  whepAnswer?: number;
}

/**
 * The site's own /watch/<stream> page, as a viewer opens it: a fresh page per repetition,
 * navigation start → first frame on screen (rVFC on the player's video), with the page's own
 * milestones: HTML first byte, its scripts loaded, the WHEP POST sent and answered.
 */
export async function watchPageFirstFrame(watchUrl: string, o: RepeatOptions) {
  const { runs, failures } = await repeatRuns(o, async () => {
    const page = await o.context.newPage();
    try {
      await page.addInitScript({ content: HOOK_FIRST_FRAME });
      await page.goto(watchUrl, { waitUntil: 'commit' });
      const handle = await page.waitForFunction(() => (window as unknown as { __benchFirstFrame?: number }).__benchFirstFrame, undefined, { timeout: 20_000, polling: 50 });
      await handle.dispose();
      const marks = await page.evaluate((): WatchPageMarks => {
        const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
        const whep = resources.find((r) => new URL(r.name).pathname.startsWith('/whep/') && (r.initiatorType === 'fetch' || r.initiatorType === 'other'));
        const scripts = resources.filter((r) => r.initiatorType === 'script');
        return {
          firstFrame: (window as unknown as { __benchFirstFrame?: number }).__benchFirstFrame,
          htmlFirstByte: nav.responseStart,
          htmlLoaded: nav.responseEnd,
          domContentLoaded: nav.domContentLoadedEventEnd,
          scriptsLoaded: Math.max(0, ...scripts.map((r) => r.responseEnd)),
          whepPost: whep?.startTime,
          whepAnswer: whep?.responseEnd,
        };
      });
      return {
        navigationToFirstFrame: marks.firstFrame!,
        navigationToHtmlFirstByte: marks.htmlFirstByte,
        navigationToHtmlLoaded: marks.htmlLoaded,
        navigationToScriptsLoaded: marks.scriptsLoaded,
        navigationToDomContentLoaded: marks.domContentLoaded,
        navigationToWhepPost: marks.whepPost ?? Number.NaN,
        whepPostToAnswer: marks.whepPost === undefined ? Number.NaN : marks.whepAnswer! - marks.whepPost,
        whepPostToFirstFrame: marks.whepPost === undefined ? Number.NaN : marks.firstFrame! - marks.whepPost,
      };
    } finally {
      await page.close({ runBeforeUnload: true }).catch(() => undefined);
    }
  }, watchUrl);
  const pick = (k: string) => distribution(runs.map((r) => r[k]!));
  const result = {
    reps: o.reps,
    navigationToFirstFrame: pick('navigationToFirstFrame'),
    steps: {
      navigationToHtmlFirstByte: pick('navigationToHtmlFirstByte'),
      navigationToHtmlLoaded: pick('navigationToHtmlLoaded'),
      navigationToWhepPost: pick('navigationToWhepPost'),
      navigationToScriptsLoaded: pick('navigationToScriptsLoaded'),
      navigationToDomContentLoaded: pick('navigationToDomContentLoaded'),
      whepPostToAnswer: pick('whepPostToAnswer'),
      whepPostToFirstFrame: pick('whepPostToFirstFrame'),
    },
    failures,
  };
  const s = result.steps;
  o.log(`watch page → first frame p50 ${result.navigationToFirstFrame.p50} ms, p95 ${result.navigationToFirstFrame.p95} ms (${runs.length}/${o.reps}); p50 marks: HTML first byte ${s.navigationToHtmlFirstByte.p50}, WHEP POST ${s.navigationToWhepPost.p50}, scripts loaded ${s.navigationToScriptsLoaded.p50}, DOMContentLoaded ${s.navigationToDomContentLoaded.p50}, POST → frame ${s.whepPostToFirstFrame.p50}`);
  return result;
}
