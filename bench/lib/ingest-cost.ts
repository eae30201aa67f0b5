/**
 * What ingesting costs the ingest process: its CPU (utime + stime from /proc/<pid>/stat) over a
 * window against the bytes its publishers sent in that window (`onair_ingest_bytes_received_total`,
 * RTP as received or packetized). Measured with no viewer attached (the transcoder's forward is
 * there in every run), so WHIP and WebTransport publishers compare like for like.
 */
import { readFileSync } from 'node:fs';

const CLK_TCK = 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

async function bytesReceived(ingestUrl: string): Promise<number> {
  const text = await (await fetch(`${ingestUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('onair_ingest_bytes_received_total'));
  return Number(line?.split(/\s+/).pop() ?? Number.NaN);
}

export interface IngestCost {
  seconds: number;
  /** Share of one core, %. */
  cpuPercent: number;
  ingestMbps: number;
  /** % of a core per Mbit/s ingested. */
  cpuPercentPerMbps: number;
}

export async function measureIngestCost(ingestUrl: string, pid: number, seconds: number): Promise<IngestCost> {
  const [cpu0, bytes0, t0] = [cpuSeconds(pid), await bytesReceived(ingestUrl), performance.now()];
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const [cpu1, bytes1, t1] = [cpuSeconds(pid), await bytesReceived(ingestUrl), performance.now()];
  const elapsed = (t1 - t0) / 1000;
  const cpuPercent = ((cpu1 - cpu0) / elapsed) * 100;
  const ingestMbps = ((bytes1 - bytes0) * 8) / 1e6 / elapsed;
  const round = (v: number) => Math.round(v * 100) / 100;
  return { seconds: round(elapsed), cpuPercent: round(cpuPercent), ingestMbps: round(ingestMbps), cpuPercentPerMbps: round(cpuPercent / ingestMbps) };
}
