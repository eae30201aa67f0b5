import { describe, expect, it } from 'vitest';
import { H3 } from './error-codes';
import { fieldValues, parseRequestHead, parseResponseHead } from './message-head';
import type { Field } from './qpack/field-section';

const wt: Field[] = [
  [':method', 'CONNECT'],
  [':protocol', 'webtransport'],
  [':scheme', 'https'],
  [':authority', 'localhost:8443'],
  [':path', '/moq'],
  ['origin', 'http://localhost'],
];

describe('request heads (RFC 9114 §4.3.1, RFC 9220 §3)', () => {
  it('reads an extended CONNECT', () => {
    expect(parseRequestHead(wt)).toEqual({
      method: 'CONNECT',
      protocol: 'webtransport',
      scheme: 'https',
      authority: 'localhost:8443',
      path: '/moq',
      fields: [['origin', 'http://localhost']],
    });
  });

  it('reads a GET and a classic CONNECT', () => {
    expect(parseRequestHead([[':method', 'GET'], [':scheme', 'https'], [':path', '/'], [':authority', 'a']]).method).toBe('GET');
    expect(parseRequestHead([[':method', 'CONNECT'], [':authority', 'example.com:443']]).protocol).toBeUndefined();
  });

  const without = (name: string) => wt.filter(([key]) => key !== name);
  it.each<[string, Field[]]>([
    ['no :method', without(':method')],
    ['extended CONNECT without :path', without(':path')],
    ['extended CONNECT without :authority', without(':authority')],
    [':protocol on GET', [[':method', 'GET'], [':protocol', 'webtransport'], [':scheme', 'https'], [':path', '/'], [':authority', 'a']]],
    ['classic CONNECT with :path', [[':method', 'CONNECT'], [':authority', 'a'], [':path', '/']]],
    ['GET without :path', [[':method', 'GET'], [':scheme', 'https']]],
    ['a repeated pseudo-header', [[':path', '/other'], ...wt]],
    ['a pseudo-header after a regular field', [...wt, [':status', '200']]],
    ['an unknown pseudo-header', [[':foo', 'x'], ...wt]],
    [':status in a request', [[':status', '200'], ...wt]],
    ['an upper-case field name', [...wt, ['Origin', 'x']]],
    ['a connection-specific field', [...wt, ['connection', 'close']]],
    ['te other than trailers', [...wt, ['te', 'gzip']]],
    ['a value with CR LF', [...wt, ['x-a', 'b\r\nx-c: d']]],
    ['a value with a NUL', [...wt, ['x-a', 'b\0']]],
    ['a value with leading space', [...wt, ['x-a', ' b']]],
  ])('%s is malformed: stream error H3_MESSAGE_ERROR', (_name, fields) => {
    expect(() => parseRequestHead(fields)).toThrowError(expect.objectContaining({ code: H3.MESSAGE_ERROR, scope: 'stream' }));
  });
});

describe('response heads', () => {
  it('reads :status and the fields', () => {
    expect(parseResponseHead([[':status', '200'], ['wt-protocol', '"moq-lite-04"']])).toEqual({ status: 200, fields: [['wt-protocol', '"moq-lite-04"']] });
  });

  it.each<[string, Field[]]>([
    ['no :status', [['server', 'x']]],
    ['a non-numeric :status', [[':status', 'ok']]],
    ['a 600 :status', [[':status', '600']]],
    ['a request pseudo-header', [[':status', '200'], [':path', '/']]],
  ])('%s is malformed', (_name, fields) => {
    expect(() => parseResponseHead(fields)).toThrowError(expect.objectContaining({ code: H3.MESSAGE_ERROR }));
  });
});

describe('fieldValues', () => {
  it('returns every value of a name in order', () => {
    expect(fieldValues([['a', '1'], ['b', '2'], ['a', '3']], 'a')).toEqual(['1', '3']);
    expect(fieldValues([], 'a')).toEqual([]);
  });
});
