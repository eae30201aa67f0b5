/**
 * Request interception (Next 16's `proxy.ts`, formerly `middleware.ts`; Node.js runtime): every
 * `/dashboard` page and route handler needs a valid session cookie, except the sign-in page and
 * the sign-in/sign-out route. Pages without one are redirected to sign-in; API calls get 401
 * problem+json. Pages and handlers check again themselves (lib/server/session.ts), so this is the
 * early, cheap gate, not the only one.
 */
import { NextResponse, type NextRequest } from 'next/server';
import { OnairError } from '@onair/shared/errors';
import { readSessionEpoch } from './lib/server/session-epoch';
import { SESSION_COOKIE, verifySession } from './lib/server/session-token';

const OPEN_PATHS = new Set(['/dashboard/login', '/dashboard/api/session']);

/** The dashboard is never framed: its buttons delete streams (no clickjacking). */
function hardened(response: NextResponse): NextResponse {
  response.headers.set('x-frame-options', 'DENY');
  response.headers.set('content-security-policy', "frame-ancestors 'none'");
  return response;
}

export function proxy(request: NextRequest): NextResponse | Response {
  const path = request.nextUrl.pathname.replace(/\/+$/, '') || '/';
  if (OPEN_PATHS.has(path)) return hardened(NextResponse.next());
  const check = verifySession(request.cookies.get(SESSION_COOKIE)?.value, process.env['ONAIR_ADMIN_TOKEN']?.trim() || undefined, readSessionEpoch());
  if (check.ok) return hardened(NextResponse.next());
  if (path.startsWith('/dashboard/api/')) {
    const problem = new OnairError('missing_credentials', 'Sign in to the dashboard first (your session is missing or has expired).').toProblem();
    return new Response(JSON.stringify(problem), { status: 401, headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' } });
  }
  const login = new URL('/dashboard/login', request.url);
  if (check.reason === 'expired') login.searchParams.set('expired', '1');
  return NextResponse.redirect(login, 303);
}

export const config = {
  matcher: ['/dashboard', '/dashboard/:path*'],
};
