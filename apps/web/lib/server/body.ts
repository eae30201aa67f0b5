/** Reads a route handler's JSON body: bounded as it streams (read-body.ts), parsed with zod, errors as `invalid_body` with every issue. */
import 'server-only';
import type { z } from 'zod';
import { OnairError } from '@onair/shared/errors';
import { readBodyWithin } from '../read-body';

/** Largest dashboard request body, in bytes (a profile with 8 rungs is ~1 KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

export async function readBody<T>(request: Request, schema: z.ZodType<T>): Promise<T> {
  const text = new TextDecoder().decode(await readBodyWithin(request, MAX_BODY_BYTES));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new OnairError('invalid_body', 'The body is not JSON.');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || 'body'}: ${issue.message}`);
    throw new OnairError('invalid_body', issues.join('; '), { extensions: { issues } });
  }
  return parsed.data;
}

export const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
