import { describe, expect, it } from 'vitest';
import { OnairError, errorStatus, problemFromResponse, toProblem } from './errors';

describe('OnairError → problem+json', () => {
  it.each([
    ['unsupported_media_type', 415],
    ['sdp_too_large', 413],
    ['invalid_sdp', 400],
    ['no_supported_codec', 406],
    ['missing_credentials', 401],
    ['invalid_stream_key', 403],
    ['stream_not_found', 404],
    ['session_not_found', 404],
    ['publisher_already_live', 409],
    ['too_many_attempts', 429],
  ] as const)('%s maps to HTTP %i', (code, status) => {
    const problem = new OnairError(code, 'why').toProblem();
    expect(problem).toMatchObject({ status, code, detail: 'why' });
    // RFC 9457 §3.1.1: a URI reference; relative, so it resolves to the service that answered
    // (each serves a page there) and never to a domain the project does not own.
    expect(problem.type).toBe(`/problems/${code}`);
  });

  it('hides internals of unexpected errors', () => {
    const problem = toProblem(new TypeError('secret path /etc/passwd at line 3'));
    expect(problem.status).toBe(500);
    expect(problem.code).toBe('internal_error');
    expect(JSON.stringify(problem)).not.toContain('passwd');
  });

  it('keeps extensions beside the standard members', () => {
    const problem = new OnairError('no_supported_codec', 'no H.264', { extensions: { accepted: ['H264', 'VP8'] } }).toProblem();
    expect(problem.accepted).toEqual(['H264', 'VP8']);
    expect(problem.code).toBe('no_supported_codec');
  });

  it('round-trips through a client', () => {
    const error = problemFromResponse(403, new OnairError('invalid_stream_key', 'nope').toProblem());
    expect(error.code).toBe('invalid_stream_key');
    expect(error.status).toBe(errorStatus.invalid_stream_key);
    expect(problemFromResponse(502, 'garbage').code).toBe('upstream_unreachable');
  });
});
