/**
 * Asks the source for a keyframe the moment ffmpeg has bound every RTP port of the SDP (ffmpeg
 * opens them in SDP order and reads each from a thread as soon as it is open): polled in
 * /proc/net/udp every 10 ms, bounded. The ingest then sends again the packets since the
 * publisher's last keyframe, which went to ports nobody had bound yet, or asks the publisher
 * for a new one.
 */
import type { Logger } from '@onair/service/logger';
import { boundUdpPorts } from '../ffmpeg/proc-stats';
import type { InputSource } from './input-source';
import type { Proc } from './job-run';

export interface KeyframeNudgeOptions {
  requestKeyframe: NonNullable<InputSource['requestKeyframe']>;
  /** Whether `proc` is still the job's running process. */
  live: () => boolean;
  log: Logger;
}

export async function nudgeKeyframe(proc: Proc, ports: readonly number[], { requestKeyframe, live, log }: KeyframeNudgeOptions): Promise<void> {
  const deadline = Date.now() + 3000;
  while (ports.length > 0 && live() && Date.now() < deadline) {
    if ((await boundUdpPorts(ports)).size === ports.length) {
      proc.boundMs = Date.now() - proc.spawnedAt;
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  // Repeat until ffmpeg produces output: the safety net when the first request brought nothing
  // decodable (no keyframe young enough to send again and the publisher's answer lost, or an
  // ingest that only relays a PLI — a browser publisher sends no other keyframe until it
  // changes resolution, 6–8 s later).
  while (live() && !proc.firstOutputAt) {
    try {
      log.debug({ sinceSpawnMs: Date.now() - proc.spawnedAt }, 'ffmpeg listens; requesting a keyframe');
      const answer = await requestKeyframe();
      if (proc.keyframeRequestMs === null) {
        proc.keyframeRequestMs = Date.now() - proc.spawnedAt;
        proc.replayedPackets = answer?.replayedPackets ?? null;
      }
    } catch (error) {
      log.warn({ err: error }, 'keyframe request failed');
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
