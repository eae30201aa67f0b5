/** Display helpers shared by the viewer and broadcaster pages (pure, locale-independent). */

/** `1:02:03` / `4:05` for a duration in ms. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}

/** How long a stream has been live, from its ISO `since`, e.g. `12:04`; `—` when unknown. */
export function formatSince(since: string | null | undefined, now: number): string {
  if (!since) return '—';
  const t = Date.parse(since);
  if (!Number.isFinite(t)) return '—';
  return formatDuration(now - t);
}

/** `1.2 Mbps` / `850 kbps`; `—` when unknown. */
export function formatBitrate(kbps: number | null | undefined): string {
  if (kbps === null || kbps === undefined || !Number.isFinite(kbps)) return '—';
  if (kbps >= 1000) return `${(kbps / 1000).toFixed(kbps >= 10_000 ? 0 : 1)} Mbps`;
  return `${Math.round(kbps)} kbps`;
}

/** `1280×720`; `—` when unknown. */
export function formatResolution(width: number | null | undefined, height: number | null | undefined): string {
  return width && height ? `${width}×${height}` : '—';
}

/** Short resolution label as viewers know it: `720p`, `1080p`, `180p` (a small source's lower rung); falls back to `W×H`. */
export function resolutionLabel(width: number | null | undefined, height: number | null | undefined): string | null {
  if (!width || !height) return null;
  const short = Math.min(width, height);
  return [2160, 1440, 1080, 720, 540, 480, 360, 240, 180, 144].includes(short) ? `${short}p` : `${width}×${height}`;
}

/** `30 fps` with at most one decimal; `—` when unknown. */
export function formatFps(fps: number | null | undefined): string {
  if (fps === null || fps === undefined || !Number.isFinite(fps)) return '—';
  return `${Math.round(fps * 10) / 10} fps`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return `${Math.round(ms)} ms`;
}

export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${value < 1 && value > 0 ? value.toFixed(2) : value.toFixed(1)} %`;
}

/** `1 viewer` / `12 viewers`. */
export function formatViewers(n: number): string {
  return `${n} ${n === 1 ? 'viewer' : 'viewers'}`;
}
