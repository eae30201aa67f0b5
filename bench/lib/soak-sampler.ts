/**
 * What the soak reads of a service, now: resident memory, V8 heap in use, open file descriptors
 * and event-loop delay (p99 and max since the previous read), from the service's own `/metrics`
 * (prom-client's process and Node.js metrics; its event-loop histogram is reset at every read),
 * or, for a process without them (the Next.js site), RSS and descriptors from /proc and the heap
 * from a Node.js diagnostic report it writes when signalled (REPORT_NODE_OPTIONS).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SoakSample } from './soak-analysis';

/** `name{labels} value` lines of a Prometheus text exposition, first value per name. */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match && !values.has(match[1]!)) values.set(match[1]!, Number(match[2]));
  }
  return values;
}

/** A sample from prom-client's default metrics (prefix `onair_`). */
export function sampleFromMetrics(t: number, metrics: Map<string, number>): SoakSample {
  const seconds = (name: string) => (metrics.has(name) ? Math.round(metrics.get(name)! * 1e4) / 10 : undefined);
  return {
    t,
    rssBytes: metrics.get('onair_process_resident_memory_bytes'),
    heapUsedBytes: metrics.get('onair_nodejs_heap_size_used_bytes'),
    openFds: metrics.get('onair_process_open_fds'),
    eldP99Ms: seconds('onair_nodejs_eventloop_lag_p99_seconds'),
    eldMaxMs: seconds('onair_nodejs_eventloop_lag_max_seconds'),
  };
}

export async function sampleMetricsEndpoint(t: number, url: string): Promise<SoakSample> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return sampleFromMetrics(t, parseMetrics(await res.text()));
}

/** RSS and open descriptors of a process and its descendants, from /proc. */
export async function sampleProcessTree(t: number, pid: number): Promise<SoakSample> {
  const pids = [pid, ...(await descendants(pid))];
  let rssBytes = 0;
  let openFds = 0;
  for (const p of pids) {
    try {
      const status = await readFile(`/proc/${p}/status`, 'utf8');
      rssBytes += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      openFds += (await readdir(`/proc/${p}/fd`)).length;
    } catch {
      // exited between the listing and the read
    }
  }
  return { t, rssBytes, openFds };
}

async function descendants(root: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) for (const child of parents.get(queue.shift()!) ?? []) out.push(child), queue.push(child);
  return out;
}

/** Node options that make a process write a compact diagnostic report to `dir` on SIGUSR2. */
export function reportNodeOptions(dir: string): string {
  return `--report-on-signal --report-signal=SIGUSR2 --report-compact --report-directory=${dir}`;
}

/**
 * RSS and descriptors from /proc, and the V8 heap in use from a diagnostic report the process
 * writes on SIGUSR2 (started with reportNodeOptions(dir)); the report is deleted once read.
 */
export async function sampleByReport(t: number, pid: number, dir: string): Promise<SoakSample> {
  const base = await sampleProcessTree(t, pid);
  const mine = (name: string) => name.startsWith('report.') && name.includes(`.${pid}.`) && name.endsWith('.json');
  for (const stale of (await readdir(dir)).filter(mine)) await rm(join(dir, stale), { force: true });
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const file = (await readdir(dir)).find(mine);
    if (file) {
      try {
        const report = JSON.parse(await readFile(join(dir, file), 'utf8')) as { javascriptHeap?: { usedMemory?: number } };
        await rm(join(dir, file), { force: true });
        return { ...base, heapUsedBytes: report.javascriptHeap?.usedMemory };
      } catch {
        // still being written
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`process ${pid} wrote no diagnostic report within 5 s`);
}
