import { describe, expect, it } from 'vitest';
import { H3, h3ErrorName, http3ToWebTransportCode, WEBTRANSPORT_ERROR_FIRST, WEBTRANSPORT_ERROR_LAST, webTransportCodeToHttp3 } from './error-codes';
import { seededRandom } from './test-support/fuzz';

describe('WebTransport application error codes ↔ HTTP/3 (draft-ietf-webtrans-http3 §4.4)', () => {
  it.each([
    [0, WEBTRANSPORT_ERROR_FIRST],
    [1, WEBTRANSPORT_ERROR_FIRST + 1],
    [0x1d, WEBTRANSPORT_ERROR_FIRST + 0x1d],
    [0x1e, WEBTRANSPORT_ERROR_FIRST + 0x1f], // skips the grease value first + 0x1e
    [0x3b, WEBTRANSPORT_ERROR_FIRST + 0x3c],
    [0x3c, WEBTRANSPORT_ERROR_FIRST + 0x3e], // skips first + 0x3d
    [0xffffffff, 0x52e5ac983162],
  ])('application code %d ↔ HTTP/3 0x%s', (code, h3) => {
    expect(webTransportCodeToHttp3(code)).toBe(h3);
    expect(http3ToWebTransportCode(h3)).toBe(code);
  });

  it('the skipped values are exactly the reserved grease codes 0x1f * N + 0x21 (RFC 9114 §8.1)', () => {
    for (let n = 0; n < 100; n++) {
      const skipped = WEBTRANSPORT_ERROR_FIRST + 0x1e + 0x1f * n;
      expect((skipped - 0x21) % 0x1f).toBe(0);
      expect(http3ToWebTransportCode(skipped)).toBeNull();
    }
  });

  it('round-trips random 32-bit codes', () => {
    const random = seededRandom(71);
    for (let i = 0; i < 10_000; i++) {
      const code = Math.floor(random() * 2 ** 32);
      expect(http3ToWebTransportCode(webTransportCodeToHttp3(code))).toBe(code);
    }
  });

  it('codes outside the range have no application code', () => {
    expect(http3ToWebTransportCode(H3.NO_ERROR)).toBeNull();
    expect(http3ToWebTransportCode(WEBTRANSPORT_ERROR_FIRST - 1)).toBeNull();
    expect(http3ToWebTransportCode(WEBTRANSPORT_ERROR_LAST + 1)).toBeNull();
    expect(http3ToWebTransportCode(Number.NaN)).toBeNull();
    expect(() => webTransportCodeToHttp3(2 ** 32)).toThrowError(RangeError);
    expect(() => webTransportCodeToHttp3(-1)).toThrowError(RangeError);
  });

  it('names codes for logs', () => {
    expect(h3ErrorName(H3.REQUEST_CANCELLED)).toBe('H3_REQUEST_CANCELLED');
    expect(h3ErrorName(H3.QPACK_DECOMPRESSION_FAILED)).toBe('QPACK_DECOMPRESSION_FAILED');
    expect(h3ErrorName(webTransportCodeToHttp3(7))).toBe('WT(7)');
    expect(h3ErrorName(0x21)).toBe('0x21');
  });
});
