/**
 * A packager double for tests: appends each rendition's fMP4 bytes to `<dir>/<id>.mp4` and
 * records the calls the job makes, so the job can be tested without the HLS packager.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PackagerLike } from '../jobs/job-types';

export class RecordingPackager implements PackagerLike {
  readonly renditions: Array<{ id: string; bandwidth: number; width?: number; height?: number; frameRate?: number; role?: 'variant' | 'audio' }> = [];
  readonly removed: string[] = [];
  readonly bytes = new Map<string, number>();
  discontinuities = 0;
  ended = false;
  closed = false;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  addRendition(r: { id: string; bandwidth: number; width?: number; height?: number; frameRate?: number; role?: 'variant' | 'audio' }): { push(chunk: Buffer): void } {
    this.renditions.push(r);
    this.bytes.set(r.id, 0);
    const file = join(this.dir, `${r.id}.mp4`);
    return {
      push: (chunk) => {
        this.bytes.set(r.id, (this.bytes.get(r.id) ?? 0) + chunk.length);
        appendFileSync(file, chunk);
      },
    };
  }

  file(id: string): string {
    return join(this.dir, `${id}.mp4`);
  }

  removeRendition(id: string): void {
    this.removed.push(id);
  }

  discontinuity(): void {
    this.discontinuities++;
  }

  end(): void {
    this.ended = true;
  }

  close(): void {
    this.closed = true;
  }
}
