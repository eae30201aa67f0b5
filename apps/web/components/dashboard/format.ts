/** Number and time formatting for the dashboard ("—" for unknown). */
export const dash = '—';

export function fmt(value: number | null | undefined, digits = 0, unit = ''): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return dash;
  return `${value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })}${unit}`;
}

export function kbps(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return dash;
  return value >= 1000 ? `${(value / 1000).toFixed(2)} Mbit/s` : `${Math.round(value)} kbit/s`;
}

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return dash;
  if (value >= 1 << 30) return `${(value / (1 << 30)).toFixed(2)} GiB`;
  if (value >= 1 << 20) return `${(value / (1 << 20)).toFixed(0)} MiB`;
  return `${(value / 1024).toFixed(0)} KiB`;
}

export function duration(sinceIso: string | null | undefined, now: number): string {
  if (!sinceIso) return dash;
  const seconds = Math.max(0, Math.floor((now - Date.parse(sinceIso)) / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m ${String(s).padStart(2, '0')}s` : `${s}s`;
}

export function mask(secret: string): string {
  return secret.length <= 6 ? '••••••' : `${secret.slice(0, 3)}${'•'.repeat(Math.min(24, secret.length - 3))}`;
}
