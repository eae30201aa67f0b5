/** Reads a route handler's JSON body: bounded, parsed with zod, errors as `invalid_body` with every issue. */
import 'server-only';
import type { z } from 'zod';
import { OnairError } from '@onair/shared/errors';

/** Largest dashboard request body, in bytes (a profile with 8 rungs is ~1 KiB). */
export const MAX_BODY_BYTES = 64 * 1024;

export async function readBody<T>(request: Request, schema: z.ZodType<T>): Promise<T> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) throw new OnairError('body_too_large', `The body is larger than ${MAX_BODY_BYTES} bytes.`);
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) throw new OnairError('body_too_large', `The body is larger than ${MAX_BODY_BYTES} bytes.`);
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
