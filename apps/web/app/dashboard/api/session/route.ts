/**
 * Sign-in and sign-out. POST {secret} exchanges the admin secret for the session cookie;
 * DELETE clears it. These two are the only dashboard routes open without a session.
 */
import { z } from 'zod';
import { OnairError } from '@onair/shared/errors';
import { clientAddressOf } from '../../../../lib/forwarded';
import { readBody } from '../../../../lib/server/body';
import { problemJson } from '../../../../lib/server/problem';
import { FailureLimiter } from '../../../../lib/server/rate-limit';
import { dashboardRuntime } from '../../../../lib/server/runtime-config';
import { endSession, requireSameOrigin, startSession } from '../../../../lib/server/session';
import { constantTimeEqual } from '../../../../lib/server/session-token';

export const dynamic = 'force-dynamic';

/**
 * 10 failed attempts per minute per client address: the socket's, or what a trusted proxy says
 * (`ONAIR_TRUSTED_PROXIES`, applied by the web server; lib/forwarded.ts). A client cannot pick its
 * own key by writing `X-Forwarded-For`. One limiter per process (kept across hot reloads).
 */
const limiter: FailureLimiter = ((globalThis as { __onairLoginLimiter?: FailureLimiter }).__onairLoginLimiter ??= new FailureLimiter({ limit: 10, windowMs: 60_000 }));
/** And 100 a minute from everywhere together: guessing from many addresses stays bounded too. */
const everyone: FailureLimiter = ((globalThis as { __onairLoginLimiterAll?: FailureLimiter }).__onairLoginLimiterAll ??= new FailureLimiter({ limit: 100, windowMs: 60_000 }));
const ALL = '*';

const signInSchema = z.object({ secret: z.string().max(1024) }).strict();

export async function POST(request: Request): Promise<Response> {
  try {
    requireSameOrigin(request);
    const client = clientAddressOf(request.headers);
    const perClient = limiter.check(client);
    const allowed = perClient.allowed ? everyone.check(ALL) : perClient;
    if (!allowed.allowed) {
      const seconds = Math.ceil(allowed.retryAfterMs / 1000);
      return problemJson(new OnairError('too_many_attempts', `Too many failed sign-in attempts from your address: try again in ${seconds} s.`, { extensions: { retryAfterSeconds: seconds } }), {
        'retry-after': String(seconds),
      });
    }
    const adminToken = dashboardRuntime().adminToken;
    if (!adminToken) throw new OnairError('unavailable', 'The web server was started without ONAIR_ADMIN_TOKEN, so nobody can sign in. npm start sets it (the token is in .data/admin-token).');
    const { secret } = await readBody(request, signInSchema);
    if (!constantTimeEqual(secret.trim(), adminToken)) {
      limiter.recordFailure(client);
      everyone.recordFailure(ALL);
      throw new OnairError('invalid_admin_token', 'That is not the admin token. npm start prints it; it is also in .data/admin-token.');
    }
    limiter.reset(client);
    await startSession(request, adminToken);
    return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } });
  } catch (error) {
    return problemJson(error);
  }
}

export async function DELETE(request: Request): Promise<Response> {
  try {
    // Signing out changes state like any other action: not from another origin's page.
    requireSameOrigin(request);
    await endSession(request);
    return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } });
  } catch (error) {
    return problemJson(error);
  }
}
