/**
 * The transcoder's renditions reach a WHEP viewer, with the real services: a werift WHIP
 * publisher (854×480, every frame's brightness = its frame number) → ingest → transcoder ffmpeg
 * (the default ladder: 480p and 360p for this source, H.264 Constrained Baseline back to the
 * ingest as RTP) → a werift WHEP viewer that pins 360p, then 480p, then goes back to the source.
 *
 * What the viewer got is rebuilt into H.264 and decoded by ffmpeg: one continuous RTP stream, each
 * rendition entered at a keyframe, no decoding error. The brightness of each decoded frame says
 * which source frame it shows, so the frames of the 360p rendition, against the source's frames
 * received by the same viewer, give the transcode delay: how far a rendition's video trails the
 * source's (and its audio, which viewers always get from the source).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WhepLayers } from '@onair/shared/api';
import { annexBFromRtp, decodeH264 } from '../support/h264-annexb';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { startWeriftWhepViewer, type ReceivedPacket, type WeriftWhepViewer } from '../support/peers/werift-whep-viewer';
import { pollUntil } from '../support/poll';
import { renditionsFlowing } from '../support/renditions';
import { startStack, type Stack } from '../support/stack';

const run = promisify(execFile);
const FPS = 30;
/** Frame n of the source is a flat picture of luma 20 + 2 × (n mod 100): a clock the transcode keeps. */
const CLOCK_SOURCE = `color=c=gray:s=16x16:r=${FPS},format=yuv420p,geq=lum='mod(N,100)*2+20':cb=128:cr=128,scale=854:480:flags=neighbor`;

/** The frame number (mod 100) each decoded frame shows, from its mean luma. */
async function frameNumbers(file: string): Promise<number[]> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'h264', '-i', file, '-vf', 'signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-', '-f', 'null', '-'], { maxBuffer: 64 * 1024 * 1024 });
  return [...stdout.matchAll(/YAVG=([\d.]+)/g)].map((m) => ((Math.round((Number(m[1]) - 20) / 2) % 100) + 100) % 100);
}

/** Packets grouped into frames (one RTP timestamp each), in sequence order, with the first packet's arrival. */
function framesOf(packets: ReceivedPacket[]): Array<{ arrivedAt: number; packets: ReceivedPacket[] }> {
  const frames: Array<{ arrivedAt: number; packets: ReceivedPacket[] }> = [];
  for (const packet of packets) {
    const last = frames.at(-1);
    if (last && last.packets[0]!.timestamp === packet.timestamp) last.packets.push(packet);
    else frames.push({ arrivedAt: packet.receivedAt, packets: [packet] });
  }
  return frames;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe('transcoder renditions → ingest → WHEP viewer', () => {
  let stack: Stack;
  let publisher: WeriftH264Publisher | undefined;
  let viewer: WeriftWhepViewer | undefined;

  beforeAll(async () => {
    stack = await startStack({ transcoder: true });
  });
  afterAll(async () => {
    await viewer?.close();
    await publisher?.stop();
    await stack?.close();
  });

  it('a viewer switching between the transcoded renditions gets one decodable stream; the renditions trail the source by the transcode', async () => {
    const stream = await stack.createStream('abr');
    publisher = await startWeriftH264Publisher({ whipUrl: `${stack.ingestUrl}/whip`, streamKey: stream.streamKey, lavfi: CLOCK_SOURCE, fps: FPS });
    const set = await renditionsFlowing(stack, stream.id, ['480p', '360p']);
    expect(set.renditions.map((r) => `${r.width}x${r.height}`)).toEqual(['854x480', '640x360']);

    viewer = await startWeriftWhepViewer({ whepUrl: `${stack.ingestUrl}/whep/abr`, video: ['H264'] });
    await viewer.connected;
    // A second and a half of the source first: the reference the renditions' delay is measured against.
    await pollUntil('1.5 s of the source', () => framesOf(viewer!.video).length >= 45, { timeoutMs: 15_000, intervalMs: 50 });
    const layerUrl = viewer.layerUrl!;
    const layers = async (body?: unknown) => {
      const res = await fetch(layerUrl, body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      return (await res.json()) as WhepLayers;
    };
    expect((await layers()).layers.map((l) => `${l.encodingId} ${l.width}x${l.height}`)).toEqual(['source 854x480', '480p 854x480', '360p 640x360']);

    const switchMs: Record<string, number> = {};
    for (const [target, seconds] of [['360p', 3], ['480p', 2], ['source', 2]] as const) {
      const asked = performance.now();
      await layers(target === 'source' ? {} : { encodingId: target });
      await pollUntil(`the viewer on ${target}`, async () => (await layers()).active === target, { timeoutMs: 5_000, intervalMs: 20 });
      switchMs[target] = Math.round(performance.now() - asked);
      if (target === '480p') {
        const streams = (await (await stack.adminFetch('/api/streams')).json()) as Array<{ name: string; state: { renditions: Array<{ name: string; viewers: number }> } }>;
        expect(streams.find((s) => s.name === 'abr')!.state.renditions.map((r) => `${r.name}:${r.viewers}`)).toEqual(['source:0', '480p:1', '360p:0']);
      }
      const until = framesOf(viewer.video).length + seconds * FPS;
      await pollUntil(`${seconds} s of ${target}`, () => framesOf(viewer!.video).length >= until, { timeoutMs: 15_000, intervalMs: 50 });
    }

    const packets = [...viewer.video];
    expect(new Set(packets.map((p) => p.ssrc)).size).toBe(1);
    for (let i = 1; i < packets.length; i++) {
      expect((packets[i]!.sequenceNumber - packets[i - 1]!.sequenceNumber + 0x10000) % 0x10000, `sequence at ${i}`).toBe(1);
      expect((packets[i]!.timestamp - packets[i - 1]!.timestamp + 0x1_0000_0000) % 0x1_0000_0000, `timestamp at ${i}`).toBeLessThan(0x8000_0000);
    }
    const file = join(stack.dataDir, 'viewer.h264');
    const { frames, errors } = await decodeH264(annexBFromRtp(packets.map((p) => p.payload)), file);
    expect(errors).toEqual([]);
    expect(frames[0]!.keyFrame).toBe(true);
    frames.forEach((frame, i) => {
      if (i > 0 && frame.width !== frames[i - 1]!.width) expect(frame.keyFrame, `frame ${i}, the first at ${frame.width}x${frame.height}`).toBe(true);
    });
    expect(frames.map((f) => `${f.width}x${f.height}`).filter((size, i, all) => size !== all[i - 1])).toEqual(['854x480', '640x360', '854x480']);

    // The transcode delay: each frame's number against its arrival, source frames vs 360p frames.
    const received = framesOf(packets);
    const numbers = await frameNumbers(file);
    expect(numbers).toHaveLength(received.length);
    const phase = (i: number) => numbers[i]! - (received[i]!.arrivedAt * FPS) / 1000;
    const reference = phase(0);
    const offsetFrames = (i: number) => ((((phase(i) - reference) % 100) + 150) % 100) - 50;
    const sourceOffsets = frames.map((f, i) => (f.width === 854 && i < frames.findIndex((g) => g.width === 640) ? offsetFrames(i) : undefined)).filter((v) => v !== undefined);
    const renditionOffsets = frames.map((f, i) => (f.width === 640 ? offsetFrames(i) : undefined)).filter((v) => v !== undefined);
    const delayMs = Math.round(((median(sourceOffsets) - median(renditionOffsets)) * 1000) / FPS);
    console.log(`renditions over WebRTC: switch (POST → active) ${JSON.stringify(switchMs)} ms; 360p trails the source by ${delayMs} ms (${renditionOffsets.length} frames against ${sourceOffsets.length})`);
    // A live rendition: behind the source by the transcode (decode, scale, encode, RTP back), not by seconds.
    expect(delayMs).toBeGreaterThan(0);
    expect(delayMs).toBeLessThan(1000);
    // A transcoded rendition starts at its next keyframe: one GOP (1 s) at most, plus polling.
    expect(switchMs['360p']).toBeLessThan(2000);
  });
});
