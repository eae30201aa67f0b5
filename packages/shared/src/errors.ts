/**
 * One error type for every onair service. A `code` is stable API: clients and tests match on it,
 * so codes are only ever added, never renamed. The HTTP status for each code lives here and
 * nowhere else (MediaMTX-style: one place decides how an error is written).
 */
export const errorStatus = {
  // 400 — the request is malformed
  bad_request: 400,
  invalid_body: 400,
  invalid_sdp: 400,
  invalid_ice_fragment: 400,
  invalid_profile: 400,
  // 401/403 — who you are
  missing_credentials: 401,
  invalid_stream_key: 403,
  invalid_admin_token: 403,
  // 404
  not_found: 404,
  stream_not_found: 404,
  session_not_found: 404,
  job_not_found: 404,
  profile_not_found: 404,
  stream_offline: 404,
  webtransport_disabled: 404,
  rendition_not_found: 404,
  // 405/406/409
  method_not_allowed: 405,
  no_supported_codec: 406,
  stream_name_taken: 409,
  publisher_already_live: 409,
  profile_in_use: 409,
  too_many_forwards: 409,
  forward_lease_unknown: 409,
  not_origin: 409,
  renditions_in_use: 409,
  job_elsewhere: 409,
  // 412/413/415
  etag_mismatch: 412,
  body_too_large: 413,
  sdp_too_large: 413,
  unsupported_media_type: 415,
  // 422/429
  ice_restart_unsupported: 422,
  too_many_attempts: 429,
  too_many_requests: 429,
  // 5xx
  internal_error: 500,
  unavailable: 503,
  too_many_viewers: 503,
  upstream_unreachable: 502,
  ffmpeg_missing: 503,
  loop_detected: 508,
} as const;

export type ErrorCode = keyof typeof errorStatus;

/** Body of an `application/problem+json` response (RFC 9457) with onair's stable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  [extension: string]: unknown;
}

export class OnairError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra members placed in the problem document (e.g. the list of accepted codecs). */
  readonly extensions: Record<string, unknown>;

  constructor(code: ErrorCode, detail: string, options: { cause?: unknown; extensions?: Record<string, unknown> } = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OnairError';
    this.code = code;
    this.status = errorStatus[code];
    this.extensions = options.extensions ?? {};
  }

  toProblem(): Problem {
    return {
      ...this.extensions,
      // RFC 9457 §3.1.1: a relative reference, resolved against the service that answered, which
      // serves the code's page there (problem-page.ts); no domain the project does not own.
      type: `/problems/${this.code}`,
      title: titleOf(this.code),
      status: this.status,
      code: this.code,
      detail: this.message,
    };
  }
}

export function isOnairError(value: unknown): value is OnairError {
  return value instanceof OnairError;
}

/**
 * Turns anything thrown into a problem document. Errors that are not OnairErrors become a
 * generic 500 whose detail says nothing about internals (no stack trace reaches a client).
 */
export function toProblem(error: unknown): Problem {
  if (isOnairError(error)) return error.toProblem();
  return new OnairError('internal_error', 'The server failed to handle this request.').toProblem();
}

function titleOf(code: ErrorCode): string {
  const words = code.replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The problem document a client received, parsed back into an error (for API clients). */
export function problemFromResponse(status: number, body: unknown): OnairError {
  if (body && typeof body === 'object' && 'code' in body && typeof body.code === 'string' && body.code in errorStatus) {
    const detail = 'detail' in body && typeof body.detail === 'string' ? body.detail : String(body.code);
    return new OnairError(body.code as ErrorCode, detail, { extensions: body as Record<string, unknown> });
  }
  return new OnairError(status >= 500 ? 'upstream_unreachable' : 'bad_request', `HTTP ${status}`);
}
