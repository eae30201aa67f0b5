/**
 * A forward (the ingest sending a live stream's RTP to the transcoder's ffmpeg) ends with the
 * transcoder that asked for it. Real services: the transcoder is SIGKILLed while it transcodes;
 * its forward must stop within the lease's grace period, and not one packet may reach the dead
 * ffmpeg's ports after that (any process that binds them later would receive the stream). A new
 * transcoder then starts clean: one forward, its own.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeriftH264Publisher, type WeriftH264Publisher } from '../support/peers/werift-h264-publisher';
import { pollUntil } from '../support/poll';
import { startStack, type Stack } from '../support/stack';

/** The ingest's grace between a transcoder's event connection dropping and its forwards ending. */
const LEASE_GRACE_MS = 5_000;

interface JobRow {
  stream: string;
  state: string;
  input: string;
  startedAt: string | null;
}

interface ForwardRow {
  id: string;
  videoPort?: number;
  audioPort?: number;
  owner: string;
  instance: string;
  packetsSent: number;
}

/** A UDP socket on a port a killed ffmpeg held, counting what still arrives there. */
async function listenOn(port: number): Promise<{ socket: Socket; arrivals: number[] }> {
  const arrivals: number[] = [];
  const socket = await pollUntil(`port ${port} free (the killed transcoder's ffmpeg gone)`, () =>
    new Promise<Socket | undefined>((resolve) => {
      const candidate = createSocket('udp4');
      candidate.once('error', () => {
        candidate.close();
        resolve(undefined);
      });
      candidate.bind(port, '127.0.0.1', () => resolve(candidate));
    }), { timeoutMs: 10_000, intervalMs: 50 });
  socket.on('message', () => arrivals.push(Date.now()));
  return { socket, arrivals };
}

describe('forwards end with their transcoder', () => {
  let stack: Stack;
  let publisher: WeriftH264Publisher | undefined;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    stack = await startStack({ transcoder: true });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await publisher?.stop();
    await stack?.close();
  });

  const runningJob = async (stream: string, after?: string | null): Promise<JobRow | undefined> => {
    const res = await fetch(`${stack.transcoderUrl}/api/jobs`, { headers: { Authorization: `Bearer ${stack.adminToken}` }, signal: AbortSignal.timeout(5_000) });
    const job = ((await res.json()) as { jobs: JobRow[] }).jobs.find((j) => j.stream === stream);
    return job?.state === 'running' && job.startedAt !== after ? job : undefined;
  };
  const forwardsOf = async (streamId: string): Promise<ForwardRow[]> => {
    const res = await stack.adminFetch(`/api/streams/${streamId}/forwards`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { forwards: ForwardRow[] }).forwards;
  };

  it('stops sending to a SIGKILLed transcoder within the grace period; a restarted one starts clean', async () => {
    const stream = await stack.createStream('lease');
    publisher = await startWeriftH264Publisher({ whipUrl: `${stack.ingestUrl}/whip`, streamKey: stream.streamKey });
    const job = await pollUntil('the transcode to run', () => runningJob('lease'), { timeoutMs: 30_000, intervalMs: 200 });
    const [, videoPort, audioPort] = /udp (\d+)\/(\d+)/.exec(job.input)!.map(Number);
    expect(videoPort).toBeGreaterThan(0);

    // The transcoder's ffmpeg, by its parent.
    const transcoderPid = stack.pid('transcoder')!;
    const ffmpegPids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(transcoderPid) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'ffmpeg';
      } catch {
        return false;
      }
    });
    expect(ffmpegPids).toHaveLength(1);

    await stack.kill('transcoder');
    const killedAt = Date.now();
    // ffmpeg dies with its transcoder (PR_SET_PDEATHSIG), at once: an orphan held the RTP ports
    // and kept waiting for input nobody would send it again.
    const gone = (pid: string) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z'); // dead, not reaped yet
      } catch {
        return true;
      }
    };
    await pollUntil('the killed transcoder\'s ffmpeg to be gone', () => gone(ffmpegPids[0]!) || undefined, { timeoutMs: 1_000, intervalMs: 20 });
    const listeners = await Promise.all([videoPort!, audioPort!].map(listenOn));
    sockets.push(...listeners.map((l) => l.socket));

    // Watch the old ports for the grace period and 3 s more: a fixed window, this is a measurement.
    const windowEnd = killedAt + LEASE_GRACE_MS + 3_000;
    await new Promise((resolve) => setTimeout(resolve, windowEnd - Date.now()));
    const arrivals = listeners.flatMap((l) => l.arrivals);
    const late = arrivals.filter((t) => t > killedAt + LEASE_GRACE_MS + 1_000);
    const last = arrivals.length > 0 ? Math.max(...arrivals) - killedAt : null;
    console.log(`packets at the dead transcoder's ports: ${arrivals.length} after the kill (the last at +${last} ms), ${late.length} later than grace + 1 s`);
    expect(late).toEqual([]);
    expect(await forwardsOf(stream.id)).toEqual([]);

    // A new transcoder: one forward, its own, and the stream transcoded again.
    await stack.start('transcoder');
    await pollUntil('the transcode to run again', () => runningJob('lease', job.startedAt), { timeoutMs: 30_000, intervalMs: 200 });
    const forwards = await forwardsOf(stream.id);
    expect(forwards).toHaveLength(1);
    expect(forwards[0]!.packetsSent).toBeGreaterThan(0);
  });
});
