/**
 * Firefox (Debian's firefox-esr, driven over WebDriver BiDi by puppeteer-core) publishes its fake
 * camera and microphone over WHIP and watches the stream over WHEP, against the ingest as
 * `npm start` runs it, on one machine. The machine is a network namespace the test makes, whose
 * only non-loopback address is a veth address the test chose (10.213.0.2), so Firefox's host
 * candidates are that address and never a real LAN address.
 *
 * Under max-bundle Firefox offers its second m-line as port 0 + a=bundle-only (RFC 8843 §6): the
 * microphone when publishing, the audio when watching. Both must arrive.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublishAndWatchResult } from '../support/firefox/publish-and-watch';
import { FIREFOX_PATH } from '../support/firefox';
import { canCreateNetns, createNetns, type Netns } from '../support/netns';
import { existsSync } from 'node:fs';

const root = resolve(import.meta.dirname, '../..');
// Network namespaces need root; npm test runs as root where it installs its packages (CI does).
const runnable = canCreateNetns() && existsSync(FIREFOX_PATH);

async function publishAndWatch(ns: Netns, options: { prefs?: Record<string, unknown>; env?: Record<string, string> }): Promise<PublishAndWatchResult> {
  const child = ns.spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--import', 'tsx', 'test/support/firefox/publish-and-watch.ts', JSON.stringify(options)], { cwd: root, env: { ...process.env, HOME: process.env.HOME ?? '/root' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`the Firefox scenario printed no result (exit ${code}):\n${stdout.slice(-3000)}\n${stderr.slice(-3000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as PublishAndWatchResult;
}

function rising(samples: PublishAndWatchResult['samples'], pick: (s: PublishAndWatchResult['samples'][number]) => number): { first: number; last: number } {
  return { first: samples.length > 0 ? pick(samples[0]!) : 0, last: samples.length > 0 ? pick(samples.at(-1)!) : 0 };
}

describe.skipIf(!runnable)('Firefox publishes and watches (video and audio) on one machine', () => {
  let ns: Netns;
  beforeAll(() => {
    ns = createNetns(`onair-ff${process.pid % 10000}`, '10.213.0.2/24');
  });
  afterAll(() => ns?.remove());

  function expectPublishedAndWatched(result: PublishAndWatchResult): void {
    expect(result.error).toBeUndefined();
    expect(result.whip.status).toBe(201);
    // The camera (VP8: Debian's Firefox has no H.264 without the OpenH264 download) and the
    // microphone reach the ingest.
    expect(result.live).toMatchObject({ live: true, video: { codec: 'VP8' }, audio: { codec: 'opus' } });
    expect(result.live!.audio!.bitrateKbps).toBeGreaterThan(0);
    expect(result.whep.status).toBe(201);
    // The viewer decodes frames and receives audio, both rising over ~3 s.
    const audioPackets = rising(result.samples, (s) => s.audio?.packets ?? 0);
    const audioBytes = rising(result.samples, (s) => s.audio?.bytes ?? 0);
    const frames = rising(result.samples, (s) => s.video?.framesDecoded ?? 0);
    expect(audioPackets.last).toBeGreaterThan(audioPackets.first);
    expect(audioBytes.last).toBeGreaterThan(audioBytes.first);
    expect(frames.last).toBeGreaterThan(frames.first);
  }

  const summary = (result: PublishAndWatchResult) => JSON.stringify({ whip: result.whip, whep: result.whep, live: result.live, publisherPair: result.publisherPair, first: result.samples[0], last: result.samples.at(-1), error: result.error, ingestLog: result.ingestLog });

  // Firefox leaves loopback out of its candidates (media.peerconnection.ice.loopback: false) and
  // will not pair its host address with the ingest's 127.0.0.1 (nICEr's loopback/non-loopback
  // rule); its host addresses are mDNS names. The ingest's default is media on 127.0.0.1 only.
  it('with default settings on both sides: Firefox\'s default ICE preferences, the ingest\'s default ICE hosts', async () => {
    const result = await publishAndWatch(ns, { env: { ONAIR_ICE_HOSTS: '' } });
    console.log(`[firefox, defaults] ${summary(result)}`);
    expectPublishedAndWatched(result);
  });

  it('media on the namespace\'s own address (ONAIR_ICE_HOSTS): the microphone and the viewer\'s audio, both bundle-only m-lines, get through', async () => {
    const result = await publishAndWatch(ns, { env: { ONAIR_ICE_HOSTS: ns.address } });
    console.log(`[firefox, ICE on ${ns.address}] ${summary(result)}`);
    expectPublishedAndWatched(result);
  });
});
