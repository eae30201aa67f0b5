/**
 * Finding the ffmpeg binary: a path is checked as is, a bare name is looked up in PATH. Checked
 * on every call (cheap `access`), so installing ffmpeg while the service runs turns it healthy.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

export async function resolveFfmpeg(pathOrName: string, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const candidates = pathOrName.includes('/') || isAbsolute(pathOrName) ? [pathOrName] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, pathOrName));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return null;
}

/** `ffmpeg version 5.1.9-0+deb12u1 …` → `5.1.9-0+deb12u1`, or null when it does not run. */
export function ffmpegVersion(path: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: 5000 }, (error, stdout) => {
      if (error) return resolve(null);
      resolve(/version\s+(\S+)/.exec(stdout)?.[1] ?? 'unknown');
    });
  });
}
