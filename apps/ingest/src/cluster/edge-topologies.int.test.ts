/**
 * How edges are laid out, in-process ingest nodes on one Redis: a redirecting node (307 to the
 * origin, RFC 9725), a chain (an edge pulling through a parent edge), a cycle of upstreams (508
 * loop_detected, not a hang), a pull that ends a while after its last viewer, and a viewer that
 * keeps its session while the stream goes offline and comes back on another node.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../test/support/poll';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../../../../test/support/peers/werift-h264-publisher';
import { startWeriftWhepViewer, type WeriftWhepViewer } from '../../../../test/support/peers/werift-whep-viewer';
import { startRedisServer, type TestRedis } from '../../../../test/support/redis-server';
import { createIngest, type Ingest } from '../app';
import { type IngestConfig, loadIngestConfig } from '../config';

const ADMIN = 'test-admin-token-0123456789';
const IDLE_MS = 1_500;
let redis: TestRedis;
const nodes = new Map<string, { ingest: Ingest; url: string; config: IngestConfig }>();
const cleanups: Array<() => Promise<unknown>> = [];

async function startNode(id: string, env: Record<string, string> = {}, upstreamOf?: string): Promise<void> {
  const config = loadIngestConfig({ ONAIR_DATA_DIR: '/tmp/unused-in-cluster', ONAIR_INGEST_PORT: '0', ONAIR_ICE_HOSTS: '127.0.0.1', ONAIR_WEBTRANSPORT_PORT: 'off', ONAIR_ADMIN_TOKEN: ADMIN, ONAIR_REDIS_URL: redis.url, ONAIR_NODE_ID: id, ...env });
  config.cluster!.edgeIdleMs = IDLE_MS;
  if (upstreamOf) config.cluster!.edgeUpstream = nodes.get(upstreamOf)!.url;
  const ingest = await createIngest(config, pino({ level: process.env.ONAIR_TEST_LOG ?? 'silent' }).child({ node: id }));
  const url = `http://127.0.0.1:${(await ingest.listen()).port}`;
  nodes.set(id, { ingest, url, config });
}

const node = (id: string) => nodes.get(id)!;
const describeNode = (id: string) => node(id).ingest.cluster!.describe() as { pulls: Array<{ streamId: string; upstream: string; connected: boolean; renditions: string[] }>; edgesServed: Record<string, string[]> };

async function watch(id: string, name: string): Promise<WeriftWhepViewer> {
  const viewer = await startWeriftWhepViewer({ whepUrl: `${node(id).url}/whep/${name}`, video: ['H264'] });
  cleanups.push(() => viewer.close({ delete: true }));
  return viewer;
}

function plays(viewer: WeriftWhepViewer, what: string, more = 45): Promise<unknown> {
  const from = viewer.video.length;
  return pollUntil(what, () => viewer.firstKeyframeAt() !== undefined && viewer.video.length >= from + more, { timeoutMs: 20_000, intervalMs: 50 });
}

let stream: { id: string; name: string; streamKey: string };
let publisher: WeriftH264Publisher;

beforeAll(async () => {
  redis = await startRedisServer();
  await startNode('origin');
  await startNode('redirector', { ONAIR_EDGE_MODE: 'redirect' });
  await startNode('region');
  await startNode('local', {}, 'region');
  await startNode('loop-x');
  await startNode('loop-y', {}, 'loop-x');
  // Close the cycle: x pulls through y, y through x.
  node('loop-x').config.cluster!.edgeUpstream = node('loop-y').url;
  stream = await node('region').ingest.store.create('topo');
  publisher = await startWeriftH264Publisher({ whipUrl: `${node('origin').url}/whip`, streamKey: stream.streamKey, width: 320, height: 180 });
  await pollUntil('the origin live', () => node('origin').ingest.media.isLive(stream.id), { timeoutMs: 20_000 });
}, 90_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await publisher?.stop({ delete: true }).catch(() => undefined);
  await Promise.all([...nodes.values()].map(({ ingest }) => ingest.close()));
  await redis?.close();
}, 60_000);

describe('edge topologies', () => {
  it('ONAIR_EDGE_MODE=redirect: 307 to the origin\'s WHEP URL, which a WHEP client follows and plays; no pull', async () => {
    const res = await fetch(`${node('redirector').url}/whep/topo`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n', redirect: 'manual' });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe(`${node('origin').url}/whep/topo`);
    // fetch keeps method and body across a 307, as RFC 9110 §15.4.8 requires.
    await plays(await watch('redirector', 'topo'), 'a viewer sent from the redirector');
    expect(describeNode('redirector').pulls).toEqual([]);
  });

  it('an edge with ONAIR_EDGE_UPSTREAM pulls through its parent edge; the origin serves only the parent', async () => {
    await plays(await watch('local', 'topo'), 'a viewer on the chained edge');
    expect(describeNode('local').pulls).toEqual([{ streamId: stream.id, upstream: 'upstream', connected: true, renditions: [] }]);
    expect(describeNode('region').pulls).toEqual([{ streamId: stream.id, upstream: 'origin', connected: true, renditions: [] }]);
    expect(describeNode('region').edgesServed[stream.id]).toEqual(['local']);
    expect(describeNode('origin').edgesServed[stream.id]).toEqual(['region']);
  });

  it('upstreams in a cycle: the viewer gets 508 loop_detected at once, nothing is left pulling', async () => {
    const started = performance.now();
    const res = await fetch(`${node('loop-x').url}/whep/topo`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: (await offerSdp()) });
    expect(res.status).toBe(508);
    expect(((await res.json()) as { code: string }).code).toBe('loop_detected');
    expect(performance.now() - started).toBeLessThan(5_000);
    await pollUntil('no pull left on the cycle', () => describeNode('loop-x').pulls.length === 0 && describeNode('loop-y').pulls.length === 0, { timeoutMs: 5_000 });
  });

  it('a pull ends a while after its last viewer leaves, and its parent\'s pull after that', async () => {
    const viewers = cleanups.splice(0);
    for (const close of viewers) await close();
    const left = performance.now();
    await pollUntil('the chained edge to stop pulling', () => describeNode('local').pulls.length === 0, { timeoutMs: 10_000 });
    const localMs = performance.now() - left;
    await pollUntil('the parent edge to stop pulling', () => describeNode('region').pulls.length === 0, { timeoutMs: 10_000 });
    const regionMs = performance.now() - left;
    expect(localMs).toBeGreaterThan(IDLE_MS - 200);
    await pollUntil('the origin to serve no edge', () => describeNode('origin').edgesServed[stream.id] === undefined, { timeoutMs: 10_000 });
    console.log(`[cluster] idle pulls (${IDLE_MS} ms): the chained edge stopped ${Math.round(localMs)} ms after its last viewer left, its parent ${Math.round(regionMs)} ms`);
  });

  it('a viewer on an edge keeps its session while the stream goes offline and comes back on another node', async () => {
    const viewer = await watch('region', 'topo');
    await plays(viewer, 'the viewer on the edge');
    await publisher.stop({ delete: true });
    await pollUntil('the edge to drop its pull (origin offline)', () => describeNode('region').pulls.length === 0, { timeoutMs: 10_000 });
    expect(node('region').ingest.media.isLive(stream.id)).toBe(false);
    publisher = await startWeriftH264Publisher({ whipUrl: `${node('redirector').url}/whip`, streamKey: stream.streamKey, width: 320, height: 180 });
    await plays(viewer, 'the same viewer session, from the new origin');
    expect(describeNode('region').pulls).toEqual([{ streamId: stream.id, upstream: 'redirector', connected: true, renditions: [] }]);
  });
});

/** A real recvonly offer (the loop is found before any media, but the offer must parse). */
async function offerSdp(): Promise<string> {
  const { RTCPeerConnection, RTCRtpCodecParameters } = await import('werift');
  const pc = new RTCPeerConnection({ codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, parameters: 'packetization-mode=1;profile-level-id=42e01f' })], audio: [] }, iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'], iceInterfaceAddresses: { udp4: '127.0.0.1' } });
  pc.addTransceiver('video', { direction: 'recvonly' });
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription!.sdp;
  await pc.close();
  return sdp;
}
