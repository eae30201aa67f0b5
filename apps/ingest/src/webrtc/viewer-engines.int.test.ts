/**
 * The same WHEP viewer contract on every viewer engine (ONAIR_VIEWER_ENGINE; werift with and
 * without the native send path, ONAIR_NATIVE_SEND): a real ingest, a werift H.264 publisher,
 * werift players. What a player relies on: the first packet starts a keyframe, numbering without
 * holes, a PLI brings a new keyframe, and leaving frees the session.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection, RTCRtpCodecParameters } from 'werift';
import { pollUntil } from '../../../../test/support/poll';
import { startWeriftH264Publisher } from '../../../../test/support/peers/werift-h264-publisher';
import { startWeriftWhepViewer } from '../../../../test/support/peers/werift-whep-viewer';
import { createIngest, type Ingest } from '../app';
import { loadIngestConfig } from '../config';
import { viewerEngineFor } from './create-engine';
import { nativeSrtpSend } from './native-send';

const native = nativeSrtpSend() !== undefined;

describe.each([
  { engine: 'datachannel', nativeSend: 'off' },
  { engine: 'werift', nativeSend: 'off' },
  // Where the addon cannot be built (no C compiler) the JS path above is what werift viewers get.
  ...(native ? [{ engine: 'werift', nativeSend: 'auto' }] : []),
] as const)('WHEP viewers on $engine, native send $nativeSend', ({ engine, nativeSend }) => {
  let ingest: Ingest;
  let base: string;
  let dataDir: string;
  let plisAtPublisher = 0;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), `onair-viewer-${engine}-`));
    const config = loadIngestConfig({ ONAIR_DATA_DIR: dataDir, ONAIR_INGEST_PORT: '0', ONAIR_WEBTRANSPORT_PORT: 'off', ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_ADMIN_TOKEN: 'test-admin-token-0123456789', ONAIR_VIEWER_ENGINE: engine, ONAIR_NATIVE_SEND: nativeSend });
    expect(viewerEngineFor(config, nativeSend === 'auto')).toBe(engine);
    ingest = await createIngest(config, pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' }));
    base = `http://127.0.0.1:${(await ingest.listen()).port}`;
    const record = await ingest.store.create('cam');
    const publisher = await startWeriftH264Publisher({ whipUrl: `${base}/whip`, streamKey: record.streamKey });
    cleanups.push(() => publisher.stop());
    publisher.pc.getSenders()[0]!.onPictureLossIndication.subscribe(() => (plisAtPublisher += 1));
    await pollUntil('stream live', () => ingest.media.isLive(record.id), { timeoutMs: 10_000 });
  });

  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await ingest?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("two players each get a keyframe first, then every packet in order; a player's PLI reaches the publisher; DELETE frees the session", async () => {
    const viewers = await Promise.all([0, 1].map(() => startWeriftWhepViewer({ whepUrl: `${base}/whep/cam`, video: ['H264'] })));
    cleanups.push(...viewers.map((viewer) => () => viewer.close()));
    for (const viewer of viewers) {
      await pollUntil('first keyframe', () => viewer.firstKeyframeAt(), { timeoutMs: 5_000, intervalMs: 10 });
      await pollUntil('90 packets', () => viewer.video.length >= 90, { timeoutMs: 5_000 });
      expect(viewer.video[0]!.keyframe).toBe(true);
      const steps = viewer.video.slice(1).map((p, i) => (p.sequenceNumber - viewer.video[i]!.sequenceNumber + 0x10000) % 0x10000);
      expect(steps.filter((step) => step !== 1)).toEqual([]);
      expect(new Set(viewer.video.map((p) => p.ssrc)).size).toBe(1);
    }
    const record = (await ingest.store.findByName('cam'))!;
    expect(ingest.media.liveState(record.id).viewers.whep).toBe(2);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(new RegExp(`^onair_ingest_info\\{viewer_engine="${engine}",native_send="${nativeSend === 'auto' ? 'yes' : 'no'}"[^}]*\\} 1$`, 'm'));
    if (nativeSend === 'auto') expect(nativeSrtpSend()!.stats().sent).toBeGreaterThanOrEqual(180);

    // The joins' own keyframe requests are over once both have their keyframe: a PLI now is the player's.
    const [first, second] = viewers as [typeof viewers[0], typeof viewers[0]];
    const before = plisAtPublisher;
    first.requestKeyframe();
    await pollUntil('the PLI relayed to the publisher', () => plisAtPublisher > before, { timeoutMs: 5_000, intervalMs: 10 });

    await second.close({ delete: true });
    await pollUntil('one viewer left', () => ingest.media.liveState(record.id).viewers.whep === 1, { timeoutMs: 5_000 });
    const count = first.video.length;
    await pollUntil('the other viewer still receives', () => first.video.length > count + 30, { timeoutMs: 5_000 });
  });
  it('answers as the DTLS server (passive), and ICE-lite on werift: the player starts the handshake once its side of the pair is up', async () => {
    const pc = new RTCPeerConnection({ codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, payloadType: 102, parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' })], audio: [] } });
    cleanups.push(() => pc.close());
    pc.addTransceiver('video', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    expect(pc.localDescription!.sdp).toMatch(/^a=setup:actpass\r?$/m);
    const res = await fetch(`${base}/whep/cam`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription!.sdp });
    expect(res.status).toBe(201);
    const answer = await res.text();
    await fetch(new URL(res.headers.get('location')!, base), { method: 'DELETE' });
    expect(answer).toMatch(/^a=setup:passive\r?$/m);
    if (engine === 'werift') expect(answer).toMatch(/^a=ice-lite\r?$/m);
  });

  it('an offer with a port count on the m-line (RFC 8866 §5.14) is answered, or refused as a 400 invalid_sdp — never a 500 (werift threw past our SDP checks)', async () => {
    const pc = new RTCPeerConnection({ codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, payloadType: 102, parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' })], audio: [] } });
    cleanups.push(() => pc.close());
    pc.addTransceiver('video', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const offer = pc.localDescription!.sdp.replace(/^m=video (\d+) /m, 'm=video $1/2 ');
    expect(offer).toMatch(/^m=video \d+\/2 /m);
    const res = await fetch(`${base}/whep/cam`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
    // libdatachannel answers it; werift refuses it.
    expect(res.status).toBe(engine === 'datachannel' ? 201 : 400);
    if (res.status === 201) await fetch(new URL(res.headers.get('location')!, base), { method: 'DELETE' });
    else expect(await res.json()).toMatchObject({ code: 'invalid_sdp' });
  });
});

describe('viewerEngineFor', () => {
  it.each([
    ['auto', ['127.0.0.1'], true, 'werift'],
    ['auto', ['127.0.0.1'], false, 'datachannel'],
    ['auto', ['192.0.2.10', '2001:db8::10'], false, 'werift'],
    ['datachannel', ['127.0.0.1'], true, 'datachannel'],
    ['datachannel', ['192.0.2.10', '2001:db8::10'], false, 'werift'],
    ['werift', ['127.0.0.1'], false, 'werift'],
  ] as const)('%s with ICE hosts %j, native send path %s → %s', (viewerEngine, hosts, nativeSend, expected) => {
    expect(viewerEngineFor({ viewerEngine, ice: { hosts: [...hosts], portRange: undefined, servers: [], allowPrivate: false, localRelay: false, publisherPorts: undefined, viewerPorts: undefined } }, nativeSend)).toBe(expected);
  });
});
