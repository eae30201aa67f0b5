/**
 * The dashboard session cookie, as pure functions (no Next, no env): `v1.<expiry ms>.<random id>.<mac>`
 * where mac = HMAC-SHA256 over `v1.<expiry>.<id>` with a key derived from the admin token. Deriving
 * the key from the token means rotating the token signs every operator out, and nothing needs to
 * be stored server-side. Node's crypto: imported only from server code (route handlers, proxy.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'onair_session';
/** Session lifetime: 12 h, in ms. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const VERSION = 'v1';

/** A purpose-bound key, so the admin token itself is never used as a MAC key for anything else. */
function sessionKey(adminToken: string): Buffer {
  return createHmac('sha256', adminToken).update('onair dashboard session v1').digest();
}

function mac(adminToken: string, payload: string): string {
  return createHmac('sha256', sessionKey(adminToken)).update(payload).digest('base64url');
}

export function signSession(adminToken: string, now = Date.now(), ttlMs = SESSION_TTL_MS): { value: string; expires: Date } {
  const expiry = now + ttlMs;
  const payload = `${VERSION}.${expiry}.${randomBytes(16).toString('base64url')}`;
  return { value: `${payload}.${mac(adminToken, payload)}`, expires: new Date(expiry) };
}

/**
 * Sessions signed out before their expiry: id → expiry ms. Kept on globalThis because proxy.ts and
 * the route handlers are bundled apart but run in the same `next start` process. In memory: a
 * restart forgets it (a signed-out cookie would work again until its expiry, at most 12 h, unless
 * the admin token is rotated, which ends every session).
 */
const revoked: Map<string, number> = ((globalThis as { __onairRevokedSessions?: Map<string, number> }).__onairRevokedSessions ??= new Map());

/** Ends a session server-side (sign-out), so a copy of its cookie stops working too. */
export function revokeSession(value: string | undefined, now = Date.now()): void {
  const parts = value?.split('.');
  if (!parts || parts.length !== 4) return;
  for (const [id, expiry] of revoked) if (expiry <= now) revoked.delete(id);
  if (revoked.size < 100_000) revoked.set(parts[2]!, Number(parts[1]) || now + SESSION_TTL_MS);
}

export type SessionCheck = { ok: true; expires: Date } | { ok: false; reason: 'missing' | 'malformed' | 'bad_signature' | 'expired' | 'revoked' | 'no_admin_token' };

export function verifySession(value: string | undefined, adminToken: string | undefined, now = Date.now()): SessionCheck {
  if (!adminToken) return { ok: false, reason: 'no_admin_token' };
  if (!value) return { ok: false, reason: 'missing' };
  const parts = value.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION || !/^\d{1,15}$/.test(parts[1]!) || !/^[A-Za-z0-9_-]{16,64}$/.test(parts[2]!)) return { ok: false, reason: 'malformed' };
  const payload = parts.slice(0, 3).join('.');
  if (!constantTimeEqual(parts[3]!, mac(adminToken, payload))) return { ok: false, reason: 'bad_signature' };
  const expiry = Number(parts[1]);
  if (expiry <= now) return { ok: false, reason: 'expired' };
  if (revoked.has(parts[2]!)) return { ok: false, reason: 'revoked' };
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
