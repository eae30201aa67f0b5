/**
 * The head of an HTTP/3 request or response as decoded field lines, checked for the rules that
 * make a message malformed (RFC 9114 §4.1.2, §4.2, §4.3) — a stream error H3_MESSAGE_ERROR,
 * which a server may answer with 400 before closing the stream.
 */
import { H3 } from './error-codes';
import { ProtocolError } from './protocol-error';
import type { Field } from './qpack/field-section';

export interface RequestHead {
  method: string;
  /** Absent for a classic CONNECT (RFC 9114 §4.4). */
  scheme: string | undefined;
  authority: string | undefined;
  path: string | undefined;
  /** RFC 9220 §3 extended CONNECT: `:protocol` (e.g. `webtransport`). */
  protocol: string | undefined;
  /** Regular fields, in order, names lower-case. */
  fields: Field[];
}

export interface ResponseHead {
  status: number;
  fields: Field[];
}

/** RFC 9114 §4.2: connection-specific fields have no place in HTTP/3. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path', ':protocol']);
// RFC 9110 §5.1 token characters, lower-case only (RFC 9114 §4.2).
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
// RFC 9110 §5.5: no NUL, CR or LF anywhere, no leading or trailing whitespace.
const FIELD_VALUE_FORBIDDEN = /[\0\r\n]|^[ \t]|[ \t]$/;

function malformed(message: string): never {
  throw new ProtocolError(H3.MESSAGE_ERROR, message, 'stream');
}

function splitPseudo(fields: readonly Field[], allowed: ReadonlySet<string>): { pseudo: Map<string, string>; regular: Field[] } {
  const pseudo = new Map<string, string>();
  const regular: Field[] = [];
  for (const [name, value] of fields) {
    if (FIELD_VALUE_FORBIDDEN.test(value)) malformed(`field ${JSON.stringify(name)} has a forbidden character or surrounding whitespace`);
    if (name.startsWith(':')) {
      if (regular.length > 0) malformed(`pseudo-header ${name} after a regular field`);
      if (!allowed.has(name)) malformed(`pseudo-header ${name} not allowed here`);
      if (pseudo.has(name)) malformed(`pseudo-header ${name} repeated`);
      pseudo.set(name, value);
      continue;
    }
    if (!FIELD_NAME.test(name)) malformed(`field name ${JSON.stringify(name)} is not a lower-case token`);
    if (CONNECTION_SPECIFIC.has(name)) malformed(`connection-specific field ${name}`);
    if (name === 'te' && value !== 'trailers') malformed('te other than "trailers"');
    regular.push([name, value]);
  }
  return { pseudo, regular };
}

export function parseRequestHead(fields: readonly Field[]): RequestHead {
  const { pseudo, regular } = splitPseudo(fields, REQUEST_PSEUDO);
  const method = pseudo.get(':method');
  if (!method) malformed(':method missing');
  const head: RequestHead = {
    method,
    scheme: pseudo.get(':scheme'),
    authority: pseudo.get(':authority'),
    path: pseudo.get(':path'),
    protocol: pseudo.get(':protocol'),
    fields: regular,
  };
  if (head.protocol !== undefined) {
    // RFC 9220 §3 (RFC 8441 §4): extended CONNECT carries :scheme, :path and :authority.
    if (method !== 'CONNECT') malformed(':protocol on a non-CONNECT request');
    if (!head.scheme || !head.path || !head.authority) malformed('extended CONNECT without :scheme, :path or :authority');
  } else if (method === 'CONNECT') {
    // RFC 9114 §4.4: classic CONNECT has only :method and :authority.
    if (head.scheme !== undefined || head.path !== undefined) malformed('CONNECT with :scheme or :path');
    if (!head.authority) malformed('CONNECT without :authority');
  } else {
    // RFC 9114 §4.3.1: every other request has :method, :scheme and a non-empty :path.
    if (!head.scheme || !head.path) malformed(`${method} without :scheme or :path`);
  }
  return head;
}

export function parseResponseHead(fields: readonly Field[]): ResponseHead {
  const { pseudo, regular } = splitPseudo(fields, new Set([':status']));
  const status = pseudo.get(':status');
  if (status === undefined || !/^[1-5]\d\d$/.test(status)) malformed(`:status ${JSON.stringify(status)} is not a status code`);
  return { status: Number(status), fields: regular };
}

/** Every value of field `name` (lower-case), in order. */
export function fieldValues(fields: readonly Field[], name: string): string[] {
  const values: string[] = [];
  for (const [key, value] of fields) if (key === name) values.push(value);
  return values;
}
