import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, pathAllowed, resolveLimits } from './server-options';

describe('pathAllowed', () => {
  it.each<[string, string[], boolean]>([
    ['/moq', ['/moq'], true],
    ['/moq?key=sk_1', ['/moq'], true],
    ['/moq/extra', ['/moq'], false],
    ['/moqx', ['/moq'], false],
    ['/live/stream-1?jwt=x', ['/live/'], true],
    ['/live', ['/live/'], false],
    ['/other', ['/moq', '/live/'], false],
    ['/', [], false],
  ])('%s with %j → %s', (path, allowed, expected) => {
    expect(pathAllowed(path, allowed)).toBe(expected);
  });
});

describe('resolveLimits', () => {
  it('fills defaults and keeps overrides', () => {
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({ maxSessionsPerIp: 2 }).maxSessionsPerIp).toBe(2);
  });

  it('refuses negative, non-finite and zero where zero makes no sense', () => {
    expect(() => resolveLimits({ maxSessions: -1 })).toThrowError(/maxSessions/);
    expect(() => resolveLimits({ idleTimeoutMs: Number.NaN })).toThrowError(/idleTimeoutMs/);
    expect(() => resolveLimits({ maxIncomingUniStreams: 0 })).toThrowError(/maxIncomingUniStreams/);
    expect(resolveLimits({ streamIdleTimeoutMs: 0 }).streamIdleTimeoutMs).toBe(0);
  });
});
