/**
 * ffmpeg progress, parsed where it enters. Two sources, one result type:
 * - `-progress` blocks: `key=value` lines ending with `progress=continue|end` (what the job uses:
 *   machine-readable, and it keeps stats lines out of the stderr log);
 * - stderr stats lines: `frame=  52 fps= 44 q=18.0 size= 98kB time=00:00:01.74 bitrate= 448.3kbits/s dup=72 drop=0 speed=1.5x`
 *   (for logs of runs started without `-progress`).
 * Values ffmpeg prints as `N/A` become `null`; nothing here throws on odd input.
 */

export interface FfmpegProgress {
  frame: number | null;
  fps: number | null;
  /** Bitrate of the first output in kbit/s. */
  bitrateKbps: number | null;
  /** Bytes written to the first output. */
  totalSize: number | null;
  /** Media time reached, microseconds. */
  outTimeUs: number | null;
  dup: number | null;
  drop: number | null;
  /** Encoding speed as a multiple of realtime. */
  speed: number | null;
  /** `true` on ffmpeg's last report (`progress=end`). */
  end: boolean;
}

const EMPTY: FfmpegProgress = { frame: null, fps: null, bitrateKbps: null, totalSize: null, outTimeUs: null, dup: null, drop: null, speed: null, end: false };

function num(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const match = /^\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)/i.exec(raw);
  if (!match?.[1]) return null;
  const value = Number(match[1]);
  return Number.isFinite(value) ? value : null;
}

/** `00:00:01.749333` → µs; `N/A` or garbage → null. Negative times (`-00:00:00.02`) are kept. */
export function parseClock(raw: string | undefined): number | null {
  const match = /^\s*(-)?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)\s*$/.exec(raw ?? '');
  if (!match) return null;
  const us = (Number(match[2]) * 3600 + Number(match[3]) * 60 + Number(match[4])) * 1e6;
  return Math.round(match[1] ? -us : us);
}

/** `123.4kbits/s` → 123.4, `1.2mbits/s` → 1200, `N/A` → null. */
function kbps(raw: string | undefined): number | null {
  const value = num(raw);
  if (value === null || raw === undefined) return null;
  if (/mbits/i.test(raw)) return value * 1000;
  if (/kbits/i.test(raw)) return value;
  if (/bits/i.test(raw)) return value / 1000;
  return value;
}

/** One `-progress` block (its key=value pairs) → progress. */
export function progressFromPairs(pairs: Map<string, string>): FfmpegProgress {
  const outTimeUs = num(pairs.get('out_time_us')) ?? num(pairs.get('out_time_ms')) ?? parseClock(pairs.get('out_time'));
  return {
    frame: num(pairs.get('frame')),
    fps: num(pairs.get('fps')),
    bitrateKbps: kbps(pairs.get('bitrate')),
    totalSize: num(pairs.get('total_size')),
    outTimeUs,
    dup: num(pairs.get('dup_frames')),
    drop: num(pairs.get('drop_frames')),
    speed: num(pairs.get('speed')),
    end: pairs.get('progress') === 'end',
  };
}

/**
 * Incremental parser for the `-progress` stream: feed it text as it arrives (any chunking), get
 * one progress per completed block.
 */
export class ProgressParser {
  private buffer = '';
  private pairs = new Map<string, string>();

  push(text: string): FfmpegProgress[] {
    this.buffer += text;
    const lines = this.buffer.split(/\r?\n/);
    this.buffer = lines.pop() ?? '';
    // A progress stream never has lines this long; drop garbage rather than grow forever.
    if (this.buffer.length > 4096) this.buffer = '';
    const out: FfmpegProgress[] = [];
    for (const line of lines) {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      this.pairs.set(key, value);
      if (key === 'progress') {
        out.push(progressFromPairs(this.pairs));
        this.pairs = new Map();
      }
    }
    return out;
  }
}

/** A stderr stats line → progress, or null when the line is not one. */
export function parseStatsLine(raw: string): FfmpegProgress | null {
  // `-loglevel level+…` prefixes the line with its level (`[info] frame=…`).
  const line = raw.replace(/^\s*\[(?:info|verbose|warning)\]\s*/, '');
  if (!/^\s*(frame|size)=/.test(line) || !/time=/.test(line)) return null;
  const pairs = new Map<string, string>();
  // `key=  value` with optional spaces after '='; values have no spaces.
  for (const match of line.matchAll(/([a-zA-Z_]+)=\s*(\S+)/g)) pairs.set(match[1]!, match[2]!);
  const size = pairs.get('size') ?? pairs.get('Lsize');
  const sizeBytes = size === undefined ? null : sizeToBytes(size);
  return {
    ...EMPTY,
    frame: num(pairs.get('frame')),
    fps: num(pairs.get('fps')),
    bitrateKbps: kbps(pairs.get('bitrate')),
    totalSize: sizeBytes,
    outTimeUs: parseClock(pairs.get('time')),
    dup: num(pairs.get('dup')),
    drop: num(pairs.get('drop')),
    speed: num(pairs.get('speed')),
    end: line.includes('Lsize='),
  };
}

function sizeToBytes(raw: string): number | null {
  const value = num(raw);
  if (value === null) return null;
  if (/kB$/i.test(raw)) return value * 1024;
  if (/MB$/i.test(raw)) return value * 1024 * 1024;
  return value;
}
