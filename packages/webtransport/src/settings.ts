/**
 * The SETTINGS frame payload (RFC 9114 §7.2.4): a list of (identifier, value) varint pairs.
 */
import { concatBytes } from './bytes';
import { H3 } from './error-codes';
import { encodeFrame, FrameType } from './frame';
import { INCOMPLETE, ProtocolError } from './protocol-error';
import { decodeVarintBigInt, encodeVarint } from './varint';

export const Setting = {
  /** RFC 9204 §5: onair sends 0, so a peer may not use a dynamic table towards it. */
  QPACK_MAX_TABLE_CAPACITY: 0x01,
  /** RFC 9114 §7.2.4.1: the largest field section the sender accepts. */
  MAX_FIELD_SECTION_SIZE: 0x06,
  QPACK_BLOCKED_STREAMS: 0x07,
  /** RFC 9220 §3: extended CONNECT (`:protocol`). */
  ENABLE_CONNECT_PROTOCOL: 0x08,
  /** RFC 9297 §2.1.1. */
  H3_DATAGRAM: 0x33,
  /** The pre-RFC 9297 codepoint Chromium still sends alongside 0x33. */
  H3_DATAGRAM_DRAFT04: 0xffd277,
  /** draft-ietf-webtrans-http3-02 §3.1 ENABLE_WEBTRANSPORT: Chromium 156 fails the handshake without it. */
  ENABLE_WEBTRANSPORT_DRAFT02: 0x2b603742,
  /** draft-ietf-webtrans-http3-07 SETTINGS_WEBTRANSPORT_MAX_SESSIONS. */
  WEBTRANSPORT_MAX_SESSIONS_DRAFT07: 0xc671706a,
} as const;

/** RFC 9114 §7.2.4.1 / §11.2.2: HTTP/2 setting identifiers; receiving one is H3_SETTINGS_ERROR. */
const RESERVED_HTTP2_SETTINGS = new Set([0x00, 0x02, 0x03, 0x04, 0x05]);

/** Settings whose only values are 0 and 1 (RFC 9220 §3, RFC 9297 §2.1.1). */
const BOOLEAN_SETTINGS = new Set<number>([Setting.ENABLE_CONNECT_PROTOCOL, Setting.H3_DATAGRAM]);

/**
 * Settings by identifier. Identifiers above 2^53 − 1 are greased (never registered) and left
 * out; values above 2^53 − 1 are clamped to Number.MAX_SAFE_INTEGER (every value onair reads is
 * a maximum, where "huge" and "2^53" mean the same).
 */
export type Settings = ReadonlyMap<number, number>;

export function encodeSettings(entries: Iterable<readonly [number, number]>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [id, value] of entries) parts.push(encodeVarint(id), encodeVarint(value));
  return concatBytes(parts);
}

export function encodeSettingsFrame(entries: Iterable<readonly [number, number]>): Uint8Array {
  return encodeFrame(FrameType.SETTINGS, encodeSettings(entries));
}

export function decodeSettings(payload: Uint8Array): Settings {
  const settings = new Map<number, number>();
  const seen = new Set<bigint>();
  let offset = 0;
  while (offset < payload.length) {
    const id = decodeVarintBigInt(payload, offset);
    if (id === INCOMPLETE) throw new ProtocolError(H3.FRAME_ERROR, 'SETTINGS ends inside an identifier');
    offset += id.length;
    const value = decodeVarintBigInt(payload, offset);
    if (value === INCOMPLETE) throw new ProtocolError(H3.FRAME_ERROR, 'SETTINGS ends inside a value');
    offset += value.length;
    // RFC 9114 §7.2.4: the same identifier twice MAY be treated as H3_SETTINGS_ERROR; onair does.
    if (seen.has(id.value)) throw new ProtocolError(H3.SETTINGS_ERROR, `setting 0x${id.value.toString(16)} sent twice`);
    seen.add(id.value);
    if (id.value > BigInt(Number.MAX_SAFE_INTEGER)) continue;
    const key = Number(id.value);
    if (RESERVED_HTTP2_SETTINGS.has(key)) throw new ProtocolError(H3.SETTINGS_ERROR, `HTTP/2 setting 0x${key.toString(16)} received`);
    if (BOOLEAN_SETTINGS.has(key) && value.value > 1n) throw new ProtocolError(H3.SETTINGS_ERROR, `setting 0x${key.toString(16)} must be 0 or 1`);
    settings.set(key, value.value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value.value));
  }
  return settings;
}

/**
 * What onair's endpoints send: no QPACK dynamic table (so every peer field section decodes from
 * the static table and literals alone), extended CONNECT, HTTP/3 datagrams, and WebTransport as
 * both draft-02 (what Chromium checks) and draft-07 name it.
 */
export function webTransportSettings(options: { maxFieldSectionSize: number; maxSessions: number }): Array<[number, number]> {
  return [
    [Setting.QPACK_MAX_TABLE_CAPACITY, 0],
    [Setting.QPACK_BLOCKED_STREAMS, 0],
    [Setting.MAX_FIELD_SECTION_SIZE, options.maxFieldSectionSize],
    [Setting.ENABLE_CONNECT_PROTOCOL, 1],
    [Setting.H3_DATAGRAM, 1],
    [Setting.ENABLE_WEBTRANSPORT_DRAFT02, 1],
    [Setting.WEBTRANSPORT_MAX_SESSIONS_DRAFT07, options.maxSessions],
  ];
}
