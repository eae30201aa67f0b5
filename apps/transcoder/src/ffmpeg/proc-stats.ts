/**
 * CPU and memory of a process from Linux procfs (no dependency, no subprocess). Elsewhere
 * (macOS) the reads fail and the stats stay null.
 */
import { readFile } from 'node:fs/promises';

/** USER_HZ: 100 on every Linux ABI Node runs on (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS = 100;

export interface ProcSample {
  /** User + system CPU time in seconds since the process started. */
  cpuSeconds: number;
  /** Resident set size in bytes. */
  rssBytes: number;
}

/** Parses `/proc/<pid>/stat`: utime and stime are fields 14 and 15, counted after the `(comm)` that may contain spaces. */
export function parseProcStat(text: string): { cpuSeconds: number } | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { cpuSeconds: (utime + stime) / CLOCK_TICKS };
}

/** Parses `VmRSS:  123456 kB` out of `/proc/<pid>/status`. */
export function parseProcStatus(text: string): { rssBytes: number } | null {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return match ? { rssBytes: Number(match[1]) * 1024 } : null;
}

export async function sampleProcess(pid: number): Promise<ProcSample | null> {
  try {
    const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
    const cpu = parseProcStat(stat);
    const mem = parseProcStatus(status);
    if (!cpu || !mem) return null;
    return { cpuSeconds: cpu.cpuSeconds, rssBytes: mem.rssBytes };
  } catch {
    return null;
  }
}

/** CPU usage between two samples as a fraction of one core (1.0 = one core busy). */
export function cpuShare(previous: { cpuSeconds: number; at: number }, current: { cpuSeconds: number; at: number }): number | null {
  const wall = (current.at - previous.at) / 1000;
  if (wall <= 0) return null;
  return Math.max(0, (current.cpuSeconds - previous.cpuSeconds) / wall);
}

/**
 * The local ports of the UDP sockets listed in a `/proc/net/udp` or `udp6` table
 * (`sl local_address rem_address st …`, addresses as `HEXIP:HEXPORT`). Never throws.
 */
export function parseUdpTable(text: string): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split('\n')) {
    const local = line.trim().split(/\s+/)[1];
    const hex = local?.slice(local.lastIndexOf(':') + 1);
    if (!hex || !/^[0-9A-Fa-f]{4}$/.test(hex)) continue;
    ports.add(Number.parseInt(hex, 16));
  }
  return ports;
}

/** Which of `ports` have a UDP socket bound on this host now (one read of /proc/net/udp and udp6). */
export async function boundUdpPorts(ports: readonly number[]): Promise<Set<number>> {
  const bound = new Set<number>();
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    try {
      const listed = parseUdpTable(await readFile(file, 'utf8'));
      for (const port of ports) if (listed.has(port)) bound.add(port);
    } catch {
      // Not Linux: unknown, say none.
    }
  }
  return bound;
}
