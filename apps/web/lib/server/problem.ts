/** problem+json responses for the dashboard's route handlers (RFC 9457, onair's stable codes). */
import 'server-only';
import { OnairError, toProblem, type ErrorCode } from '@onair/shared/errors';

export function problemJson(error: unknown, headers: Record<string, string> = {}): Response {
  if (!(error instanceof OnairError)) console.error('dashboard route failed', error);
  const problem = toProblem(error);
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...headers },
  });
}

export function problem(code: ErrorCode, detail: string, headers: Record<string, string> = {}): Response {
  return problemJson(new OnairError(code, detail), headers);
}
