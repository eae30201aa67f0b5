/**
 * The machine's own floor for the fan-out, measured in the same run as the ingest
 * (bench/native/fanout-floor.c, compiled here with the system's `cc`): CPU µs per packet of a C
 * loop that `sendto`s the fan-out's packet size to as many loopback sockets as the step has
 * viewers, in per-viewer bursts at the stream's packet rate, with a reader draining them on the
 * other core — and, when node-datachannel's addon lets us reach it, libSRTP's protect (the same
 * library and OpenSSL the ingest's viewers use) alone and with the send.
 *
 * The ingest's cost per forwarded packet is reported as a ratio to this floor: a figure that
 * means the same on a fast and a slow machine. Without a compiler the floor is skipped (and the
 * reason recorded); without `nm` or the addon, only libSRTP is.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), '../native/fanout-floor.c');

/** libSRTP functions the C program calls, and the exported symbol their offsets are taken from. */
export const SRTP_SYMBOLS = ['napi_register_module_v1', 'srtp_init', 'srtp_create', 'srtp_protect', 'srtp_crypto_policy_set_aes_gcm_128_16_auth', 'srtp_crypto_policy_set_rtp_default'] as const;

/** One measurement of the C program (µs of CPU per packet; -1 where not measured). */
export interface FloorSample {
  packetBytes: number;
  sockets: number;
  packetsPerSecondPerSocket: number;
  burst: number;
  secondsPerPhase: number;
  /** `sendto` alone: the floor. */
  sendtoUs: number;
  /** libSRTP protect alone (AES-128-GCM, the suite the ingest negotiates with the bench's viewers and Chromium). */
  srtpAes128GcmUs: number;
  srtpAesCm128Sha1_80Us: number;
  /** protect (AES-128-GCM) + sendto: the least an SRTP forwarder can spend. */
  srtpAes128GcmSendtoUs: number;
  packets: number;
  /** Handed to sendto, and read by the reader on the other core. */
  sent: number;
  received: number;
  srtpError: string | null;
}

/** Offsets (hex, as nm prints them) of the named symbols in `nm` output; missing names are left out. */
export function symbolOffsets(nmOutput: string, names: readonly string[]): Record<string, string> {
  const wanted = new Set(names);
  const found: Record<string, string> = {};
  for (const line of nmOutput.split('\n')) {
    const m = /^([0-9a-f]+)\s+[tTwW]\s+(\S+)$/.exec(line.trim());
    if (m && wanted.has(m[2]!) && found[m[2]!] === undefined) found[m[2]!] = m[1]!;
  }
  return found;
}

/**
 * C definitions for the N-API functions the addon imports (`nm -D --undefined-only`): the C
 * program loads the addon outside Node, and some of them are bound at load time. None is called.
 */
export function napiStubs(undefinedSymbols: string): string {
  const names = [...new Set(undefinedSymbols.split('\n').map((l) => /^\s*U\s+((?:napi|node_api)_\w+)$/.exec(l)?.[1]).filter((n): n is string => n !== undefined))].sort();
  return ['#include <stdlib.h>', ...names.map((n) => `void ${n}(void) { abort(); }`), ''].join('\n');
}

/** Parses and checks the C program's JSON line; throws on anything else. */
export function parseFloorSample(line: string): FloorSample {
  const value = JSON.parse(line) as Record<string, unknown>;
  const numbers = ['packetBytes', 'sockets', 'packetsPerSecondPerSocket', 'burst', 'secondsPerPhase', 'sendtoUs', 'srtpAes128GcmUs', 'srtpAesCm128Sha1_80Us', 'srtpAes128GcmSendtoUs', 'packets', 'sent', 'received'] as const;
  for (const key of numbers) if (typeof value[key] !== 'number' || !Number.isFinite(value[key])) throw new Error(`fanout-floor: ${key} is not a number in ${line}`);
  if (!((value.sendtoUs as number) > 0)) throw new Error(`fanout-floor: no sendto figure in ${line}`);
  if (value.srtpError !== null && typeof value.srtpError !== 'string') throw new Error(`fanout-floor: srtpError in ${line}`);
  return value as unknown as FloorSample;
}

/** The floor at `sockets`: the sample measured with the nearest socket count. */
export function floorAt(samples: readonly FloorSample[], sockets: number): FloorSample | undefined {
  let best: FloorSample | undefined;
  for (const s of samples) if (!best || Math.abs(s.sockets - sockets) < Math.abs(best.sockets - sockets)) best = s;
  return best;
}

export interface FloorRatios {
  /** Mean sendto floor over the samples, µs. */
  sendtoUs: number;
  /** Mean protect + sendto floor (AES-128-GCM), µs; null without libSRTP. */
  srtpSendtoUs: number | null;
  /** µs per forwarded packet ÷ the sendto floor. */
  ofSendto: number;
  /** µs per forwarded packet ÷ the protect + sendto floor; null without libSRTP. */
  ofSrtpSendto: number | null;
}

/** The ingest's cost per packet against the floor, averaged over the socket counts measured. */
export function floorRatios(usPerPacket: number, samples: readonly FloorSample[]): FloorRatios | null {
  if (samples.length === 0 || !(usPerPacket > 0)) return null;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const sendtoUs = mean(samples.map((s) => s.sendtoUs));
  const withSrtp = samples.filter((s) => s.srtpAes128GcmSendtoUs > 0);
  const srtpSendtoUs = withSrtp.length ? mean(withSrtp.map((s) => s.srtpAes128GcmSendtoUs)) : null;
  return { sendtoUs, srtpSendtoUs, ofSendto: usPerPacket / sendtoUs, ofSrtpSendto: srtpSendtoUs === null ? null : usPerPacket / srtpSendtoUs };
}

/** Socket counts to measure for a ramp: its non-zero steps, at most `max` of them, spread over the range. */
export function floorSocketCounts(steps: readonly number[], max = 4): number[] {
  const counts = [...new Set(steps.filter((s) => s > 0))].sort((a, b) => a - b);
  if (counts.length <= max) return counts;
  return [...new Set(Array.from({ length: max }, (_, i) => counts[Math.round((i * (counts.length - 1)) / (max - 1))]!))];
}

function commandWorks(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export interface FloorProgram {
  path: string;
  /** Arguments that give it node-datachannel's libSRTP, or none with the reason. */
  srtpArgs: string[];
  srtpSkipped: string | null;
}

/** Compiles the C program (cached by source hash); undefined with a reason when there is no compiler. */
export function buildFloorProgram(): FloorProgram | { skipped: string } {
  const cc = process.env.CC ?? 'cc';
  if (!commandWorks(cc, ['--version'])) return { skipped: `no C compiler (${cc}) on this machine` };
  let addon: string | undefined;
  try {
    const require = createRequire(import.meta.url);
    addon = require.resolve('@node-datachannel/linux-x64-gnu/node_datachannel.node');
  } catch {
    addon = undefined;
  }
  let srtpArgs: string[] = [];
  let srtpSkipped: string | null = null;
  let stubs = '';
  if (!addon) srtpSkipped = "node-datachannel's linux-x64 addon is not installed";
  else if (!commandWorks('nm', ['--version'])) srtpSkipped = 'no nm (binutils) to find libSRTP in the addon';
  else {
    const offsets = symbolOffsets(execFileSync('nm', [addon], { encoding: 'utf8', maxBuffer: 256 << 20 }), SRTP_SYMBOLS);
    const missing = SRTP_SYMBOLS.filter((n) => offsets[n] === undefined);
    if (missing.length) srtpSkipped = `the addon's libSRTP symbols are not visible (stripped?): ${missing.join(', ')}`;
    else {
      srtpArgs = [addon, ...SRTP_SYMBOLS.map((n) => `${n}=${offsets[n]}`)];
      stubs = napiStubs(execFileSync('nm', ['-D', '--undefined-only', addon], { encoding: 'utf8' }));
    }
  }
  const source = readFileSync(SOURCE, 'utf8');
  const hash = createHash('sha256').update(source).update(stubs).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'onair-fanout-floor');
  const path = join(dir, `fanout-floor-${hash}`);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const stubFile = join(dir, `napi-stubs-${hash}.c`);
    writeFileSync(stubFile, stubs || '/* no addon */\n');
    try {
      execFileSync(cc, ['-O2', '-rdynamic', '-o', path, SOURCE, stubFile, '-ldl'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    } catch (error) {
      return { skipped: `the floor program did not compile: ${String((error as { stderr?: Buffer }).stderr ?? error).slice(0, 300)}` };
    }
  }
  return { path, srtpArgs, srtpSkipped };
}

export interface FloorRun {
  packetBytes: number;
  packetsPerSecondPerSocket: number;
  burst: number;
  secondsPerPhase: number;
  senderCpu: number;
  readerCpu: number;
}

/** Runs the program once per socket count, one after another. */
export async function measureFloor(program: FloorProgram, socketCounts: readonly number[], run: FloorRun): Promise<FloorSample[]> {
  const samples: FloorSample[] = [];
  for (const sockets of socketCounts) {
    const args = [run.packetBytes, sockets, run.packetsPerSecondPerSocket, run.secondsPerPhase, run.burst, run.senderCpu, run.readerCpu].map((v) => String(Math.round(v)));
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(program.path, [...args, ...program.srtpArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), (run.secondsPerPhase * 4 + 30) * 1000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout.trim());
        else reject(new Error(`fanout-floor exited ${code}: ${stderr.trim().slice(0, 300)}`));
      });
    });
    samples.push(parseFloorSample(out));
  }
  return samples;
}
