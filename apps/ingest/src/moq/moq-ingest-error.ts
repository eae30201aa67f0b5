/**
 * Why a MoQ publish session was refused or ended before it went live. The WebTransport CONNECT
 * was already answered 200, so these are not HTTP errors: the code goes into the log and, as the
 * session's close reason, back to the publisher (`WebTransport.closed` resolves with it).
 */

export type MoqIngestErrorCode =
  /** The moq-lite handshake failed (SETUP, or a protocol @moq/lite does not speak). */
  | 'moq_handshake_failed'
  /** @moq/lite ended the connection on a protocol error (the detail says what was refused, when it was the ingest). */
  | 'moq_protocol_error'
  /** A control message (announce, subscribe, probe, SETUP…) declared over the cap (64 KiB): refused at its size prefix. */
  | 'moq_control_message_too_large'
  /** The session speaks IETF moq-transport, which onair does not ingest (moq-lite only). */
  | 'moq_unsupported_version'
  /** The publisher stopped announcing before an active broadcast appeared. */
  | 'moq_no_broadcast'
  | 'moq_catalog_invalid'
  /** A forwarded track failed while the session was being set up (e.g. an unreadable SPS). */
  | 'moq_track_failed'
  /** Announce, catalog, a usable track or the first keyframe did not come in time; the detail says which. */
  | 'moq_setup_timeout'
  /** The publisher closed the session during setup. */
  | 'moq_session_closed'
  /** The server closed the session during setup (shutting down, or replaced). */
  | 'moq_closed'
  /** The CONNECT's `:authority` is not a host (RFC 9114 §4.3.1: a malformed request). */
  | 'moq_bad_authority';

export class MoqIngestError extends Error {
  override name = 'MoqIngestError';

  constructor(
    readonly code: MoqIngestErrorCode,
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super(detail, options);
  }
}

/**
 * The session's origin, from the CONNECT's `:authority` alone: the library stores a URL, and the
 * path carries the stream key, which must stay out of every log (a URL that fails to parse puts
 * its whole input in the error).
 */
export function sessionOrigin(authority: string): URL {
  let url: URL;
  try {
    url = new URL(`https://${authority}`);
  } catch {
    throw new MoqIngestError('moq_bad_authority', 'the :authority is not a host');
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) throw new MoqIngestError('moq_bad_authority', 'the :authority is not a host');
  return new URL(url.origin);
}
