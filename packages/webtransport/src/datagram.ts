/**
 * HTTP/3 datagrams (RFC 9297 §2.1): a QUIC DATAGRAM frame's payload is the quarter stream id of
 * the request stream it belongs to (a varint), then the HTTP datagram payload. For WebTransport
 * that request stream is the CONNECT stream, whose id is the session id.
 */
import { H3 } from './error-codes';
import { INCOMPLETE, ProtocolError } from './protocol-error';
import { decodeVarint, decodeVarintBigInt, varintLength, writeVarint } from './varint';

/** A session id no stream can have: what a datagram maps to when its id is beyond exact numbers. */
export const NO_SESSION = -1;
const MAX_QUARTER_STREAM_ID = 2n ** 60n - 1n;

export function datagramHeaderLength(sessionId: number): number {
  return varintLength(sessionId / 4);
}

export function encodeDatagram(sessionId: number, payload: Uint8Array): Uint8Array {
  const quarter = sessionId / 4;
  if (!Number.isSafeInteger(quarter) || quarter < 0) throw new RangeError(`session id ${sessionId} is not a client bidirectional stream id`);
  const headerLength = varintLength(quarter);
  const out = new Uint8Array(headerLength + payload.length);
  writeVarint(out, 0, quarter);
  out.set(payload, headerLength);
  return out;
}

/**
 * RFC 9297 §2.1: too short for its quarter stream id, or an id above 2^60 − 1, is
 * H3_DATAGRAM_ERROR. An id that is valid but past 2^53 / 4 maps to NO_SESSION (the receiver
 * drops datagrams of streams it does not have).
 */
export function decodeDatagram(bytes: Uint8Array): { sessionId: number; payload: Uint8Array } {
  if (bytes.length > 0 && bytes[0]! < 0xc0) {
    // Fast path: 1, 2 or 4 bytes, always an exact number.
    const small = decodeVarint(bytes, 0);
    if (small !== INCOMPLETE) return { sessionId: small.value * 4, payload: bytes.subarray(small.length) };
  }
  const quarter = decodeVarintBigInt(bytes, 0);
  if (quarter === INCOMPLETE) throw new ProtocolError(H3.DATAGRAM_ERROR, 'datagram shorter than its quarter stream id');
  if (quarter.value > MAX_QUARTER_STREAM_ID) throw new ProtocolError(H3.DATAGRAM_ERROR, 'quarter stream id above 2^60 - 1');
  const sessionId = quarter.value * 4n > BigInt(Number.MAX_SAFE_INTEGER) ? NO_SESSION : Number(quarter.value) * 4;
  return { sessionId, payload: bytes.subarray(quarter.length) };
}
