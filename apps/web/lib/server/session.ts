/**
 * The one gate in front of the dashboard. `requireSession()` is called by every dashboard page
 * (redirects to the sign-in page) and, through `dashboardRoute()`, by every dashboard route
 * handler (answers 401 problem+json). proxy.ts checks the same cookie earlier, but each page
 * and handler checks again, so a matcher mistake cannot open anything.
 */
import 'server-only';
import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { OnairError } from '@onair/shared/errors';
import { requestedHostOf, requestedProtoOf } from '../forwarded';
import { problemJson } from './problem';
import { dashboardRuntime } from './runtime-config';
import { currentSessionEpoch, renewSessionEpoch } from './session-epoch';
import { SESSION_COOKIE, signSession, verifySession, type SessionCheck } from './session-token';

export const LOGIN_PATH = '/dashboard/login';

/**
 * Checks a session cookie's value against the admin token and the session epoch (the data
 * directory's, or the cluster's in Redis: no session is valid while it cannot be read).
 */
export async function checkSessionCookie(value: string | undefined): Promise<SessionCheck> {
  let epoch: string;
  try {
    epoch = await currentSessionEpoch();
  } catch {
    return { ok: false, reason: 'revoked' };
  }
  return verifySession(value, dashboardRuntime().adminToken, epoch);
}

export async function hasSession(): Promise<boolean> {
  const jar = await cookies();
  return (await checkSessionCookie(jar.get(SESSION_COOKIE)?.value)).ok;
}

/** For pages: `await requireSession('page')` redirects to sign-in. For handlers: throws `missing_credentials`. */
export async function requireSession(kind: 'page' | 'api' = 'api'): Promise<void> {
  if (await hasSession()) return;
  if (kind === 'page') redirect(LOGIN_PATH);
  throw new OnairError('missing_credentials', 'Sign in to the dashboard first (your session is missing or has expired).');
}

type Handler<C> = (request: Request, context: C) => Promise<Response> | Response;

/**
 * Refuses a state-changing request that a browser sent from another origin. SameSite=Strict keeps
 * the cookie from other *sites*, but another port on the same host (the ingest's :8080, say) is
 * the same site; browsers send `Origin` on every non-GET fetch, so compare it with the host the
 * browser asked for: `Host`, or `X-Forwarded-Host` from a trusted proxy only (lib/forwarded.ts —
 * a page could otherwise claim any host for itself). Requests without `Origin` (curl,
 * server-side callers) are not from a browser page.
 */
export function requireSameOrigin(request: Request): void {
  if (request.method === 'GET' || request.method === 'HEAD') return;
  const origin = request.headers.get('origin');
  if (!origin) return;
  const host = requestedHostOf(request.headers);
  let originHost: string | null = null;
  try {
    originHost = new URL(origin).host;
  } catch {
    // "null" or garbage: refused below
  }
  if (!host || originHost !== host) throw new OnairError('bad_request', `Cross-origin request refused: the dashboard only accepts changes from its own pages (origin ${origin}).`);
}

/** Wraps a dashboard route handler: session and origin first, then errors as problem+json (never a stack trace). */
export function dashboardRoute<C>(handler: Handler<C>): Handler<C> {
  return async (request, context) => {
    try {
      await requireSession('api');
      requireSameOrigin(request);
      return await handler(request, context);
    } catch (error) {
      return problemJson(error);
    }
  };
}

/** Whether the browser reached us over https (directly or through a trusted TLS-terminating proxy). */
export function servedOverHttps(request: Request): boolean {
  return requestedProtoOf(request.headers, request.url) === 'https';
}

export async function startSession(request: Request, adminToken: string): Promise<void> {
  const { value, expires } = signSession(adminToken, await currentSessionEpoch());
  (await cookies()).set(SESSION_COOKIE, value, { httpOnly: true, sameSite: 'strict', secure: servedOverHttps(request), path: '/dashboard', expires });
}

/**
 * Signs out: a genuine session draws a new epoch, which ends it and every copy of its cookie,
 * across restarts (a forged or stale cookie changes nothing: it must not sign others out).
 */
export async function endSession(request: Request): Promise<void> {
  const jar = await cookies();
  if ((await checkSessionCookie(jar.get(SESSION_COOKIE)?.value)).ok) await renewSessionEpoch();
  jar.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure: servedOverHttps(request), path: '/dashboard', maxAge: 0 });
}
