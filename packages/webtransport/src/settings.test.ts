import { describe, expect, it } from 'vitest';
import { concatBytes } from './bytes';
import { H3 } from './error-codes';
import { decodeFrame, FrameType } from './frame';
import { INCOMPLETE } from './protocol-error';
import { decodeSettings, encodeSettings, encodeSettingsFrame, Setting, webTransportSettings } from './settings';
import { corruptions, hex, outcomeOf } from './test-support/fuzz';
import { encodeVarint } from './varint';

describe('SETTINGS (RFC 9114 §7.2.4)', () => {
  it('round-trips what onair sends, draft-02 WebTransport and QPACK capacity 0 included', () => {
    const sent = webTransportSettings({ maxFieldSectionSize: 16384, maxSessions: 1 });
    const frame = decodeFrame(encodeSettingsFrame(sent), 0, 1024);
    if (frame === INCOMPLETE) throw new Error('incomplete');
    expect(frame.frame.type).toBe(FrameType.SETTINGS);
    const settings = decodeSettings(frame.frame.payload);
    expect(settings.get(Setting.ENABLE_WEBTRANSPORT_DRAFT02)).toBe(1);
    expect(settings.get(Setting.H3_DATAGRAM)).toBe(1);
    expect(settings.get(Setting.ENABLE_CONNECT_PROTOCOL)).toBe(1);
    expect(settings.get(Setting.QPACK_MAX_TABLE_CAPACITY)).toBe(0);
    expect(settings.get(Setting.MAX_FIELD_SECTION_SIZE)).toBe(16384);
    expect([...settings]).toEqual(sent);
  });

  it('reads what Chromium 156 sends (spike capture: 0x1, 0x6, 0x7, 0x33, 0xffd277, 0x2b603742)', () => {
    const payload = encodeSettings([
      [0x1, 65536],
      [0x6, 262144],
      [0x7, 100],
      [0x33, 1],
      [0xffd277, 1],
      [0x2b603742, 1],
    ]);
    const settings = decodeSettings(payload);
    expect(settings.get(Setting.H3_DATAGRAM_DRAFT04)).toBe(1);
    expect(settings.get(Setting.ENABLE_WEBTRANSPORT_DRAFT02)).toBe(1);
    expect(settings.size).toBe(6);
  });

  it('skips greased identifiers above 2^53 and clamps huge values', () => {
    const payload = concatBytes([encodeVarint(0x1fn * 2n ** 55n + 0x21n), encodeVarint(7), encodeVarint(Setting.MAX_FIELD_SECTION_SIZE), encodeVarint(2n ** 62n - 1n)]);
    const settings = decodeSettings(payload);
    expect(settings.size).toBe(1);
    expect(settings.get(Setting.MAX_FIELD_SECTION_SIZE)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it.each([
    ['a duplicate identifier', encodeSettings([[0x6, 1], [0x6, 2]]), H3.SETTINGS_ERROR],
    ['a duplicate greased identifier', concatBytes([encodeVarint(2n ** 60n), encodeVarint(1), encodeVarint(2n ** 60n), encodeVarint(1)]), H3.SETTINGS_ERROR],
    ['HTTP/2 SETTINGS_ENABLE_PUSH (0x2)', encodeSettings([[0x2, 0]]), H3.SETTINGS_ERROR],
    ['HTTP/2 identifier 0x0', encodeSettings([[0x0, 0]]), H3.SETTINGS_ERROR],
    ['ENABLE_CONNECT_PROTOCOL = 2', encodeSettings([[0x8, 2]]), H3.SETTINGS_ERROR],
    ['H3_DATAGRAM = 5', encodeSettings([[0x33, 5]]), H3.SETTINGS_ERROR],
    ['an identifier without value', hex('06'), H3.FRAME_ERROR],
    ['a truncated value', hex('06 40'), H3.FRAME_ERROR],
  ])('refuses %s', (_name, payload, code) => {
    expect(() => decodeSettings(payload)).toThrowError(expect.objectContaining({ name: 'ProtocolError', code, scope: 'connection' }));
  });

  it('an empty SETTINGS is valid', () => {
    expect(decodeSettings(new Uint8Array(0)).size).toBe(0);
  });

  it('fuzz: 20 000 corrupted payloads', () => {
    const samples = [encodeSettings(webTransportSettings({ maxFieldSectionSize: 16384, maxSessions: 4 })), hex('01 00 06 4400')];
    const outcomes = new Set<string>();
    for (const input of corruptions(samples, 20_000, 23)) outcomes.add(outcomeOf(input, decodeSettings));
    expect(outcomes).toEqual(new Set(['value', 'protocol-error']));
  });
});
