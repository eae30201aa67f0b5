/**
 * The W3C `WebTransportError` (a DOMException named "WebTransportError" with `source` and
 * `streamErrorCode`), which Node does not have: what the adapter's streams and session reject
 * with, and what an application passes to `abort()` / `cancel()` to choose a stream error code.
 */
import { WEBTRANSPORT_ERROR_MAX } from '@onair/webtransport/error-codes';

export class WebTransportError extends DOMException {
  readonly source: 'stream' | 'session';
  /** The application error code (32 bits) the peer sent, or null when it sent none we can map. */
  readonly streamErrorCode: number | null;

  constructor(message = '', options: { source?: 'stream' | 'session'; streamErrorCode?: number | null } = {}) {
    super(message, 'WebTransportError');
    this.source = options.source ?? 'stream';
    this.streamErrorCode = options.streamErrorCode ?? null;
  }
}

/** The application code an `abort(reason)` / `cancel(reason)` asks for: its streamErrorCode, else 0 (W3C). */
export function applicationCodeOf(reason: unknown): number {
  const code = (reason as { streamErrorCode?: unknown } | null | undefined)?.streamErrorCode;
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= WEBTRANSPORT_ERROR_MAX ? code : 0;
}
