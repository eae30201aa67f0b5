/**
 * A viewer whose browser decodes VP8 only (Debian's Firefox without OpenH264) watching an H.264
 * stream, with the real services: instead of a 406 and HLS, its WHEP offer is answered with VP8,
 * the ingest tells the transcoder it wants a VP8 rendition (`renditions.wanted`), the transcoder
 * encodes one only while such a viewer watches, and the viewer plays it over WebRTC — VP8 that
 * decodes, starting on a keyframe. When it leaves, the VP8 encode ends.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WhepLayers } from '@onair/shared/api';
import { serialDiff } from '../../apps/ingest/src/router/rtp-rewriter';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { startWeriftWhepViewer, type WeriftWhepViewer } from '../support/peers/werift-whep-viewer';
import { pollUntil } from '../support/poll';
import { renditionSets } from '../support/renditions';
import { startStack, type Stack } from '../support/stack';
import { decodeVp8, ivfFromRtp } from '../support/vp8-ivf';

describe('a VP8-only viewer of an H.264 stream', () => {
  let stack: Stack;
  let publisher: WeriftH264Publisher | undefined;
  let viewer: WeriftWhepViewer | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onair-vp8-viewer-'));
    stack = await startStack({ transcoder: true });
  });
  afterAll(async () => {
    await viewer?.close();
    await publisher?.stop();
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sets = (streamId: string) => renditionSets(stack, streamId);

  it('gets a VP8 rendition the transcoder makes while it watches, and plays it', async () => {
    const stream = await stack.createStream('vp8-viewer');
    publisher = await startWeriftH264Publisher({ whipUrl: `${stack.ingestUrl}/whip`, streamKey: stream.streamKey, width: 640, height: 360 });
    await pollUntil('the H.264 ladder', async () => (await sets(stream.id)).some((set) => set.codec === 'H264'), { timeoutMs: 60_000, intervalMs: 250 });
    // Nobody needs VP8 yet: no VP8 encode runs.
    expect((await sets(stream.id)).map((set) => set.codec)).toEqual(['H264']);
    const live = (await (await fetch(`${stack.ingestUrl}/api/streams/live`)).json()) as Array<{ name: string; webrtcCodecs?: string[] }>;
    expect(live.find((s) => s.name === stream.name)?.webrtcCodecs).toEqual(['H264', 'VP8']);

    const askedAt = performance.now();
    viewer = await startWeriftWhepViewer({ whepUrl: `${stack.ingestUrl}/whep/${stream.name}`, video: ['VP8'] });
    expect(viewer.response.status).toBe(201);
    expect(viewer.videoCodec).toBe('VP8');
    await viewer.connected;
    const vp8 = await pollUntil('the VP8 rendition flowing', async () => (await sets(stream.id)).find((set) => set.codec === 'VP8' && set.renditions[0]!.packets > 30), { timeoutMs: 30_000, intervalMs: 250 });
    expect(vp8.renditions.map((r) => `${r.name} ${r.width}x${r.height}`)).toEqual(['360p-vp8 640x360']);
    // 2 s of media (RTP time, 90 kHz) from the first keyframe.
    await pollUntil('2 s of VP8 at the viewer', () => {
      const first = viewer!.video.find((p) => p.keyframe);
      return first !== undefined && serialDiff(first.timestamp, viewer!.video.at(-1)!.timestamp, 0x1_0000_0000) > 2 * 90_000;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    const firstKeyframeMs = Math.round(viewer.firstKeyframeAt()! - askedAt);
    const layers = (await (await fetch(viewer.layerUrl!)).json()) as WhepLayers;
    expect(layers).toMatchObject({ active: '360p-vp8' });
    expect(layers.layers.map((l) => `${l.encodingId} ${l.codec}`)).toEqual(['360p-vp8 VP8']);

    const packets = [...viewer.video].sort((a, b) => serialDiff(b.sequenceNumber, a.sequenceNumber, 0x10000));
    expect(packets[0]!.keyframe).toBe(true);
    for (let i = 1; i < packets.length; i++) expect(serialDiff(packets[i - 1]!.sequenceNumber, packets[i]!.sequenceNumber, 0x10000), `sequence at ${i}`).toBe(1);
    const { frames, errors } = await decodeVp8(ivfFromRtp(packets, { width: 640, height: 360 }), join(dir, 'viewer.ivf'));
    console.log(`[vp8 viewer] first VP8 keyframe ${firstKeyframeMs} ms after the WHEP offer; ${frames.length} frames decoded`);
    expect(errors).toEqual([]);
    // 2 s at 30 fps, less what a loaded machine's encoder drops: at least 15 fps.
    expect(frames.length).toBeGreaterThan(30);
    expect(frames[0]!.keyFrame).toBe(true);
    expect(new Set(frames.map((f) => `${f.width}x${f.height}`))).toEqual(new Set(['640x360']));

    // The viewer leaves: the VP8 encode ends (after the transcoder's linger), the ladder stays.
    await viewer.close({ delete: true });
    viewer = undefined;
    await pollUntil('the VP8 set gone', async () => (await sets(stream.id)).every((set) => set.codec !== 'VP8'), { timeoutMs: 20_000, intervalMs: 250 });
    expect((await sets(stream.id)).map((set) => set.codec)).toEqual(['H264']);
  }, 120_000);
});
