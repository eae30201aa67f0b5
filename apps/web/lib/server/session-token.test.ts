import { describe, expect, it } from 'vitest';
import { constantTimeEqual, SESSION_TTL_MS, signSession, verifySession } from './session-token';

const TOKEN = 'at_test-admin-token-0123456789';
const EPOCH = 'epoch-AAAAAAAAAAAAAAAA';
const NOW = 1_800_000_000_000;

describe('dashboard session token', () => {
  it('verifies a fresh session until it expires (12 h)', () => {
    const { value, expires } = signSession(TOKEN, EPOCH, NOW);
    expect(expires.getTime()).toBe(NOW + SESSION_TTL_MS);
    expect(SESSION_TTL_MS).toBe(12 * 3600 * 1000);
    expect(verifySession(value, TOKEN, EPOCH, NOW + 1000)).toEqual({ ok: true, expires });
    expect(verifySession(value, TOKEN, EPOCH, NOW + SESSION_TTL_MS)).toEqual({ ok: false, reason: 'expired' });
  });

  it('gives every session its own random id', () => {
    expect(signSession(TOKEN, EPOCH, NOW).value).not.toBe(signSession(TOKEN, EPOCH, NOW).value);
  });

  const { value } = signSession(TOKEN, EPOCH, NOW);
  const [v, epoch, expiry, id, mac] = value.split('.') as [string, string, string, string, string];
  it.each([
    ['no cookie', undefined, TOKEN, 'missing'],
    ['empty cookie', '', TOKEN, 'missing'],
    ['garbage', 'hello', TOKEN, 'malformed'],
    ['the old format', `v1.${expiry}.${id}.${mac}`, TOKEN, 'malformed'],
    ['wrong version', `v3.${epoch}.${expiry}.${id}.${mac}`, TOKEN, 'malformed'],
    ['extended expiry', `${v}.${epoch}.${Number(expiry) + 3_600_000}.${id}.${mac}`, TOKEN, 'bad_signature'],
    ['other id', `${v}.${epoch}.${expiry}.${'A'.repeat(22)}.${mac}`, TOKEN, 'bad_signature'],
    ['another epoch written in', `${v}.${'B'.repeat(22)}.${expiry}.${id}.${mac}`, TOKEN, 'bad_signature'],
    ['forged mac', `${v}.${epoch}.${expiry}.${id}.${'x'.repeat(43)}`, TOKEN, 'bad_signature'],
    ['rotated admin token', value, `${TOKEN}-rotated`, 'bad_signature'],
    ['no admin token configured', value, undefined, 'no_admin_token'],
  ] as const)('refuses %s', (_what, cookie, token, reason) => {
    expect(verifySession(cookie, token, EPOCH, NOW + 1000)).toEqual({ ok: false, reason });
  });

  it('refuses a correctly signed but expired session', () => {
    const old = signSession(TOKEN, EPOCH, NOW - SESSION_TTL_MS - 1);
    expect(verifySession(old.value, TOKEN, EPOCH, NOW)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses every session signed before the epoch changed (sign-out), and accepts those signed after', () => {
    const before = signSession(TOKEN, EPOCH, NOW);
    const next = 'epoch-CCCCCCCCCCCCCCCC';
    expect(verifySession(before.value, TOKEN, next, NOW + 1)).toEqual({ ok: false, reason: 'revoked' });
    expect(verifySession(signSession(TOKEN, next, NOW).value, TOKEN, next, NOW + 1).ok).toBe(true);
  });
});

describe('constantTimeEqual', () => {
  it.each([
    ['abc', 'abc', true],
    ['abc', 'abd', false],
    ['abc', 'abcd', false],
    ['', '', true],
    [TOKEN, TOKEN.toUpperCase(), false],
  ])('%s vs %s → %s', (a, b, expected) => expect(constantTimeEqual(a, b)).toBe(expected));
});
