import { describe, expect, it } from 'vitest';
import { datagramHeaderLength, decodeDatagram, encodeDatagram, NO_SESSION } from './datagram';
import { H3 } from './error-codes';
import { INCOMPLETE } from './protocol-error';
import {
  decodeBidiStreamHeader,
  decodeUniStreamHeader,
  encodeUniStreamType,
  encodeWebTransportBidiHeader,
  encodeWebTransportUniHeader,
  StreamType,
} from './stream-header';
import { corruptions, hex, outcomeOf, toHex } from './test-support/fuzz';
import { encodeVarint } from './varint';

describe('stream headers (RFC 9114 §6.2, draft-ietf-webtrans-http3 §4.2–4.3)', () => {
  it.each([
    ['control', '00', { kind: 'control', length: 1 }],
    ['push', '01', { kind: 'push', length: 1 }],
    ['QPACK encoder', '02', { kind: 'qpack-encoder', length: 1 }],
    ['QPACK decoder', '03', { kind: 'qpack-decoder', length: 1 }],
    ['WebTransport, session 0', '40 54 00', { kind: 'webtransport', sessionId: 0, length: 3 }],
    ['WebTransport, session 4 and payload after', '40 54 04 ff ff', { kind: 'webtransport', sessionId: 4, length: 3 }],
    ['WebTransport, session 400', '40 54 41 90', { kind: 'webtransport', sessionId: 400, length: 4 }],
    ['a greased type', '21', { kind: 'unknown', streamType: 0x21, length: 1 }],
    ['a greased type above 2^53', 'c2197c5eff14e88c', { kind: 'unknown', streamType: -1, length: 8 }],
  ])('uni: %s', (_name, encoded, expected) => {
    expect(decodeUniStreamHeader(hex(encoded))).toEqual(expected);
  });

  it('encodes what it decodes', () => {
    expect(toHex(encodeWebTransportUniHeader(0))).toBe('405400');
    expect(toHex(encodeWebTransportBidiHeader(8))).toBe('404108');
    expect(toHex(encodeUniStreamType(StreamType.CONTROL))).toBe('00');
    expect(decodeBidiStreamHeader(encodeWebTransportBidiHeader(1 << 20))).toEqual({ kind: 'webtransport', sessionId: 1 << 20, length: 6 });
  });

  it('bidi: 0x41 (varint 0x4041) + session id is WebTransport; any other first varint is a request frame', () => {
    expect(decodeBidiStreamHeader(hex('4041 00 aa'))).toEqual({ kind: 'webtransport', sessionId: 0, length: 3 });
    expect(decodeBidiStreamHeader(hex('01 0a'))).toEqual({ kind: 'request' });
    expect(decodeBidiStreamHeader(hex('4041'))).toBe(INCOMPLETE);
    expect(decodeBidiStreamHeader(hex('40'))).toBe(INCOMPLETE);
    expect(decodeBidiStreamHeader(hex(''))).toBe(INCOMPLETE);
    expect(decodeUniStreamHeader(hex('4054'))).toBe(INCOMPLETE);
  });

  it('a session id that is not a client bidirectional stream is H3_ID_ERROR', () => {
    for (const encoded of ['405401', '405402', '404103']) {
      const decode = encoded.startsWith('4041') ? decodeBidiStreamHeader : decodeUniStreamHeader;
      expect(() => decode(hex(encoded))).toThrowError(expect.objectContaining({ code: H3.ID_ERROR, scope: 'connection' }));
    }
  });

  it('fuzz: 20 000 corrupted headers', () => {
    const samples = [hex('405404'), hex('404108ff'), hex('00'), hex('c2197c5eff14e88c')];
    for (const input of corruptions(samples, 20_000, 47)) {
      outcomeOf(input, decodeUniStreamHeader, INCOMPLETE);
      outcomeOf(input, decodeBidiStreamHeader, INCOMPLETE);
    }
  });
});

describe('HTTP/3 datagrams (RFC 9297 §2.1)', () => {
  it.each([0, 4, 256, 1 << 24])('session %d: quarter stream id then payload', (sessionId) => {
    const datagram = encodeDatagram(sessionId, Uint8Array.of(1, 2, 3));
    expect(datagram.length).toBe(datagramHeaderLength(sessionId) + 3);
    expect(decodeDatagram(datagram)).toEqual({ sessionId, payload: Uint8Array.of(1, 2, 3) });
  });

  it('an empty datagram is H3_DATAGRAM_ERROR; ids past exact numbers map to no session', () => {
    expect(() => decodeDatagram(new Uint8Array(0))).toThrowError(expect.objectContaining({ code: H3.DATAGRAM_ERROR }));
    expect(() => decodeDatagram(hex('40'))).toThrowError(expect.objectContaining({ code: H3.DATAGRAM_ERROR }));
    expect(decodeDatagram(encodeVarint(2n ** 59n)).sessionId).toBe(NO_SESSION);
    expect(() => decodeDatagram(encodeVarint(2n ** 61n))).toThrowError(expect.objectContaining({ code: H3.DATAGRAM_ERROR }));
  });

  it('refuses to encode a session id that is not a multiple of 4', () => {
    expect(() => encodeDatagram(3, new Uint8Array(0))).toThrowError(RangeError);
  });

  it('fuzz: 10 000 corrupted datagrams', () => {
    for (const input of corruptions([encodeDatagram(4, Uint8Array.of(9)), encodeVarint(2n ** 59n)], 10_000, 53)) outcomeOf(input, decodeDatagram);
  });
});
