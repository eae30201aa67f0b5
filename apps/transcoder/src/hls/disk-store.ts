/**
 * Writes a stream's files under its directory, one operation after another (so a delete never
 * overtakes the write it follows), each write atomic (temporary file + rename) so a static
 * server or CDN reading the directory never sees half a segment. Failures are logged, never
 * thrown: the in-memory origin keeps serving when the disk is full.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '@onair/service/logger';

export class DiskStore {
  private queue: Promise<void> = Promise.resolve();
  private readonly madeDirs = new Set<string>();
  private failures = 0;

  constructor(
    readonly root: string,
    private readonly log: Logger,
  ) {}

  write(relativePath: string, data: Buffer | string): void {
    this.enqueue(async () => {
      const target = join(this.root, relativePath);
      const dir = dirname(target);
      if (!this.madeDirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.madeDirs.add(dir);
      }
      const temporary = `${target}.tmp`;
      await writeFile(temporary, data);
      await rename(temporary, target);
    }, `write ${relativePath}`);
  }

  remove(relativePath: string): void {
    this.enqueue(() => rm(join(this.root, relativePath), { force: true }), `remove ${relativePath}`);
  }

  /** Resolves once every operation queued so far has finished. */
  idle(): Promise<void> {
    return this.queue;
  }

  get failureCount(): number {
    return this.failures;
  }

  private enqueue(operation: () => Promise<void>, what: string): void {
    this.queue = this.queue.then(operation).catch((error: unknown) => {
      this.failures++;
      // The first failure at warn, later ones at debug, so a full disk does not flood the log.
      if (this.failures === 1) this.log.warn({ err: error, op: what }, 'hls disk write failed; serving from memory only');
      else this.log.debug({ err: error, op: what }, 'hls disk write failed');
    });
  }
}
