/**
 * The one error every decoder in this package throws. `code` is the HTTP/3 (or QPACK) error
 * code to send; `scope` says whether RFC 9114 makes it fatal for the connection (§8) or only
 * for the stream it arrived on (§4.1.2 malformed message, §4.2.2 field section too large).
 * A decoder never throws anything else: its callers may catch exactly this class.
 */
import { h3ErrorName } from './error-codes';

export type ProtocolErrorScope = 'connection' | 'stream';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: number;
  readonly scope: ProtocolErrorScope;

  constructor(code: number, message: string, scope: ProtocolErrorScope = 'connection') {
    super(`${h3ErrorName(code)}: ${message}`);
    this.code = code;
    this.scope = scope;
  }
}

/** What an incremental decoder returns when the bytes end before the element does. */
export const INCOMPLETE = Symbol('incomplete');
export type Incomplete = typeof INCOMPLETE;
