import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { OnairError } from '@onair/shared/errors';
import { bearerToken } from '@onair/service/http';

/**
 * Checks `Authorization: Bearer <admin token>`. Both sides are hashed first so the comparison is
 * constant-time whatever the lengths.
 */
export function requireAdmin(req: IncomingMessage, adminToken: string | undefined): void {
  if (!adminToken) throw new OnairError('unavailable', 'The admin API is disabled: set ONAIR_ADMIN_TOKEN.');
  const presented = createHash('sha256').update(bearerToken(req)).digest();
  const expected = createHash('sha256').update(adminToken).digest();
  if (!timingSafeEqual(presented, expected)) throw new OnairError('invalid_admin_token', 'The admin token is not valid.');
}
