/**
 * One way to call the ingest and the transcoder admin APIs from the web server: bearer admin
 * token, a short timeout, JSON in and out, and errors as OnairErrors whose detail tells the
 * operator what to do ("transcoder unreachable at …: is it running?").
 */
import 'server-only';
import { OnairError, problemFromResponse } from '@onair/shared/errors';
import type { z } from 'zod';

export type Service = 'ingest' | 'transcoder';

/**
 * Upstream answer deadline, in ms. Both services answer admin calls from memory in a few ms; the
 * margin is for a machine saturated by encoding (a profile switch waits for ffmpeg to restart).
 */
export const UPSTREAM_TIMEOUT_MS = 10_000;

export interface UpstreamTarget {
  service: Service;
  baseUrl: string;
  adminToken: string | undefined;
}

export function unreachable(target: UpstreamTarget, cause?: unknown): OnairError {
  return new OnairError('upstream_unreachable', `${target.service} unreachable at ${target.baseUrl}: is it running? npm start runs it (or set ONAIR_${target.service.toUpperCase()}_URL).`, {
    cause,
    extensions: { service: target.service, url: target.baseUrl },
  });
}

export async function upstreamJson<T>(target: UpstreamTarget, path: string, init: { method?: string; body?: unknown; schema?: z.ZodType<T> } = {}): Promise<T> {
  const res = await upstreamFetch(target, path, init);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    throw new OnairError('upstream_unreachable', `${target.service} at ${target.baseUrl} answered ${path} with something that is not JSON.`, { extensions: { service: target.service } });
  }
  if (!init.schema) return body as T;
  const parsed = init.schema.safeParse(body);
  if (!parsed.success) {
    throw new OnairError('upstream_unreachable', `${target.service} at ${target.baseUrl} answered ${path} in an unexpected shape (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}); are the services the same version?`, { extensions: { service: target.service } });
  }
  return parsed.data;
}

export async function upstreamFetch(target: UpstreamTarget, path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(`${target.baseUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(target.adminToken ? { authorization: `Bearer ${target.adminToken}` } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        accept: 'application/json, application/problem+json, text/plain',
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      cache: 'no-store',
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
  } catch (error) {
    throw unreachable(target, error);
  }
  if (res.ok) return res;
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const error = problemFromResponse(res.status, body);
  if (error.code === 'bad_request' && body === undefined && res.status === 404) {
    throw new OnairError('not_found', `${target.service} at ${target.baseUrl} has no ${path} (HTTP 404): is it an older version?`, { extensions: { service: target.service } });
  }
  if (body === undefined && res.status >= 500) throw unreachable(target, new Error(`HTTP ${res.status}`));
  throw error;
}
