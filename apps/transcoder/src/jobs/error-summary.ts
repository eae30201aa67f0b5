/**
 * Why ffmpeg stopped, in one line for the API and the dashboard: our own reason if we killed it,
 * then ffmpeg's last error/fatal lines (`-loglevel level+…` tags them), without the
 * `[h264 @ 0x…]` noise. With no error line at all, a failed start quotes ffmpeg's last lines;
 * a crash quotes only the exit.
 */
export function summarizeFfmpegExit(opts: { killReason: string | null; exit: string; lines: string[]; anyLineIfNoError: boolean }): string {
  const recent = opts.lines.slice(-40);
  const errors = recent.filter((line) => /\[(error|fatal|panic)\]/.test(line));
  const picked = (errors.length > 0 || !opts.anyLineIfNoError ? errors : recent)
    .slice(-3)
    .map((line) => line.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, '').trim());
  const parts = [...(opts.killReason ? [opts.killReason] : []), ...picked];
  return parts.length > 0 ? parts.join(' | ') : opts.exit;
}
