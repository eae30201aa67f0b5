/**
 * Renditions chosen per viewer, over a real shaped link: the real services (ingest, transcoder)
 * with a werift WHIP publisher (640×360 at a constant 1.2 Mbit/s), the transcoder making a 360p
 * rung at 600 kbit/s and a 180p one at 200 kbit/s and sending them back as RTP; three headless
 * Chromium viewers over WHEP, each browser in a network namespace of its own behind a veth pair:
 *
 * - the shaped viewer, a person on the site's /watch page (the web app in the stack, its player
 *   with its own reconnect and HLS-fallback rules): `tc tbf` on its link, 3 Mbit/s → 600 kbit/s →
 *   3 Mbit/s. Its own RTCP feedback (REMB, receiver reports) moves it down to the rendition that
 *   fits within a few seconds, its picture never stops for long, the player stays live over
 *   WebRTC and shows the rendition, and it comes back to the source after the limit;
 * - an unshaped viewer of the same stream: on the source from start to end;
 * - a viewer (same unshaped browser) that pinned 180p: stays there, though its link would carry more.
 *
 * The namespaces, veth pairs and qdiscs go whatever happens (afterAll, and each link removes a
 * leftover of an earlier run before it starts). Root only: skipped elsewhere, saying why.
 *
 * What made it pass (it had never): the engine says, with every report, how far the viewer is
 * behind our sending (the RTT, refreshed by a once-a-second sender report, stayed at 1–2 ms for
 * the first 1.1 s of the limit) and the octets it got; what is on the path (sent, not yet got, at
 * the rate delivered: ~2× that backlog behind a bottleneck fed twice its rate) moves the viewer
 * within ~0.3–0.9 s, before the 600 ms queue drops much, to the rung the measured delivery fits;
 * the origin it leaves is held back from the moment what is on the path lasts until the
 * target's predicted keyframe (switch-hold.ts: the rungs sent to WebRTC have one every 0.5 s,
 * on the transcoder's clock), so the picture plays on from the queue until that keyframe comes
 * through it; resends wait a round trip and stay under a quarter of the viewer's rate. REMB that
 * no backlog or loss confirms is the receiver's own noise, both ways: the unshaped viewer under
 * load stays, the shaped one comes back up by trials; a move decided early in the limit sizes the
 * target by what the path carries between the last reports (the window's rate still counted the
 * time before the limit: 360p chosen, 633 ms frozen, once). Measured on the shared 2-core machine:
 * on this code ten runs in a row passed at load 3–9.5 (on 180p 0.54–1.23 s after the drop,
 * longest freeze 133–400 ms, back on the source 4.8–5.9 s after the lift); on the code before
 * that last change 13 of 15 (200–350 ms at load 11–16; one failure was that 633 ms, the other
 * 717 ms while the load rose to 16 mid-run, the publisher's source falling to 0.8 Mbit/s and the
 * player taking in 214 kbit/s of its 600 kbit/s link). 40–77 s a run.
 *
 * Part of `npm test` since the freeze is bounded by the router (a hold timed to the target's
 * keyframe, the move decided on what is on the path) rather than by luck; the 500 ms limit is
 * issue 12's. What it still cannot bound: a source keyframe sent just as the limit starts (it
 * overflows the queue before any report says so) or a rung's encoder stalling under load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser';
import type { WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { pollUntil } from '../support/poll';
import { canShapeLinks, createShapedLink, SHAPED_SCENARIO_FPS, type ShapedLink } from '../support/shaped-link';
import { startShapedScenario } from '../support/shaped-scenario';
import { startStack, type Stack } from '../support/stack';
import { longestFreeze, pageNow, watchSitePlayer, watchWhep as watch } from '../support/whep-page';

const SHAPED_SUBNET = '10.214.0';
/**
 * The shaped link's queue, ms at its rate: a home router's. With 200 ms the source's excess is
 * dropped 200 ms after the limit, before the viewer can be moved (a rendition starts at its next
 * keyframe, up to a GOP later), and the picture freezes until then (measured: 1.4 s).
 */
const QUEUE_MS = 600;
const UNSHAPED_SUBNET = '10.214.1';
const FPS = SHAPED_SCENARIO_FPS;

// Network namespaces, veth pairs and tc need root (CAP_NET_ADMIN): elsewhere this is skipped.
describe.skipIf(!canShapeLinks())('renditions per viewer over a shaped link (root: network namespaces and tc)', () => {
  let shaped: ShapedLink | undefined;
  let unshaped: ShapedLink | undefined;
  let stack: Stack | undefined;
  let publisher: WeriftH264Publisher | undefined;
  const browsers: TestBrowser[] = [];

  beforeAll(async () => {
    shaped = createShapedLink('onair-abr-s', SHAPED_SUBNET);
    unshaped = createShapedLink('onair-abr-u', UNSHAPED_SUBNET);
    shaped.limit(3000, QUEUE_MS);
    // The ingest listens on the shaped link's host end, its one ICE host (libdatachannel, whose
    // viewers report their RTCP feedback, binds a single one): the viewers in the namespaces reach
    // it each through its own pair, the publisher and the transcoder on this machine directly.
    // The web app too, for the shaped viewer's /watch page.
    stack = await startStack({ transcoder: true, web: true, ingestHost: shaped.hostAddress, webHost: shaped.hostAddress });
  }, 90_000);

  afterAll(async () => {
    for (const browser of browsers) await browser.close().catch(() => undefined);
    await publisher?.stop().catch(() => undefined);
    await stack?.close();
    shaped?.remove();
    unshaped?.remove();
  });

  it("a viewer on the site's /watch page behind a shaped link moves down within seconds, plays on over WebRTC without a long freeze and comes back up; the unshaped one stays on the source; a pin holds", async () => {
    const st = stack!;
    ({ publisher } = await startShapedScenario(st, 'abr-e2e'));

    const shapedBrowser = await launchBrowser([], { executablePath: shaped!.chromiumPath });
    browsers.push(shapedBrowser);
    const unshapedBrowser = await launchBrowser([], { executablePath: unshaped!.chromiumPath });
    browsers.push(unshapedBrowser);
    // The shaped viewer is a person opening the site's page: its early WHEP script, its player
    // (with its own reconnect and HLS fallback rules), through the web app's WHEP proxy.
    const slow = await watchSitePlayer(await shapedBrowser.context.newPage(), st.webUrl, 'abr');
    const fast = await watch(await unshapedBrowser.context.newPage(), st.ingestUrl, 'abr');
    const pinned = await watch(await unshapedBrowser.context.newPage(), st.ingestUrl, 'abr');
    const pin = await fetch(pinned.layerUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ encodingId: '180p' }) });
    expect(pin.status).toBe(200);
    /** Viewers per rendition, as the admin API counts them: the shaped viewer is the second one on 180p. */
    const viewersOn = async (rendition: string) => {
      const streams = (await (await st.adminFetch('/api/streams')).json()) as Array<{ name: string; state: { renditions: Array<{ name: string; viewers: number }> } }>;
      return streams.find((s) => s.name === 'abr')?.state.renditions.find((r) => r.name === rendition)?.viewers ?? -1;
    };

    // What the unshaped and the pinned viewers get, sampled all along.
    const seen = { fast: new Set<string>(), pinned: new Set<string>() };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [f, p] = await Promise.all([fast.layers(), pinned.layers()]);
        seen.fast.add(f.active);
        if (p.pending === null) seen.pinned.add(p.active);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    try {
      // All three playing; the shaped viewer on the source while its link carries it, for 4 s in
      // a row (Chromium's bandwidth estimator starts a few seconds in, from below the rate).
      for (const viewer of [slow, fast, pinned]) await pollUntil('frames on every viewer', async () => (await longestFreeze(viewer.page)).frames > FPS, { timeoutMs: 20_000, intervalMs: 200 });
      await pollUntil('the pinned viewer on 180p', async () => (await pinned.layers()).active === '180p', { timeoutMs: 5_000, intervalMs: 100 });
      let onSourceSince: number | undefined;
      await pollUntil('the shaped viewer 4 s on the source at 3 Mbit/s', async () => {
        const shown = await slow.shown();
        if (shown.rendition !== 'source' || (await viewersOn('source')) !== 2) onSourceSince = undefined;
        else onSourceSince ??= Date.now();
        return onSourceSince !== undefined && Date.now() - onSourceSince >= 4_000;
      }, { timeoutMs: 25_000, intervalMs: 250 });

      // The drop: 600 kbit/s. The source (1.2 Mbit/s) and 360p (600) do not fit, 180p does.
      const droppedAt = await pageNow(slow.page);
      const dropped = performance.now();
      shaped!.limit(600, QUEUE_MS);
      await pollUntil('the shaped viewer on 180p', async () => (await viewersOn('180p')) === 2, { timeoutMs: 8_000, intervalMs: 50 });
      const downMs = Math.round(performance.now() - dropped);
      // The player says so (it reads its session's layers once a second).
      await pollUntil('the player showing 180p', async () => (await slow.shown()).rendition === '180p', { timeoutMs: 3_000, intervalMs: 100 });
      // It plays on down there: 4 s of 180p with frames coming.
      const settled = Date.now() + 4_000;
      await pollUntil('4 s on 180p', () => Date.now() >= settled, { timeoutMs: 6_000, intervalMs: 250 });
      const during = await longestFreeze(slow.page, droppedAt);
      console.log(`shaped link: on 180p ${downMs} ms after the drop to 600 kbit/s; ${during.frames} frames in the ${Math.round(during.pageNow - droppedAt)} ms since, the longest freeze ${during.longestMs} ms`);

      // The limit lifted: back up, one rung at a time, to the source.
      const lifted = performance.now();
      shaped!.limit(3000, QUEUE_MS);
      await pollUntil('the shaped viewer back on the source', async () => (await slow.shown()).rendition === 'source', { timeoutMs: 35_000, intervalMs: 250 });
      const upMs = Math.round(performance.now() - lifted);
      const overall = await longestFreeze(slow.page, droppedAt);
      const shownSinceDrop = (await slow.trace()).filter((shown) => shown.at >= droppedAt);
      console.log(`shaped link: 3 → 0.6 Mbit/s, on 180p ${downMs} ms after the drop; longest freeze ${during.longestMs} ms while limited, ${overall.longestMs} ms overall; back on the source ${upMs} ms after the limit was lifted; the player showed ${shownSinceDrop.map((s) => `${s.mode}/${s.state}/${s.rendition}`).join(' → ')}`);
      expect(downMs, 'from the drop to the fitting rendition').toBeLessThan(5_000);
      expect(overall.longestMs, 'the longest time without a new frame, from the drop to the end').toBeLessThanOrEqual(500);
      // Over WebRTC and live all along: neither a reconnect nor the HLS fallback.
      expect(new Set(shownSinceDrop.map((shown) => `${shown.mode}/${shown.state}`)), 'what the player showed from the drop on').toEqual(new Set(['webrtc/live']));
    } finally {
      sampling = false;
      await sampler.catch(() => undefined);
    }
    expect([...seen.fast], 'renditions the unshaped viewer got').toEqual(['source']);
    expect([...seen.pinned], 'renditions the pinned viewer got').toEqual(['180p']);
    expect((await fast.layers()).active).toBe('source');

    // The operator's view: viewers per rendition, and the moves counted per stream.
    const streams = (await (await st.adminFetch('/api/streams')).json()) as Array<{ name: string; state: { renditions: Array<{ name: string; viewers: number }> } }>;
    expect(streams.find((s) => s.name === 'abr')!.state.renditions.map((r) => `${r.name}:${r.viewers}`)).toEqual(['source:2', '360p:0', '180p:1']);
    const metrics = await (await fetch(`${st.ingestUrl}/metrics`)).text();
    // Labels in any order: the registry adds service="ingest" to every series.
    const switches = (direction: string) => {
      const line = metrics.split('\n').find((l) => l.startsWith('onair_ingest_rendition_switches_total{') && l.includes('stream="abr"') && l.includes(`direction="${direction}"`));
      return Number(line?.split(' ').at(-1) ?? -1);
    };
    expect(switches('down')).toBeGreaterThanOrEqual(1);
    expect(switches('up')).toBeGreaterThanOrEqual(1);
  }, 150_000);
});
