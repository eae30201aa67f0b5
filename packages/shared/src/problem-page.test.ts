import { describe, expect, it } from 'vitest';
import { errorStatus, OnairError, type ErrorCode } from './errors';
import { problemPage } from './problem-page';

describe('problemPage: the page a problem type URI resolves to', () => {
  it.each(Object.keys(errorStatus) as ErrorCode[])('%s has a page that names its code and HTTP status', (code) => {
    const page = problemPage(code);
    expect(page).toBeDefined();
    expect(page!).toContain(`<code>${code}</code>`);
    expect(page!).toContain(`HTTP ${errorStatus[code]}`);
    expect(page!).toContain(new OnairError(code, '').toProblem().title);
  });

  it('describes what a code means, not only its name', () => {
    expect(problemPage('sdp_too_large')!).toMatch(/SDP offer/);
    expect(problemPage('invalid_stream_key')!).toMatch(/rotated|key/);
  });

  it.each(['nope', '', '<script>', 'toString', '__proto__', 'constructor'])('has no page for %j', (code) => {
    expect(problemPage(code)).toBeUndefined();
  });
});
