/**
 * What the first bytes of a QUIC stream say it is.
 *
 * - Unidirectional streams start with a stream type (RFC 9114 §6.2): control 0x00, push 0x01,
 *   QPACK encoder 0x02 and decoder 0x03 (RFC 9204 §4.2), WebTransport 0x54 followed by the
 *   session id (draft-ietf-webtrans-http3 §4.2); anything else is unknown (reserved or greased).
 * - Bidirectional streams are HTTP requests (they start with a frame), unless the first varint
 *   is the WebTransport signal 0x41 followed by the session id (draft-ietf-webtrans-http3 §4.3).
 *
 * A session id is the stream id of the CONNECT request, so it must be a client-initiated
 * bidirectional stream id (id % 4 === 0); anything else is H3_ID_ERROR.
 */
import { H3 } from './error-codes';
import { INCOMPLETE, ProtocolError, type Incomplete } from './protocol-error';
import { decodeVarint, decodeVarintType, varintLength, writeVarint } from './varint';

export const StreamType = {
  CONTROL: 0x00,
  PUSH: 0x01,
  QPACK_ENCODER: 0x02,
  QPACK_DECODER: 0x03,
  WEBTRANSPORT: 0x54,
} as const;

export const WEBTRANSPORT_BIDI_SIGNAL = 0x41;

export type UniStreamHeader =
  | { kind: 'control' | 'push' | 'qpack-encoder' | 'qpack-decoder'; length: number }
  | { kind: 'webtransport'; sessionId: number; length: number }
  | { kind: 'unknown'; streamType: number; length: number };

export type BidiStreamHeader = { kind: 'webtransport'; sessionId: number; length: number } | { kind: 'request' };

const UNI_KINDS = new Map<number, 'control' | 'push' | 'qpack-encoder' | 'qpack-decoder'>([
  [StreamType.CONTROL, 'control'],
  [StreamType.PUSH, 'push'],
  [StreamType.QPACK_ENCODER, 'qpack-encoder'],
  [StreamType.QPACK_DECODER, 'qpack-decoder'],
]);

function twoVarints(first: number, second: number): Uint8Array {
  const out = new Uint8Array(varintLength(first) + varintLength(second));
  writeVarint(out, writeVarint(out, 0, first), second);
  return out;
}

export function encodeUniStreamType(type: number): Uint8Array {
  const out = new Uint8Array(varintLength(type));
  writeVarint(out, 0, type);
  return out;
}

export function encodeWebTransportUniHeader(sessionId: number): Uint8Array {
  return twoVarints(StreamType.WEBTRANSPORT, sessionId);
}

export function encodeWebTransportBidiHeader(sessionId: number): Uint8Array {
  return twoVarints(WEBTRANSPORT_BIDI_SIGNAL, sessionId);
}

function sessionIdAt(bytes: Uint8Array, offset: number): { value: number; length: number } | Incomplete {
  const id = decodeVarint(bytes, offset, H3.ID_ERROR);
  if (id === INCOMPLETE) return INCOMPLETE;
  if (id.value % 4 !== 0) throw new ProtocolError(H3.ID_ERROR, `session id ${id.value} is not a client-initiated bidirectional stream`);
  return id;
}

export function decodeUniStreamHeader(bytes: Uint8Array): UniStreamHeader | Incomplete {
  const type = decodeVarintType(bytes, 0);
  if (type === INCOMPLETE) return INCOMPLETE;
  const kind = UNI_KINDS.get(type.value);
  if (kind) return { kind, length: type.length };
  if (type.value !== StreamType.WEBTRANSPORT) return { kind: 'unknown', streamType: type.value, length: type.length };
  const session = sessionIdAt(bytes, type.length);
  if (session === INCOMPLETE) return INCOMPLETE;
  return { kind: 'webtransport', sessionId: session.value, length: type.length + session.length };
}

export function decodeBidiStreamHeader(bytes: Uint8Array): BidiStreamHeader | Incomplete {
  const signal = decodeVarintType(bytes, 0);
  if (signal === INCOMPLETE) return INCOMPLETE;
  if (signal.value !== WEBTRANSPORT_BIDI_SIGNAL) return { kind: 'request' };
  const session = sessionIdAt(bytes, signal.length);
  if (session === INCOMPLETE) return INCOMPLETE;
  return { kind: 'webtransport', sessionId: session.value, length: signal.length + session.length };
}
