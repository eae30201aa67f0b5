import { describe, expect, it } from 'vitest';
import { constantTimeEqual, revokeSession, SESSION_TTL_MS, signSession, verifySession } from './session-token';

const TOKEN = 'at_test-admin-token-0123456789';
const NOW = 1_800_000_000_000;

describe('dashboard session token', () => {
  it('verifies a fresh session until it expires (12 h)', () => {
    const { value, expires } = signSession(TOKEN, NOW);
    expect(expires.getTime()).toBe(NOW + SESSION_TTL_MS);
    expect(SESSION_TTL_MS).toBe(12 * 3600 * 1000);
    expect(verifySession(value, TOKEN, NOW + 1000)).toEqual({ ok: true, expires });
    expect(verifySession(value, TOKEN, NOW + SESSION_TTL_MS)).toEqual({ ok: false, reason: 'expired' });
  });

  it('gives every session its own random id', () => {
    expect(signSession(TOKEN, NOW).value).not.toBe(signSession(TOKEN, NOW).value);
  });

  const { value } = signSession(TOKEN, NOW);
  const [v, expiry, id, mac] = value.split('.') as [string, string, string, string];
  it.each([
    ['no cookie', undefined, TOKEN, 'missing'],
    ['empty cookie', '', TOKEN, 'missing'],
    ['garbage', 'hello', TOKEN, 'malformed'],
    ['wrong version', `v2.${expiry}.${id}.${mac}`, TOKEN, 'malformed'],
    ['extended expiry', `${v}.${Number(expiry) + 3_600_000}.${id}.${mac}`, TOKEN, 'bad_signature'],
    ['other id', `${v}.${expiry}.${'A'.repeat(22)}.${mac}`, TOKEN, 'bad_signature'],
    ['forged mac', `${v}.${expiry}.${id}.${'x'.repeat(43)}`, TOKEN, 'bad_signature'],
    ['rotated admin token', value, `${TOKEN}-rotated`, 'bad_signature'],
    ['no admin token configured', value, undefined, 'no_admin_token'],
  ] as const)('refuses %s', (_what, cookie, token, reason) => {
    expect(verifySession(cookie, token, NOW + 1000)).toEqual({ ok: false, reason });
  });

  it('refuses a correctly signed but expired session', () => {
    const old = signSession(TOKEN, NOW - SESSION_TTL_MS - 1);
    expect(verifySession(old.value, TOKEN, NOW)).toEqual({ ok: false, reason: 'expired' });
  });
});

describe('revokeSession', () => {
  it('refuses a signed-out session while leaving others valid', () => {
    const a = signSession(TOKEN, NOW);
    const b = signSession(TOKEN, NOW);
    revokeSession(a.value, NOW);
    expect(verifySession(a.value, TOKEN, NOW + 1)).toEqual({ ok: false, reason: 'revoked' });
    expect(verifySession(b.value, TOKEN, NOW + 1).ok).toBe(true);
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
