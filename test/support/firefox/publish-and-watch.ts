/**
 * Runs inside a test network namespace (test/support/netns.ts): the ingest as `npm start` runs
 * it (main.ts, default ICE settings), one Firefox that publishes its fake camera and microphone
 * over WHIP and plays the stream back over WHEP, both under `bundlePolicy: 'max-bundle'` like
 * onair's own client. Prints one line `RESULT <json>` with what the ingest and the viewer saw.
 *
 *   ip netns exec <ns> node --import tsx test/support/firefox/publish-and-watch.ts '<json options>'
 * options: { prefs?: Record<string, unknown>, env?: Record<string, string> }
 */
import type { Page } from 'puppeteer-core';
import { launchFirefox } from '../firefox';
import { pollUntil } from '../poll';
import { startStack } from '../stack';

interface Options {
  prefs?: Record<string, unknown>;
  env?: Record<string, string>;
}

export interface RtpSample {
  at: number;
  audio: { packets: number; bytes: number } | null;
  video: { packets: number; framesDecoded: number } | null;
  pair: { local: string; remote: string; remoteType: string; state: string } | null;
}

export interface PublishAndWatchResult {
  whip: { status: number; detail?: string; iceState?: string };
  whep: { status: number; detail?: string; iceState?: string };
  /** The ingest's live state once the publisher connected (or the last one seen). */
  live: { live: boolean; video: { codec: string; width: number | null } | null; audio: { codec: string; bitrateKbps: number } | null } | null;
  /** Viewer inbound-rtp, sampled over ~3 s. */
  samples: RtpSample[];
  /** The publisher's own view of its ICE pair. */
  publisherPair: RtpSample['pair'];
  error?: string;
  /** The ingest's last log lines, when something did not work. */
  ingestLog?: string[];
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;

/** The page's side: offer under max-bundle, POST, answer; the connection is kept on globalThis. */
async function negotiate(page: Page, role: 'publish' | 'watch', url: string, key: string | undefined): Promise<{ status: number; detail?: string }> {
  return page.evaluate(
    async (role, url, key) => {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      if (role === 'publish') {
        const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
        for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
      } else {
        pc.addTransceiver('video', { direction: 'recvonly' });
        pc.addTransceiver('audio', { direction: 'recvonly' });
      }
      (globalThis as unknown as { pc: RTCPeerConnection }).pc = pc;
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        setTimeout(resolve, 2000);
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      });
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...(key ? { Authorization: `Bearer ${key}` } : {}) }, body: pc.localDescription!.sdp });
      const body = await res.text();
      if (res.status !== 201) return { status: res.status, detail: body };
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      return { status: res.status };
    },
    role,
    url,
    key,
  );
}

/** inbound-rtp of both kinds and the selected candidate pair, from the page's connection. */
function sample(page: Page): Promise<RtpSample> {
  return page.evaluate(async () => {
    const pc = (globalThis as unknown as { pc: RTCPeerConnection }).pc;
    const stats = await pc.getStats();
    const out: RtpSample = { at: Date.now(), audio: null, video: null, pair: null };
    const byId = new Map<string, Record<string, unknown>>();
    stats.forEach((report: Record<string, unknown>) => byId.set(report.id as string, report));
    stats.forEach((r: Record<string, unknown>) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audio = { packets: Number(r.packetsReceived ?? 0), bytes: Number(r.bytesReceived ?? 0) };
      if (r.type === 'inbound-rtp' && r.kind === 'video') out.video = { packets: Number(r.packetsReceived ?? 0), framesDecoded: Number(r.framesDecoded ?? 0) };
      if (r.type === 'candidate-pair' && (r.selected || r.nominated) && r.state === 'succeeded') {
        const local = byId.get(r.localCandidateId as string) ?? {};
        const remote = byId.get(r.remoteCandidateId as string) ?? {};
        out.pair = { local: `${local.address}:${local.port}`, remote: `${remote.address}:${remote.port}`, remoteType: String(remote.candidateType), state: String(r.state) };
      }
    });
    return out;
  }) as Promise<RtpSample>;
}

const iceState = (page: Page) => page.evaluate(() => (globalThis as unknown as { pc: RTCPeerConnection }).pc.iceConnectionState);

async function main(): Promise<PublishAndWatchResult> {
  const stack = await startStack({ env: options.env });
  const firefox = await launchFirefox(options.prefs);
  const result: PublishAndWatchResult = { whip: { status: 0 }, whep: { status: 0 }, live: null, samples: [], publisherPair: null };
  try {
    const stream = await stack.createStream('firefox');
    const liveState = async () => {
      const res = await stack.adminFetch('/api/streams');
      const list = (await res.json()) as Array<{ name: string; state: PublishAndWatchResult['live'] }>;
      return list.find((s) => s.name === 'firefox')?.state ?? null;
    };
    const publisher = await firefox.browser.newPage();
    await publisher.goto(`${stack.ingestUrl}/api/streams/live`);
    result.whip = await negotiate(publisher, 'publish', '/whip', stream.streamKey);
    if (result.whip.status !== 201) return result;
    // Live with both tracks measured: the camera and the microphone reach the ingest.
    result.live = await pollUntil('Firefox live with audio and video', async () => {
      const live = await liveState();
      result.live = live;
      return live?.live && live.video?.width && live.audio && live.audio.bitrateKbps > 0 ? live : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 }).catch(() => result.live);
    result.whip.iceState = await iceState(publisher);
    result.publisherPair = (await sample(publisher)).pair;
    if (!result.live?.live) return result;

    const viewer = await firefox.browser.newPage();
    await viewer.goto(`${stack.ingestUrl}/api/streams/live`);
    result.whep = await negotiate(viewer, 'watch', `/whep/${stream.name}`, undefined);
    if (result.whep.status !== 201) return result;
    await pollUntil('viewer frames', async () => ((await sample(viewer)).video?.framesDecoded ?? 0) > 0, { timeoutMs: 20_000, intervalMs: 250 }).catch(() => undefined);
    result.whep.iceState = await iceState(viewer);
    // ~3 s of samples: are audio packets and decoded frames rising?
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      result.samples.push(await sample(viewer));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return result;
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    return result;
  } finally {
    if (result.error || result.whep.status !== 201 || !result.live?.live) result.ingestLog = stack.logs('ingest').slice(-30);
    await firefox.close();
    await stack.close();
  }
}

const result = await main();
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
