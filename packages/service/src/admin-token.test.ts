import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveAdminToken } from './admin-token';

describe('resolveAdminToken', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'onair-token-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('prefers the environment', () => {
    expect(resolveAdminToken(tempDir(), 'from-env-0123456789')).toEqual({ token: 'from-env-0123456789', generated: false });
  });

  it('generates once, private to the owner, then reuses', () => {
    const dir = join(tempDir(), 'data');
    const first = resolveAdminToken(dir, undefined);
    expect(first.generated).toBe(true);
    expect(first.token).toMatch(/^at_[A-Za-z0-9_-]{43}$/);
    expect(statSync(join(dir, 'admin-token')).mode & 0o777).toBe(0o600);
    // `npm start` creates the data directory here first: it holds the databases too.
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(resolveAdminToken(dir, undefined)).toEqual({ token: first.token, generated: false });
  });
});
