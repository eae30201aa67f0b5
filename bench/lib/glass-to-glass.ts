/**
 * Glass-to-glass scenarios: a viewer page plays the bench publisher's stream, reads the time code
 * of every displayed frame, and we summarise display − capture over the measured window, with the
 * getStats breakdown of both ends (WebRTC) or hls.js's own latency estimate (HLS).
 */
import type { BrowserContext } from 'playwright-core';
import { ViewerPage, type FrameSample, type HlsLogEntry, type PublisherPage, type StatsEntry } from './bench-pages';
import { distribution, loadAverage, type Distribution } from './stats';

export interface SampleSummary {
  /** display − capture, ms. */
  glassToGlass: Distribution;
  /** receive − capture (encode, pacing, network, ingest forward), ms; WebRTC only. */
  captureToReceive?: Distribution;
  /** display − receive (jitter buffer, decode, render), ms; WebRTC only. */
  receiveToDisplay?: Distribution;
  framesRead: number;
  framesMisread: number;
  /** Frames read per second of measurement (the publisher sends 30). */
  readFps: number;
  resolutions: Record<string, number>;
}

export function summarizeSamples(samples: readonly FrameSample[], misread: number, seconds: number): SampleSummary {
  const withReceive = samples.filter((s) => s.receive !== undefined && s.receive > 0);
  const resolutions: Record<string, number> = {};
  for (const s of samples) resolutions[`${s.width}x${s.height}`] = (resolutions[`${s.width}x${s.height}`] ?? 0) + 1;
  return {
    glassToGlass: distribution(samples.map((s) => s.display - s.capture)),
    ...(withReceive.length > samples.length / 2
      ? {
          captureToReceive: distribution(withReceive.map((s) => s.receive! - s.capture)),
          receiveToDisplay: distribution(withReceive.map((s) => s.display - s.receive!)),
        }
      : {}),
    framesRead: samples.length,
    framesMisread: misread,
    readFps: Math.round((samples.length / seconds) * 10) / 10,
    resolutions,
  };
}

function kindEntry(report: readonly StatsEntry[], type: string, kind: 'audio' | 'video'): StatsEntry | undefined {
  return report.find((s) => s.type === type && (s.kind === kind || s.mediaType === kind));
}
const videoEntry = (report: readonly StatsEntry[], type: string) => kindEntry(report, type, 'video');

const n = (v: unknown) => (typeof v === 'number' ? v : Number.NaN);
const r1 = (v: number) => (Number.isFinite(v) ? Math.round(v * 10) / 10 : null);

/** Δnumerator / Δdenominator × scale between two snapshots of one stats object. */
function ratio(a: StatsEntry | undefined, b: StatsEntry | undefined, num: string, den: string, scale = 1000): number | null {
  if (!a || !b) return null;
  const d = n(b[den]) - n(a[den]);
  return d > 0 ? r1(((n(b[num]) - n(a[num])) / d) * scale) : null;
}
const diff = (a: StatsEntry | undefined, b: StatsEntry | undefined, key: string) => (a && b ? r1(n(b[key]) - n(a[key])) : null);

/** Publisher side over the window: per-frame encode time, pacer delay, what limited quality. */
export function publisherBreakdown(before: readonly StatsEntry[], after: readonly StatsEntry[], seconds: number) {
  const a = videoEntry(before, 'outbound-rtp');
  const b = videoEntry(after, 'outbound-rtp');
  const pair = after.find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded');
  return {
    encoder: b?.encoderImplementation ?? null,
    frame: b ? `${b.frameWidth}x${b.frameHeight}` : null,
    fps: a && b ? r1((n(b.framesEncoded) - n(a.framesEncoded)) / seconds) : null,
    bitrateKbps: a && b ? r1(((n(b.bytesSent) - n(a.bytesSent)) * 8) / seconds / 1000) : null,
    /** totalEncodeTime / framesEncoded, ms per frame. */
    encodeMsPerFrame: ratio(a, b, 'totalEncodeTime', 'framesEncoded'),
    /** totalPacketSendDelay / packetsSent: time packets wait in the pacer, ms. */
    packetSendDelayMs: ratio(a, b, 'totalPacketSendDelay', 'packetsSent'),
    qualityLimitationReason: b?.qualityLimitationReason ?? null,
    qualityLimitationResolutionChanges: b?.qualityLimitationResolutionChanges ?? null,
    rttMs: pair ? r1(n(pair.currentRoundTripTime) * 1000) : null,
    retransmittedPackets: diff(a, b, 'retransmittedPacketsSent'),
    keyFramesEncoded: diff(a, b, 'keyFramesEncoded'),
    pliReceived: diff(a, b, 'pliCount'),
  };
}

/** Viewer side over the window: jitter buffer, decode, processing, losses. */
export function viewerBreakdown(before: readonly StatsEntry[], after: readonly StatsEntry[]) {
  const a = videoEntry(before, 'inbound-rtp');
  const b = videoEntry(after, 'inbound-rtp');
  return {
    decoder: b?.decoderImplementation ?? null,
    frame: b ? `${b.frameWidth}x${b.frameHeight}` : null,
    /** jitterBufferDelay / jitterBufferEmittedCount: time frames wait in the jitter buffer, ms. */
    jitterBufferMs: ratio(a, b, 'jitterBufferDelay', 'jitterBufferEmittedCount'),
    /** jitterBufferTargetDelay / emitted: the delay the jitter buffer aims for, ms. */
    jitterBufferTargetMs: ratio(a, b, 'jitterBufferTargetDelay', 'jitterBufferEmittedCount'),
    jitterBufferMinimumMs: ratio(a, b, 'jitterBufferMinimumDelay', 'jitterBufferEmittedCount'),
    /** totalDecodeTime / framesDecoded, ms. */
    decodeMsPerFrame: ratio(a, b, 'totalDecodeTime', 'framesDecoded'),
    /** totalProcessingDelay / framesDecoded: first packet in → decoded, ms. */
    processingMsPerFrame: ratio(a, b, 'totalProcessingDelay', 'framesDecoded'),
    /** totalAssemblyTime / framesAssembledFromMultiplePackets: first → last packet of a frame, ms. */
    assemblyMsPerFrame: ratio(a, b, 'totalAssemblyTime', 'framesAssembledFromMultiplePackets'),
    /** totalInterFrameDelay / framesDecoded: mean time between rendered frames, ms. */
    interFrameMs: ratio(a, b, 'totalInterFrameDelay', 'framesDecoded'),
    framesDecoded: diff(a, b, 'framesDecoded'),
    framesDropped: diff(a, b, 'framesDropped'),
    freezes: diff(a, b, 'freezeCount'),
    packetsLost: diff(a, b, 'packetsLost'),
    nacks: diff(a, b, 'nackCount'),
    plis: diff(a, b, 'pliCount'),
    audio: audioBreakdown(before, after),
  };
}

/**
 * The viewer's audio over the window: with audio, lip sync holds video until its audio is due, so
 * the audio jitter buffer (NetEq) is the floor of the video's delay. Null without an audio track.
 */
function audioBreakdown(before: readonly StatsEntry[], after: readonly StatsEntry[]) {
  const a = kindEntry(before, 'inbound-rtp', 'audio');
  const b = kindEntry(after, 'inbound-rtp', 'audio');
  if (!a || !b) return null;
  return {
    /** jitterBufferDelay / jitterBufferEmittedCount (per sample), ms. */
    jitterBufferMs: ratio(a, b, 'jitterBufferDelay', 'jitterBufferEmittedCount'),
    jitterBufferTargetMs: ratio(a, b, 'jitterBufferTargetDelay', 'jitterBufferEmittedCount'),
    jitterBufferMinimumMs: ratio(a, b, 'jitterBufferMinimumDelay', 'jitterBufferEmittedCount'),
    /** Samples NetEq stretched (time) or made up (loss) to hide late or missing packets. */
    concealedSamples: diff(a, b, 'concealedSamples'),
    packetsLost: diff(a, b, 'packetsLost'),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface G2GOptions {
  context: BrowserContext;
  pagesUrl: string;
  publisher: PublisherPage;
  warmupSeconds: number;
  seconds: number;
  log: (line: string) => void;
}

/**
 * WHEP: viewer in the same browser, breakdown from both peer connections.
 * `videoOnly`: the viewer offers no audio m-line (diagnostic for lip-sync delay).
 * `layer`: the viewer pins a transcoded rung or a simulcast layer (WHEP layer extension) before
 * the window; the source (passthrough) otherwise.
 */
export async function measureWhep(label: string, whepUrl: string, o: G2GOptions, variant: { videoOnly?: boolean; layer?: 'transcoded' | 'simulcast' } = {}) {
  const viewer = await ViewerPage.open(o.context, o.pagesUrl);
  try {
    if (variant.videoOnly) await viewer.playWhepVideoOnly(whepUrl);
    else await viewer.playWhep(whepUrl);
    await viewer.firstFrame();
    const layer = variant.layer ? await viewer.pinLayer(variant.layer) : undefined;
    if (layer) o.log(`${label}: pinned ${layer.encodingId} (${layer.width}x${layer.height}, ${layer.bitrateKbps} kbps)`);
    await sleep(o.warmupSeconds * 1000);
    await viewer.take();
    const loadBefore = loadAverage();
    // The server's hold of this viewer's sound (lip sync on a transcoded rung), at both ends of the window.
    const holds = [layer ? await viewer.audioHoldMs() : undefined];
    const [pubBefore, viewBefore] = await Promise.all([o.publisher.stats(), viewer.whepStats()]);
    await sleep(o.seconds * 1000);
    const [pubAfter, viewAfter, taken] = await Promise.all([o.publisher.stats(), viewer.whepStats(), viewer.take()]);
    holds.push(layer ? await viewer.audioHoldMs() : undefined);
    const audioHoldMs = holds.every((hold) => hold !== undefined) ? { start: holds[0]!, end: holds[1]! } : undefined;
    const summary = summarizeSamples(taken.samples, taken.misread, o.seconds);
    o.log(`${label} glass-to-glass p50 ${summary.glassToGlass.p50} ms, p95 ${summary.glassToGlass.p95} ms (${summary.framesRead} frames read, ${summary.framesMisread} misread)`);
    return {
      seconds: o.seconds,
      ...(layer ? { layer } : {}),
      ...(audioHoldMs ? { audioHoldMs } : {}),
      ...summary,
      publisher: publisherBreakdown(pubBefore, pubAfter, o.seconds),
      viewer: viewerBreakdown(viewBefore, viewAfter),
      load: { before: loadBefore, after: loadAverage() },
    };
  } finally {
    await viewer.close();
  }
}

export function summarizeHlsLog(log: readonly HlsLogEntry[]) {
  return {
    /** hls.latency: the player's distance from the live edge of the playlist, ms. */
    hlsLatencyMs: distribution(log.map((l) => l.latency * 1000).filter((v) => v > 0)),
    hlsTargetLatencyMs: distribution(log.map((l) => l.targetLatency * 1000).filter((v) => v > 0)),
    /** hls.drift: playlist edge advance vs wall clock (1 = on time). */
    drift: distribution(log.map((l) => l.drift), 3),
    bufferAheadMs: distribution(log.map((l) => l.buffer * 1000)),
    playbackRate: distribution(log.map((l) => l.rate), 3),
    levels: [...new Set(log.map((l) => l.level))],
  };
}

/** HLS through hls.js from the transcoder origin, with the given hls.js config. */
/**
 * LL-HLS / HLS in hls.js with `config`, or with `'site'`: the site's own HLS mode
 * (apps/web/lib/hls-playback.ts, its settings and its latency hold), as a /watch viewer gets it.
 */
export async function measureHls(label: string, playlistUrl: string, config: Record<string, unknown> | 'site', o: G2GOptions) {
  const viewer = await ViewerPage.open(o.context, o.pagesUrl);
  try {
    const opened = performance.timeOrigin + performance.now();
    if (config === 'site') await viewer.playSiteHls(playlistUrl);
    else await viewer.playHls(playlistUrl, config);
    const first = await viewer.firstFrame(30_000);
    await sleep(o.warmupSeconds * 1000);
    await viewer.take();
    await viewer.hlsInfo(); // drop warm-up log entries
    const loadBefore = loadAverage();
    await sleep(o.seconds * 1000);
    const [taken, info] = await Promise.all([viewer.take(), viewer.hlsInfo()]);
    const summary = summarizeSamples(taken.samples, taken.misread, o.seconds);
    o.log(`${label} glass-to-glass p50 ${summary.glassToGlass.p50} ms, p95 ${summary.glassToGlass.p95} ms (${summary.framesRead} frames, hls.latency p50 ${summarizeHlsLog(info.log).hlsLatencyMs.p50} ms)`);
    return {
      playlist: playlistUrl.replace(/^https?:\/\/[^/]+/, ''),
      hlsConfig: info.config,
      seconds: o.seconds,
      ...summary,
      hls: { ...summarizeHlsLog(info.log), levelsOffered: info.levels, errors: info.errors },
      startMs: Math.round(first - opened),
      videoQuality: taken.quality,
      load: { before: loadBefore, after: loadAverage() },
    };
  } finally {
    await viewer.close();
  }
}
