import { describe, expect, it } from 'vitest';
import { SseParser } from './ingest-client';

const STREAM = 'event: stream.live\ndata: {"streamId":"a1","name":"demo"}\n\n: keep-alive\n\nevent: stream.offline\r\ndata: {"streamId":"a1","name":null}\r\n\r\ndata: line1\ndata: line2\n\n';

describe('SseParser', () => {
  it('parses events, skips comments, accepts CRLF, joins multi-line data', () => {
    expect(new SseParser().push(STREAM)).toEqual([
      { event: 'stream.live', data: '{"streamId":"a1","name":"demo"}' },
      { event: 'stream.offline', data: '{"streamId":"a1","name":null}' },
      { event: 'message', data: 'line1\nline2' },
    ]);
  });

  it.each([1, 2, 5, 13])('is independent of chunking (%i chars)', (size) => {
    const parser = new SseParser();
    const out = [];
    for (let i = 0; i < STREAM.length; i += size) out.push(...parser.push(STREAM.slice(i, i + size)));
    expect(out).toEqual(new SseParser().push(STREAM));
  });

  it('emits nothing for an event without data, or an unfinished one', () => {
    expect(new SseParser().push('event: stream.live\n\nevent: x\ndata: y')).toEqual([]);
  });
});
