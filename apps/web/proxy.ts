/**
 * Request interception (Next 16's `proxy.ts`, formerly `middleware.ts`; Node.js runtime), for
 * every page and the dashboard's API:
 *
 * - every page gets a Content-Security-Policy with a fresh script nonce, and refuses to be framed
 *   (lib/content-security-policy.ts). The nonce goes to Next in the request's CSP header, and
 *   Next puts it on its own scripts; pages render per request for that (app/layout.tsx);
 * - every `/dashboard` page and route handler needs a valid session cookie, except the sign-in
 *   page and the sign-in/sign-out route. Pages without one are redirected to sign-in; API calls
 *   get 401 problem+json. Pages and handlers check again themselves (lib/server/session.ts), so
 *   this is the early, cheap gate, not the only one.
 *
 * Not matched: Next's static files and the proxied APIs (/api, /whip, /whep, /hls), which are
 * not pages — and whose bodies this layer would otherwise read before their handlers bound them.
 */
import { NextResponse, type NextRequest } from 'next/server';
import { OnairError } from '@onair/shared/errors';
import { contentSecurityPolicy } from './lib/content-security-policy';
import { currentSessionEpoch } from './lib/server/session-epoch';
import { webTransportOrigin } from './lib/server/webtransport-origin';
import { SESSION_COOKIE, verifySession } from './lib/server/session-token';

const OPEN_PATHS = new Set(['/dashboard/login', '/dashboard/api/session']);

/** Headers every matched response carries. */
function hardened<R extends Response>(response: R, csp: string): R {
  response.headers.set('content-security-policy', csp);
  response.headers.set('x-frame-options', 'DENY');
  response.headers.set('x-content-type-options', 'nosniff');
  // /broadcast?key=… must not hand the key to another site in a Referer.
  response.headers.set('referrer-policy', 'same-origin');
  return response;
}

export async function proxy(request: NextRequest): Promise<NextResponse | Response> {
  const nonce = Buffer.from(crypto.randomUUID()).toString('base64');
  const csp = contentSecurityPolicy({
    nonce,
    dev: process.env.NODE_ENV === 'development',
    host: request.headers.get('host'),
    hlsPublicUrl: process.env['ONAIR_HLS_PUBLIC_URL'],
    webTransportUrl: process.env['ONAIR_WEBTRANSPORT_PUBLIC_URL'] || ((await webTransportOrigin()) ?? undefined),
    webTransportPort: process.env['ONAIR_WEBTRANSPORT_PORT'],
  });
  const pass = () => {
    const headers = new Headers(request.headers);
    headers.set('content-security-policy', csp);
    headers.set('x-nonce', nonce);
    return hardened(NextResponse.next({ request: { headers } }), csp);
  };
  const path = request.nextUrl.pathname.replace(/\/+$/, '') || '/';
  if (!path.startsWith('/dashboard') || OPEN_PATHS.has(path)) return pass();
  // In a cluster the epoch is in Redis; while it cannot be read, nobody is signed in (fail closed).
  const epoch = await currentSessionEpoch().catch(() => undefined);
  const check = epoch === undefined ? ({ ok: false, reason: 'revoked' } as const) : verifySession(request.cookies.get(SESSION_COOKIE)?.value, process.env['ONAIR_ADMIN_TOKEN']?.trim() || undefined, epoch);
  if (check.ok) return pass();
  if (path.startsWith('/dashboard/api/')) {
    const problem = new OnairError('missing_credentials', 'Sign in to the dashboard first (your session is missing or has expired).').toProblem();
    return hardened(new Response(JSON.stringify(problem), { status: 401, headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' } }), csp);
  }
  const login = new URL('/dashboard/login', request.url);
  if (check.reason === 'expired') login.searchParams.set('expired', '1');
  return hardened(NextResponse.redirect(login, 303), csp);
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|icon\\.svg|favicon\\.ico|api/|whip|whep|hls/).*)'],
};
