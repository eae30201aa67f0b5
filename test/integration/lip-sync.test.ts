/**
 * Lip sync over WebRTC across the transcode, measured as a player would see it: a werift WHIP
 * publisher sends video and audio from one ffmpeg on one timeline (frame n's brightness is
 * n mod 100; noise in 20 ms Opus packets, each payload its own) → ingest → transcoder → a werift
 * WHEP viewer that watches the source, then the 360p rendition, then the source again.
 *
 * A player puts audio and video of one CNAME in sync with the sender reports (RFC 3550 §6.4.1):
 * each maps a track's RTP timestamps to the sender's wall clock, and samples of the same wall
 * time are played together. So, per phase, for every video frame the viewer decodes, the wall
 * time its track's reports give it less its capture time (from its brightness), against the same
 * for the audio packets (capture time from the publisher's timestamp of that payload): the A/V
 * offset. Positive = the video is dated later than the sound of the same instant, i.e. shown that
 * much behind it. Measured twice: with the latest report (a player that re-reads the mapping from
 * each), and as libwebrtc does: a line through the last 20 it sampled, one a second — which a step
 * in a mapping throws off for ~20 s, however fast the reports come. So the ingest keeps both
 * mappings continuous and holds the audio back by the transcode instead (audio-alignment.ts).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WhepLayers } from '@onair/shared/api';
import { annexBFromRtp, decodeH264 } from '../support/h264-annexb';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { startWeriftWhepViewer, type ReceivedPacket, type ReceivedSenderReport, type WeriftWhepViewer } from '../support/peers/werift-whep-viewer';
import { pollUntil } from '../support/poll';
import { renditionSets, renditionsFlowing } from '../support/renditions';
import { startStack, type Stack } from '../support/stack';

const run = promisify(execFile);
const FPS = 30;
const FRAME_MS = 1000 / FPS;
/** Frame n of the source is a flat picture of luma 20 + 2 × (n mod 100). */
const CLOCK_SOURCE = `color=c=gray:s=16x16:r=${FPS},format=yuv420p,geq=lum='mod(N,100)*2+20':cb=128:cr=128,scale=854:480:flags=neighbor`;
/** What lip sync tolerates: ITU-R BT.1359 puts detectability at +45 ms (sound early) / −125 ms (sound late). */
const TOLERANCE_MS = 40;
/** Between the rendition and the source, measured alike in one run. */
const RELATIVE_TOLERANCE_MS = 25;
/**
 * libwebrtc's line against the latest reports right after a switch. Were the video mapping to
 * step by the transcode (40–75 ms here), the line would lag most of it for seconds.
 */
const FIT_LAG_TOLERANCE_MS = 20;

async function frameNumbers(file: string): Promise<number[]> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'h264', '-i', file, '-vf', 'signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-', '-f', 'null', '-'], { maxBuffer: 64 * 1024 * 1024 });
  return [...stdout.matchAll(/YAVG=([\d.]+)/g)].map((m) => ((Math.round((Number(m[1]) - 20) / 2) % 100) + 100) % 100);
}

function framesOf(packets: ReceivedPacket[]): Array<{ timestamp: number; arrivedAt: number }> {
  const frames: Array<{ timestamp: number; arrivedAt: number }> = [];
  for (const packet of packets) if (frames.at(-1)?.timestamp !== packet.timestamp) frames.push({ timestamp: packet.timestamp, arrivedAt: packet.receivedAt });
  return frames;
}

const distance = (from: number, to: number) => ((((to - from) % 0x1_0000_0000) + 0x1_8000_0000) % 0x1_0000_0000) - 0x8000_0000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The wall time (ms) the latest report of `kind` received before `at` gives `timestamp`; undefined before the first. */
function reportedWallTime(reports: ReceivedSenderReport[], kind: 'video' | 'audio', timestamp: number, at: number, clockRate: number): { wallMs: number; reportAt: number } | undefined {
  let latest: ReceivedSenderReport | undefined;
  for (const report of reports) if (report.kind === kind && report.receivedAt <= at) latest = report;
  return latest && { wallMs: latest.ntpMs + (distance(latest.rtpTimestamp, timestamp) * 1000) / clockRate, reportAt: latest.receivedAt };
}

/**
 * The wall time libwebrtc gives `timestamp` at `at`: a least-squares line through the last 20
 * reports of the track its A/V sync sampled — the latest one, once a second (RtpStreamsSynchronizer's
 * 1 s update into RtpToNtpEstimator, video/rtp_streams_synchronizer2.cc,
 * system_wrappers/source/rtp_to_ntp_estimator.cc). Reports sent faster than that go unseen.
 */
function fittedWallTime(reports: ReceivedSenderReport[], kind: 'video' | 'audio', timestamp: number, at: number, clockRate: number): number | undefined {
  const track = reports.filter((report) => report.kind === kind && report.receivedAt <= at);
  const used: ReceivedSenderReport[] = [];
  for (let tick = track[0]?.receivedAt ?? Infinity, i = 0; tick <= at; tick += 1000) {
    while (i + 1 < track.length && track[i + 1]!.receivedAt <= tick) i += 1;
    if (used.at(-1) !== track[i]) used.push(track[i]!);
  }
  used.splice(0, Math.max(0, used.length - 20));
  if (used.length < 2) return undefined;
  const newest = used.at(-1)!;
  // Timestamps relative to the newest report's, in ms, so that no unwrapping is needed.
  const xs = used.map((report) => (distance(newest.rtpTimestamp, report.rtpTimestamp) * 1000) / clockRate);
  const ys = used.map((report) => report.ntpMs - newest.ntpMs);
  const meanX = xs.reduce((a, b) => a + b, 0) / xs.length;
  const meanY = ys.reduce((a, b) => a + b, 0) / ys.length;
  const slope = xs.reduce((sum, x, i) => sum + (x - meanX) * (ys[i]! - meanY), 0) / xs.reduce((sum, x) => sum + (x - meanX) ** 2, 0);
  return newest.ntpMs + meanY + slope * ((distance(newest.rtpTimestamp, timestamp) * 1000) / clockRate - meanX);
}

describe('lip sync across the transcode (WHEP viewer, sender reports)', () => {
  let stack: Stack;
  let publisher: WeriftH264Publisher | undefined;
  let viewer: WeriftWhepViewer | undefined;

  beforeAll(async () => {
    // The default viewer engine, named (with ONAIR_VIEWER_ENGINE=werift this passes too:
    // 360p −3 ms, the fits after the switches +3 / −7 ms).
    stack = await startStack({ transcoder: true, env: { ONAIR_VIEWER_ENGINE: 'datachannel' } });
  });
  afterAll(async () => {
    await viewer?.close();
    await publisher?.stop();
    await stack?.close();
  });

  it('the audio and the video of one instant are dated alike on the source and on a transcoded rendition', async () => {
    const stream = await stack.createStream('lipsync');
    publisher = await startWeriftH264Publisher({ whipUrl: `${stack.ingestUrl}/whip`, streamKey: stream.streamKey, lavfi: CLOCK_SOURCE, fps: FPS, audio: true, audioLavfi: 'anoisesrc=color=pink:sample_rate=48000:amplitude=0.2' });
    await renditionsFlowing(stack, stream.id, ['360p']);

    viewer = await startWeriftWhepViewer({ whepUrl: `${stack.ingestUrl}/whep/lipsync`, video: ['H264'] });
    await viewer.connected;
    const layerUrl = viewer.layerUrl!;
    const pin = async (encodingId: string | undefined) => {
      const res = await fetch(layerUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(encodingId ? { encodingId } : {}) });
      expect(res.status).toBe(200);
      const target = encodingId ?? 'source';
      await pollUntil(`the viewer on ${target}`, async () => ((await (await fetch(layerUrl)).json()) as WhepLayers).active === target, { timeoutMs: 5_000, intervalMs: 20 });
    };
    // Each phase lasts past two of the viewer's reports (one a second) after its first frame.
    const phases: Array<{ name: string; from: number }> = [];
    // What the ingest measures of the 360p transcode while the viewer is on it (GET …/renditions).
    const measuredDelays: number[] = [];
    const sampleDelay = async () => {
      const delay = (await renditionSets(stack, stream.id))[0]?.renditions.find((r) => r.name === '360p')?.transcodeDelayMs;
      if (typeof delay === 'number') measuredDelays.push(delay);
    };
    for (const [name, encodingId, seconds] of [['source', undefined, 3.5], ['360p', '360p', 6], ['source again', undefined, 4.5]] as const) {
      if (phases.length > 0) await pin(encodingId);
      phases.push({ name, from: framesOf(viewer.video).length });
      const until = framesOf(viewer.video).length + seconds * FPS;
      await pollUntil(`${seconds} s of ${name}`, async () => {
        if (name === '360p') await sampleDelay();
        return framesOf(viewer!.video).length >= until;
      }, { timeoutMs: 15_000, intervalMs: 100 });
    }

    const packets = [...viewer.video];
    const frames = framesOf(packets);
    const { frames: decoded, errors } = await decodeH264(annexBFromRtp(packets.map((p) => p.payload)), join(stack.dataDir, 'lipsync.h264'));
    expect(errors).toEqual([]);
    const numbers = await frameNumbers(join(stack.dataDir, 'lipsync.h264'));
    expect(numbers).toHaveLength(frames.length);

    // Capture times on ffmpeg's timeline (ms from its first frame / first audio sample): the
    // publisher's first timestamps are presentation time 0 of each track.
    const { video: videoZero, audio: audioZero } = publisher.firstTimestamps;
    expect(videoZero).toBeDefined();
    expect(audioZero).toBeDefined();
    const pub = publisher;
    const heard = viewer.audio.flatMap((packet) => {
      const sent = pub.audioTimestampOf(packet.payload);
      return sent === undefined ? [] : [{ packet, capturedMs: (distance(audioZero!, sent) * 1000) / 48_000 }];
    });
    // Every audio packet the viewer got is one the publisher sent, in order, numbered without a hole.
    expect(heard.length).toBe(viewer.audio.length);
    const audioSeq = viewer.audio.map((p) => p.sequenceNumber);
    expect(audioSeq.slice(1).filter((seq, i) => ((seq - audioSeq[i]! + 0x10000) % 0x10000) !== 1)).toEqual([]);
    // …and no two 20 ms packets overlap in time: across a switch the timestamps pause or go on, never back.
    const audioTs = viewer.audio.map((p) => p.timestamp);
    expect(audioTs.slice(1).map((ts, i) => distance(audioTs[i]!, ts)).filter((step) => step < 960)).toEqual([]);
    const reports = viewer.senderReports;
    const offsets = phases.map((phase, p) => {
      const end = phases[p + 1]?.from ?? frames.length;
      const firstAt = frames[phase.from]!.arrivedAt;
      const endAt = frames[end - 1]!.arrivedAt;
      // The phase's audio, and how much later than its capture each packet is dated (latest report; 20-report line).
      const audio = heard.filter(({ packet }) => packet.receivedAt >= firstAt && packet.receivedAt <= endAt);
      const audioLead = median(audio.flatMap(({ packet, capturedMs }) => {
        const wall = reportedWallTime(reports, 'audio', packet.timestamp, packet.receivedAt, 48_000);
        return wall && wall.reportAt >= firstAt ? [wall.wallMs - capturedMs] : [];
      }));
      const fittedAudio = audio.flatMap(({ packet, capturedMs }) => {
        const wall = fittedWallTime(reports, 'audio', packet.timestamp, packet.receivedAt, 48_000);
        return wall === undefined ? [] : [{ at: packet.receivedAt, lead: wall - capturedMs }];
      });
      const values: number[] = [];
      const fitted: Array<{ at: number; lead: number }> = [];
      const lateness: number[] = [];
      for (let i = phase.from; i < end; i++) {
        const wall = reportedWallTime(reports, 'video', frames[i]!.timestamp, frames[i]!.arrivedAt, 90_000);
        const fit = fittedWallTime(reports, 'video', frames[i]!.timestamp, frames[i]!.arrivedAt, 90_000);
        const mapped = wall?.wallMs ?? fit;
        if (mapped === undefined) continue;
        // Frame number: n mod 100 from the picture, the hundreds from the reported time — so an
        // offset shows as itself up to ±1.6 s (half the 3.3 s cycle), whatever the transcode delay.
        const n = numbers[i]! + 100 * Math.round(((mapped - audioLead) / FRAME_MS - numbers[i]!) / 100);
        if (fit !== undefined) fitted.push({ at: frames[i]!.arrivedAt, lead: fit - n * FRAME_MS });
        if (wall && wall.reportAt >= firstAt) values.push(wall.wallMs - n * FRAME_MS - audioLead);
        lateness.push(frames[i]!.arrivedAt - n * FRAME_MS);
      }
      // libwebrtc's line over the phase's first second (right after the switch) and over all of it.
      const fittedOffset = (until: number) => {
        const videoLeads = fitted.filter((f) => f.at <= until).map((f) => f.lead);
        const audioLeads = fittedAudio.filter((f) => f.at <= until).map((f) => f.lead);
        return videoLeads.length > 0 && audioLeads.length > 0 ? Math.round(median(videoLeads) - median(audioLeads)) : Number.NaN;
      };
      return { name: phase.name, frames: values.length, offsetMs: values.length > 0 ? Math.round(median(values)) : Number.NaN, fittedFirstSecondMs: fittedOffset(firstAt + 1000), fittedMs: fittedOffset(endAt), arrivalMs: median(lateness), size: `${decoded[phase.from]!.width}x${decoded[phase.from]!.height}` };
    });
    // What the ingest measured of the transcode while the viewer was on 360p (the median of its
    // samples), and corrected the 360p reports by.
    const transcodeDelayMs = measuredDelays.length > 0 ? median(measuredDelays) : null;
    console.log(`lip sync (video − audio, by the sender reports a viewer gets): ${offsets.map((o) => `${o.name} (${o.size}) ${o.offsetMs} ms over ${o.frames} frames`).join('; ')}; 360p transcode delay ${transcodeDelayMs} ms (${measuredDelays.length} samples${measuredDelays.length > 0 ? `, ${Math.min(...measuredDelays)}–${Math.max(...measuredDelays)}` : ''}; its frames arrive ${Math.round(offsets[1]!.arrivalMs - offsets[0]!.arrivalMs)} ms after the source's); libwebrtc's 20-report fit over each phase (its first second): ${offsets.map((o) => `${o.name} ${o.fittedMs} ms (${o.fittedFirstSecondMs} ms)`).join(', ')}`);
    expect(offsets.map((o) => o.size)).toEqual(['854x480', '640x360', '854x480']);
    for (const phase of offsets) {
      expect(phase.frames, phase.name).toBeGreaterThan(FPS);
      expect(Math.abs(phase.offsetMs), `${phase.name}: video − audio ${phase.offsetMs} ms`).toBeLessThanOrEqual(TOLERANCE_MS);
    }
    // The rendition against the source on either side of it (the publisher's own A/V jitter
    // cancels): the transcode (40–110 ms on this machine) is made up for, not left in.
    const sourceOffset = (offsets[0]!.offsetMs + offsets[2]!.offsetMs) / 2;
    expect(Math.abs(offsets[1]!.offsetMs - sourceOffset), `360p against the source: ${offsets[1]!.offsetMs} vs ${sourceOffset} ms`).toBeLessThanOrEqual(RELATIVE_TOLERANCE_MS);
    // Neither track's mapping steps at a switch (each packet is dated by when it leaves; the audio
    // leaves a transcode later instead), so libwebrtc's 20-report line is right at once, not ~20 s later.
    for (const phase of offsets) expect(Math.abs(phase.fittedMs), `${phase.name}: the 20-report fit ${phase.fittedMs} ms`).toBeLessThanOrEqual(TOLERANCE_MS);
    for (const phase of offsets.slice(1)) {
      expect(Math.abs(phase.fittedFirstSecondMs - phase.offsetMs), `${phase.name}: the 20-report fit ${phase.fittedFirstSecondMs} ms in its first second, the latest reports ${phase.offsetMs} ms`).toBeLessThanOrEqual(FIT_LAG_TOLERANCE_MS);
    }
    // The ingest's measure of the transcode (from timestamps) against the viewer's (from the
    // pictures): how much later the 360p frames arrive than the source's of the same number.
    expect(transcodeDelayMs).not.toBeNull();
    expect(Math.abs(transcodeDelayMs! - (offsets[1]!.arrivalMs - offsets[0]!.arrivalMs)), `the ingest's ${transcodeDelayMs} ms`).toBeLessThanOrEqual(RELATIVE_TOLERANCE_MS);
  });
});
