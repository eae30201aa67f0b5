/**
 * Error codes of HTTP/3, QPACK and WebTransport, and the mapping between a WebTransport
 * application error code (what `WebTransportError.streamErrorCode` carries, 32 bits) and the
 * HTTP/3 error code that travels in RESET_STREAM / STOP_SENDING.
 */

/** RFC 9114 §8.1 (HTTP/3) and RFC 9204 §6 (QPACK). */
export const H3 = {
  NO_ERROR: 0x0100,
  GENERAL_PROTOCOL_ERROR: 0x0101,
  INTERNAL_ERROR: 0x0102,
  STREAM_CREATION_ERROR: 0x0103,
  CLOSED_CRITICAL_STREAM: 0x0104,
  FRAME_UNEXPECTED: 0x0105,
  FRAME_ERROR: 0x0106,
  EXCESSIVE_LOAD: 0x0107,
  ID_ERROR: 0x0108,
  SETTINGS_ERROR: 0x0109,
  MISSING_SETTINGS: 0x010a,
  REQUEST_REJECTED: 0x010b,
  REQUEST_CANCELLED: 0x010c,
  REQUEST_INCOMPLETE: 0x010d,
  MESSAGE_ERROR: 0x010e,
  CONNECT_ERROR: 0x010f,
  VERSION_FALLBACK: 0x0110,
  QPACK_DECOMPRESSION_FAILED: 0x0200,
  QPACK_ENCODER_STREAM_ERROR: 0x0201,
  QPACK_DECODER_STREAM_ERROR: 0x0202,
  /** RFC 9297 §5.2: a datagram or capsule that cannot be parsed. */
  DATAGRAM_ERROR: 0x33,
  /** draft-ietf-webtrans-http3 §9.5: a stream for a session that does not exist (or no longer). */
  WEBTRANSPORT_BUFFERED_STREAM_REJECTED: 0x3994bd84,
  /** draft-ietf-webtrans-http3 §9.5: streams reset because their session closed. */
  WEBTRANSPORT_SESSION_GONE: 0x170d7b68,
} as const;

export type H3ErrorCode = (typeof H3)[keyof typeof H3];

const names = new Map<number, string>(Object.entries(H3).map(([name, code]) => [code, name]));

/** A readable name for an HTTP/3 error code (for logs): `H3_REQUEST_CANCELLED`, `WT(7)`, `0x1f`. */
export function h3ErrorName(code: number): string {
  const known = names.get(code);
  if (known) return known.startsWith('QPACK') || known.startsWith('WEBTRANSPORT') ? known : `H3_${known}`;
  const app = http3ToWebTransportCode(code);
  return app === null ? `0x${code.toString(16)}` : `WT(${app})`;
}

/** draft-ietf-webtrans-http3 §4.4: the first HTTP/3 code of the WebTransport application range. */
export const WEBTRANSPORT_ERROR_FIRST = 0x52e4a40fa8db;
/** The largest application code a WebTransport stream error can carry (32 bits). */
export const WEBTRANSPORT_ERROR_MAX = 0xffffffff;
/** The HTTP/3 code of application code 0xffffffff: the end of the range. */
export const WEBTRANSPORT_ERROR_LAST = webTransportCodeToHttp3(WEBTRANSPORT_ERROR_MAX);

/**
 * draft-ietf-webtrans-http3 §4.4 `webtransport_code_to_http_code`: the range skips every
 * 0x1f-th value, which RFC 9114 §8.1 reserves for greasing (0x1f * N + 0x21).
 * All results are below 2^53, so plain numbers are exact.
 */
export function webTransportCodeToHttp3(code: number): number {
  if (!Number.isInteger(code) || code < 0 || code > WEBTRANSPORT_ERROR_MAX) {
    throw new RangeError(`WebTransport error code must be an integer in 0..0xffffffff, got ${code}`);
  }
  return WEBTRANSPORT_ERROR_FIRST + code + Math.floor(code / 0x1e);
}

/**
 * The inverse (`http_code_to_webtransport_code`): null when the HTTP/3 code is outside the
 * WebTransport range or is one of the reserved grease values inside it.
 */
export function http3ToWebTransportCode(h3: number): number | null {
  if (!Number.isSafeInteger(h3) || h3 < WEBTRANSPORT_ERROR_FIRST || h3 > WEBTRANSPORT_ERROR_LAST) return null;
  const shifted = h3 - WEBTRANSPORT_ERROR_FIRST;
  if (shifted % 0x1f === 0x1e) return null;
  return shifted - Math.floor(shifted / 0x1f);
}
