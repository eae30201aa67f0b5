/**
 * The state a TranscodeJob keeps of one run (input, plan, packager, outputs; it outlives ffmpeg
 * restarts) and of one ffmpeg process in it.
 */
import type { ChildProcess } from 'node:child_process';
import type { RtpOutputs } from '../ffmpeg/build-args';
import type { FfmpegCommand } from '../ffmpeg/command';
import type { OutputSockets } from '../ffmpeg/output-sockets';
import type { parseSdpInfo } from '../ffmpeg/sdp-info';
import type { PlannedRendition, SourceInfo } from '../ladder/plan-renditions';
import type { PackagerLike } from './job-types';
import type { ProcessAudio } from './process-audio';

export interface Run {
  workDir: string;
  sdpPath: string;
  source: SourceInfo;
  renditions: PlannedRendition[];
  packager: PackagerLike;
  sinks: Map<string, { push(chunk: Buffer): void }>;
  sockets: OutputSockets;
  /** The RTP ports the SDP names (video first); ffmpeg binds them, and RTP + 1 for RTCP, in this order. */
  rtpPorts: number[];
  /** Where the encoded rungs also go as RTP (the ingest's renditions), when announced. */
  rtp: RtpOutputs | undefined;
}

export interface Proc {
  command: FfmpegCommand;
  child: ChildProcess | null;
  spawnedAt: number;
  firstOutputAt: number | null;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  killReason: string | null;
  done: Promise<void>;
  /** Log positions at spawn and at first output, so a summary only quotes this process's lines. */
  linesAtSpawn: number;
  linesAtOutput: number | null;
  /** Start-up marks, ms after spawn: every RTP port bound, the first keyframe request answered. */
  boundMs: number | null;
  keyframeRequestMs: number | null;
  replayedPackets: number | null;
  /** Its audio on the way to the HLS audio rendition (held until its first video). */
  audio: ProcessAudio;
}

/** The SDP's RTP ports, video first (the order ffmpeg opens them in). */
export function rtpPortsOf(info: ReturnType<typeof parseSdpInfo>): number[] {
  return [info.video?.port, info.audio?.port].filter((port): port is number => port !== undefined && port > 0);
}
