/**
 * The dashboard session cookie, as pure functions (no Next, no env, no files):
 * `v2.<epoch>.<expiry ms>.<random id>.<mac>` where mac = HMAC-SHA256 over `v2.<epoch>.<expiry>.<id>`
 * with a key derived from the admin token. Deriving the key from the token means rotating the
 * token signs every operator out; the epoch (session-epoch.ts, kept in the data directory) is
 * what signing out changes, so a signed-out cookie stays dead across restarts. Node's crypto:
 * imported only from server code (route handlers, proxy.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'onair_session';
/** Session lifetime: 12 h, in ms. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const VERSION = 'v2';
const TOKEN_PART = /^[A-Za-z0-9_-]{16,64}$/;

/** A purpose-bound key, so the admin token itself is never used as a MAC key for anything else. */
function sessionKey(adminToken: string): Buffer {
  return createHmac('sha256', adminToken).update('onair dashboard session v1').digest();
}

function mac(adminToken: string, payload: string): string {
  return createHmac('sha256', sessionKey(adminToken)).update(payload).digest('base64url');
}

export function signSession(adminToken: string, epoch: string, now = Date.now(), ttlMs = SESSION_TTL_MS): { value: string; expires: Date } {
  const expiry = now + ttlMs;
  const payload = `${VERSION}.${epoch}.${expiry}.${randomBytes(16).toString('base64url')}`;
  return { value: `${payload}.${mac(adminToken, payload)}`, expires: new Date(expiry) };
}

export type SessionCheck = { ok: true; expires: Date } | { ok: false; reason: 'missing' | 'malformed' | 'bad_signature' | 'expired' | 'revoked' | 'no_admin_token' };

/** Checks a cookie against the admin token and the current epoch (`revoked`: signed before the last sign-out). */
export function verifySession(value: string | undefined, adminToken: string | undefined, epoch: string, now = Date.now()): SessionCheck {
  if (!adminToken) return { ok: false, reason: 'no_admin_token' };
  if (!value) return { ok: false, reason: 'missing' };
  const parts = value.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION || !TOKEN_PART.test(parts[1]!) || !/^\d{1,15}$/.test(parts[2]!) || !TOKEN_PART.test(parts[3]!)) return { ok: false, reason: 'malformed' };
  const payload = parts.slice(0, 4).join('.');
  if (!constantTimeEqual(parts[4]!, mac(adminToken, payload))) return { ok: false, reason: 'bad_signature' };
  const expiry = Number(parts[2]);
  if (expiry <= now) return { ok: false, reason: 'expired' };
  if (!constantTimeEqual(parts[1]!, epoch)) return { ok: false, reason: 'revoked' };
  return { ok: true, expires: new Date(expiry) };
}

/**
 * Compares two secrets in time independent of where they differ. Both sides are hashed first so
 * that their lengths are equal (timingSafeEqual requires it) and the length does not leak either.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
