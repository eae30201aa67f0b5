/**
 * Pure summaries of WebRTC `getStats()` reports for the player's stats overlay, the
 * broadcaster's outgoing figures, tests and benches. Each function takes the current report and
 * the previous summary's raw counters, so rates (bitrate, loss, per-frame delays) are measured
 * over the last interval rather than averaged since the start.
 */

/** A stats object as returned by `RTCPeerConnection.getStats()` (loosely typed: fields vary by browser). */
export interface StatsLike {
  id: string;
  type: string;
  timestamp: number;
  [key: string]: unknown;
}

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function latestTimestamp(stats: readonly StatsLike[]): number | null {
  let latest: number | null = null;
  for (const s of stats) {
    const t = num(s.timestamp);
    if (t !== undefined && (latest === null || t > latest)) latest = t;
  }
  return latest;
}

function byId(report: readonly StatsLike[]): Map<string, StatsLike> {
  return new Map(report.map((s) => [s.id, s]));
}

/** The candidate pair in use: the transport's selected pair, else a nominated succeeded one. */
export function selectedCandidatePair(report: readonly StatsLike[]): StatsLike | undefined {
  const ids = byId(report);
  for (const s of report) {
    if (s.type !== 'transport') continue;
    const pair = ids.get(str(s.selectedCandidatePairId) ?? '');
    if (pair) return pair;
  }
  return report.find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded') ?? report.find((s) => s.type === 'candidate-pair' && s.selected === true);
}

function codecName(report: readonly StatsLike[], rtp: StatsLike | undefined): string | null {
  if (!rtp) return null;
  const codec = byId(report).get(str(rtp.codecId) ?? '');
  const mime = str(codec?.mimeType);
  return mime ? mime.replace(/^(video|audio)\//i, '') : null;
}

/** Raw counters kept between samples. */
export interface InboundCounters {
  timestamp: number;
  videoBytes: number;
  audioBytes: number;
  framesDecoded: number;
  packetsReceived: number;
  packetsLost: number;
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  totalDecodeTime: number;
}

export interface InboundSummary {
  counters: InboundCounters;
  width: number | null;
  height: number | null;
  fps: number | null;
  videoCodec: string | null;
  audioCodec: string | null;
  /** Video + audio receive rate over the last interval, kbit/s (null on the first sample). */
  bitrateKbps: number | null;
  /** Packets lost over the last interval as a percentage of expected (null on the first sample). */
  packetLossPercent: number | null;
  /** Packets lost since the start (video + audio). */
  packetsLost: number;
  framesDecoded: number;
  /** Round-trip time of the selected candidate pair, ms. */
  rttMs: number | null;
  /** Average time frames spent in the jitter buffer (last interval when possible), ms. */
  jitterBufferMs: number | null;
  /** Average decode time per frame (last interval when possible), ms. */
  decodeMs: number | null;
  /**
   * Estimate of network + receiver latency: jitter buffer + decode + RTT/2, ms. It leaves out
   * capture, encode and render, so glass-to-glass is higher; it moves when the path gets worse.
   */
  latencyMs: number | null;
}

function perUnit(totalNow: number, totalPrev: number | undefined, countNow: number, countPrev: number | undefined): number | null {
  if (totalPrev !== undefined && countPrev !== undefined && countNow > countPrev) return (totalNow - totalPrev) / (countNow - countPrev);
  return countNow > 0 ? totalNow / countNow : null;
}

/** Summarizes a receiver's report (a WHEP viewer). */
export function summarizeInbound(report: readonly StatsLike[], previous?: InboundCounters): InboundSummary {
  const video = report.find((s) => s.type === 'inbound-rtp' && (s.kind ?? s.mediaType) === 'video');
  const audio = report.find((s) => s.type === 'inbound-rtp' && (s.kind ?? s.mediaType) === 'audio');
  const pair = selectedCandidatePair(report);
  const timestamp = num(video?.timestamp) ?? num(audio?.timestamp) ?? num(report[0]?.timestamp) ?? 0;
  const counters: InboundCounters = {
    timestamp,
    videoBytes: num(video?.bytesReceived) ?? 0,
    audioBytes: num(audio?.bytesReceived) ?? 0,
    framesDecoded: num(video?.framesDecoded) ?? 0,
    packetsReceived: (num(video?.packetsReceived) ?? 0) + (num(audio?.packetsReceived) ?? 0),
    packetsLost: Math.max(0, (num(video?.packetsLost) ?? 0) + (num(audio?.packetsLost) ?? 0)),
    jitterBufferDelay: num(video?.jitterBufferDelay) ?? 0,
    jitterBufferEmittedCount: num(video?.jitterBufferEmittedCount) ?? 0,
    totalDecodeTime: num(video?.totalDecodeTime) ?? 0,
  };
  const dtMs = previous ? counters.timestamp - previous.timestamp : 0;
  let bitrateKbps: number | null = null;
  let fpsFromFrames: number | null = null;
  let packetLossPercent: number | null = null;
  if (previous && dtMs > 0) {
    const bytes = counters.videoBytes + counters.audioBytes - previous.videoBytes - previous.audioBytes;
    bitrateKbps = Math.max(0, (bytes * 8) / dtMs);
    fpsFromFrames = Math.max(0, ((counters.framesDecoded - previous.framesDecoded) * 1000) / dtMs);
    const lost = Math.max(0, counters.packetsLost - previous.packetsLost);
    const received = Math.max(0, counters.packetsReceived - previous.packetsReceived);
    packetLossPercent = lost + received > 0 ? (lost * 100) / (lost + received) : 0;
  }
  const jb = perUnit(counters.jitterBufferDelay, previous?.jitterBufferDelay, counters.jitterBufferEmittedCount, previous?.jitterBufferEmittedCount);
  const decode = perUnit(counters.totalDecodeTime, previous?.totalDecodeTime, counters.framesDecoded, previous?.framesDecoded);
  const rtt = num(pair?.currentRoundTripTime);
  const jitterBufferMs = jb === null ? null : jb * 1000;
  const decodeMs = decode === null ? null : decode * 1000;
  const rttMs = rtt === undefined ? null : rtt * 1000;
  const latencyMs = jitterBufferMs === null ? null : jitterBufferMs + (decodeMs ?? 0) + (rttMs ?? 0) / 2;
  return {
    counters,
    width: num(video?.frameWidth) ?? null,
    height: num(video?.frameHeight) ?? null,
    fps: num(video?.framesPerSecond) ?? fpsFromFrames,
    videoCodec: codecName(report, video),
    audioCodec: codecName(report, audio),
    bitrateKbps,
    packetLossPercent,
    packetsLost: counters.packetsLost,
    framesDecoded: counters.framesDecoded,
    rttMs,
    jitterBufferMs,
    decodeMs,
    latencyMs,
  };
}

export interface OutboundCounters {
  timestamp: number;
  videoBytes: number;
  audioBytes: number;
  framesEncoded: number;
}

export interface OutboundSummary {
  counters: OutboundCounters;
  width: number | null;
  height: number | null;
  fps: number | null;
  videoCodec: string | null;
  audioCodec: string | null;
  /** Video send rate over the last interval, kbit/s. */
  videoKbps: number | null;
  /** Audio send rate over the last interval, kbit/s. */
  audioKbps: number | null;
  /** Why the encoder is holding back (`bandwidth`, `cpu`, `none`, …). */
  qualityLimitation: string | null;
  /** Loss reported back by the ingest (RTCP receiver reports), fraction 0–1. */
  remoteFractionLost: number | null;
  rttMs: number | null;
  encoder: string | null;
  /**
   * When the latest RTCP receiver report from the server arrived (the newest `remote-inbound-rtp`
   * timestamp), ms; null if none yet. It stops moving when the server is gone, seconds before
   * ICE consent checks notice.
   */
  remoteReportAt: number | null;
}

/** Summarizes a sender's report (a WHIP publisher). */
export function summarizeOutbound(report: readonly StatsLike[], previous?: OutboundCounters): OutboundSummary {
  // With simulcast there are several video outbound-rtp; the largest active one is what viewers see.
  const videos = report.filter((s) => s.type === 'outbound-rtp' && (s.kind ?? s.mediaType) === 'video');
  const video = videos.sort((a, b) => (num(b.frameWidth) ?? 0) - (num(a.frameWidth) ?? 0))[0];
  const audio = report.find((s) => s.type === 'outbound-rtp' && (s.kind ?? s.mediaType) === 'audio');
  const remoteVideo = report.find((s) => s.type === 'remote-inbound-rtp' && (s.kind ?? s.mediaType) === 'video');
  const pair = selectedCandidatePair(report);
  const counters: OutboundCounters = {
    timestamp: num(video?.timestamp) ?? num(audio?.timestamp) ?? num(report[0]?.timestamp) ?? 0,
    videoBytes: videos.reduce((sum, s) => sum + (num(s.bytesSent) ?? 0), 0),
    audioBytes: num(audio?.bytesSent) ?? 0,
    framesEncoded: num(video?.framesEncoded) ?? 0,
  };
  const dtMs = previous ? counters.timestamp - previous.timestamp : 0;
  const rate = (now: number, prev: number | undefined) => (prev !== undefined && dtMs > 0 ? Math.max(0, ((now - prev) * 8) / dtMs) : null);
  const rtt = num(pair?.currentRoundTripTime) ?? num(remoteVideo?.roundTripTime);
  return {
    counters,
    width: num(video?.frameWidth) ?? null,
    height: num(video?.frameHeight) ?? null,
    fps: num(video?.framesPerSecond) ?? (previous && dtMs > 0 ? Math.max(0, ((counters.framesEncoded - previous.framesEncoded) * 1000) / dtMs) : null),
    videoCodec: codecName(report, video),
    audioCodec: codecName(report, audio),
    videoKbps: rate(counters.videoBytes, previous?.videoBytes),
    audioKbps: rate(counters.audioBytes, previous?.audioBytes),
    qualityLimitation: str(video?.qualityLimitationReason) ?? null,
    remoteFractionLost: num(remoteVideo?.fractionLost) ?? null,
    rttMs: rtt === undefined ? null : rtt * 1000,
    encoder: str(video?.encoderImplementation) ?? null,
    remoteReportAt: latestTimestamp(report.filter((x) => x.type === 'remote-inbound-rtp')),
  };
}
