import { describe, expect, it } from 'vitest';
import { concatBytes } from './bytes';
import { CapsuleType, decodeCloseSession, encodeCapsule, encodeCloseSession, encodeDrainSession, MAX_CLOSE_REASON_BYTES, truncateUtf8 } from './capsule';
import { CapsuleReader } from './capsule-reader';
import { H3 } from './error-codes';
import { encodeVarint } from './varint';
import { corruptions, outcomeOf, randomSplit, seededRandom, toHex } from './test-support/fuzz';

describe('capsules (RFC 9297 §3.2) and the WebTransport session capsules', () => {
  it('CLOSE_WEBTRANSPORT_SESSION: 32-bit code then the UTF-8 reason (draft §6)', () => {
    expect(toHex(encodeCloseSession({ code: 42, reason: 'bye' }))).toBe('6843' + '07' + '0000002a' + '627965');
    expect(toHex(encodeCloseSession({ code: 0xffffffff, reason: '' }))).toBe('6843' + '04' + 'ffffffff');
  });

  it.each([
    [0, ''],
    [42, 'bye'],
    [0xffffffff, 'séance terminée ✓'],
  ])('code %d reason %j round-trips', (code, reason) => {
    const capsules = new CapsuleReader().push(encodeCloseSession({ code, reason }));
    expect(capsules).toHaveLength(1);
    expect(capsules[0]!.type).toBe(CapsuleType.CLOSE_WEBTRANSPORT_SESSION);
    expect(decodeCloseSession(capsules[0]!.value)).toEqual({ code, reason });
  });

  it('truncates a long reason to 1024 bytes without splitting a character', () => {
    const reason = 'é'.repeat(600); // 1200 bytes
    const truncated = truncateUtf8(reason, MAX_CLOSE_REASON_BYTES);
    expect(truncated.length).toBe(1024);
    const decoded = decodeCloseSession(new CapsuleReader().push(encodeCloseSession({ code: 1, reason }))[0]!.value);
    expect(decoded.reason).toBe('é'.repeat(512));
    expect(truncateUtf8('a✓', 3)).toEqual(new TextEncoder().encode('a'));
  });

  it('refuses codes outside 32 bits', () => {
    expect(() => encodeCloseSession({ code: 2 ** 32, reason: '' })).toThrowError(RangeError);
    expect(() => encodeCloseSession({ code: -1, reason: '' })).toThrowError(RangeError);
  });

  it('a CLOSE shorter than its code, or with a reason over 1024 bytes, is H3_MESSAGE_ERROR', () => {
    expect(() => decodeCloseSession(Uint8Array.of(0, 0, 1))).toThrowError(expect.objectContaining({ code: H3.MESSAGE_ERROR, scope: 'stream' }));
    expect(() => new CapsuleReader().push(encodeCapsule(CapsuleType.CLOSE_WEBTRANSPORT_SESSION, new Uint8Array(1029)))).toThrowError(expect.objectContaining({ code: H3.MESSAGE_ERROR }));
  });

  it('DRAIN_WEBTRANSPORT_SESSION is empty (draft §4.7)', () => {
    expect(toHex(encodeDrainSession())).toBe('8000' + '78ae' + '00');
    expect(new CapsuleReader().push(encodeDrainSession())).toEqual([{ type: CapsuleType.DRAIN_WEBTRANSPORT_SESSION, value: new Uint8Array(0) }]);
  });

  const stream = concatBytes([
    encodeCapsule(CapsuleType.DATAGRAM, new Uint8Array(2000).fill(1)), // skipped, never buffered
    encodeDrainSession(),
    encodeCapsule(0x17, Uint8Array.of(1, 2, 3)), // unknown: skipped
    concatBytes([encodeVarint(0x02197c5eff14e88cn), encodeVarint(0)]), // greased type above 2^53
    encodeCloseSession({ code: 7, reason: 'done' }),
  ]);

  it('the reader yields the session capsules whatever the split, skipping the rest', () => {
    const random = seededRandom(19);
    for (let i = 0; i < 300; i++) {
      const reader = new CapsuleReader();
      const capsules = randomSplit(stream, random).flatMap((piece) => reader.push(piece));
      expect(capsules.map((capsule) => capsule.type)).toEqual([CapsuleType.DRAIN_WEBTRANSPORT_SESSION, CapsuleType.CLOSE_WEBTRANSPORT_SESSION]);
      expect(decodeCloseSession(capsules[1]!.value)).toEqual({ code: 7, reason: 'done' });
      expect(reader.atCapsuleBoundary).toBe(true);
    }
  });

  it('fuzz: 20 000 corrupted capsule streams', () => {
    const random = seededRandom(41);
    const outcomes = new Set<string>();
    for (const input of corruptions([stream.subarray(2003), encodeCloseSession({ code: 9, reason: 'x' })], 20_000, 43)) {
      const reader = new CapsuleReader();
      outcomes.add(
        outcomeOf(input, (bytes) => {
          for (const capsule of randomSplit(bytes, random).flatMap((piece) => reader.push(piece))) {
            if (capsule.type === CapsuleType.CLOSE_WEBTRANSPORT_SESSION) decodeCloseSession(capsule.value);
          }
        }),
      );
    }
    expect(outcomes).toEqual(new Set(['value', 'protocol-error']));
  });
});
