import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readSessionEpoch, rotateSessionEpoch, sessionEpochPath } from './session-epoch';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function fresh(): string {
  const dir = mkdtempSync(join(tmpdir(), 'onair-epoch-'));
  dirs.push(dir);
  return join(dir, 'data', 'web-session-epoch');
}

describe('session epoch', () => {
  it('is created once, 0600, and read back the same (as a restarted process would)', () => {
    const path = fresh();
    const first = readSessionEpoch(path);
    expect(first).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readSessionEpoch(path)).toBe(first);
  });

  it('changes on rotation and stays changed', () => {
    const path = fresh();
    const first = readSessionEpoch(path);
    const second = rotateSessionEpoch(path);
    expect(second).not.toBe(first);
    expect(readSessionEpoch(path)).toBe(second);
    expect(readFileSync(path, 'utf8').trim()).toBe(second);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('replaces a damaged file with a new epoch (everyone signed out: the safe side)', () => {
    const path = fresh();
    const first = readSessionEpoch(path);
    writeFileSync(path, 'x');
    const replaced = readSessionEpoch(path);
    expect(replaced).not.toBe(first);
    expect(replaced).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('lives in the data directory', () => {
    expect(sessionEpochPath({ ONAIR_DATA_DIR: '/srv/onair' })).toBe('/srv/onair/web-session-epoch');
  });
});
