import { describe, expect, it } from 'vitest';
import { summarizeFfmpegExit } from './error-summary';

// Real ffmpeg 5.1 lines (`-loglevel level+info`) for an SDP with a bad connection address.
const BAD_SDP = [
  '[sdp @ 0x55765e085980] [error] getaddrinfo(not-an-address): Name or service not known',
  '[sdp @ 0x55765e085980] [error] getnameinfo: ai_family not supported',
  '[error] /tmp/onair-tx-x/input.sdp: Input/output error',
];

describe('summarizeFfmpegExit', () => {
  it.each([
    ['a failed start quotes the last error lines without the context prefix', { killReason: null, exit: 'exit code 1', lines: ['[info] Input #0', ...BAD_SDP], anyLineIfNoError: true }, '[error] getaddrinfo(not-an-address): Name or service not known | [error] getnameinfo: ai_family not supported | [error] /tmp/onair-tx-x/input.sdp: Input/output error'],
    ['our kill reason comes first', { killReason: 'no output within 10 s of spawn', exit: 'killed by SIGKILL', lines: ['[info] Stream mapping:'], anyLineIfNoError: true }, 'no output within 10 s of spawn | [info] Stream mapping:'],
    ['a crash without error lines is just its exit', { killReason: null, exit: 'killed by SIGKILL', lines: ['[info] frame stats'], anyLineIfNoError: false }, 'killed by SIGKILL'],
    ['nothing at all', { killReason: null, exit: 'exit code 1', lines: [], anyLineIfNoError: true }, 'exit code 1'],
  ])('%s', (_name, input, expected) => {
    expect(summarizeFfmpegExit(input)).toBe(expected);
  });
});
