import { describe, expect, it } from 'vitest';
import { parseStringItem, parseStringList, serializeString, serializeStringList } from './structured-field';
import { seededRandom } from './test-support/fuzz';

describe('sf-string lists (RFC 8941) for wt-available-protocols / wt-protocol', () => {
  it.each<[string, string[] | undefined]>([
    ['"moq-lite-04", "moq-lite-03", "moql", "moqt-19", "moqt-15"', ['moq-lite-04', 'moq-lite-03', 'moql', 'moqt-19', 'moqt-15']],
    ['"a"', ['a']],
    ['', []],
    ['   "a",\t"b"  ', ['a', 'b']],
    ['"with \\"quote\\" and \\\\"', ['with "quote" and \\']],
    ['"a";q=1;v, "b";x', ['a', 'b']],
    ['token, "a", 12, 1.5, ?1, :aGk=:, ("x" "y");p, "b"', ['a', 'b']],
    ['"a",', undefined],
    ['"a" "b"', undefined],
    ['"unterminated', undefined],
    ['"bad \\x escape"', undefined],
    ['"é"', undefined],
    [',"a"', undefined],
    ['"a";', undefined],
  ])('%j → %j', (field, expected) => {
    expect(parseStringList(field)).toEqual(expected);
  });

  it('an sf-string item for wt-protocol', () => {
    expect(parseStringItem('"moq-lite-04"')).toBe('moq-lite-04');
    expect(parseStringItem('"moq-lite-04";v=1')).toBe('moq-lite-04');
    expect(parseStringItem('moq')).toBeUndefined();
    expect(parseStringItem('"a", "b"')).toBeUndefined();
  });

  it('serializes with escapes and refuses non-ASCII', () => {
    expect(serializeString('moq-lite-04')).toBe('"moq-lite-04"');
    expect(serializeString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(serializeStringList(['a', 'b'])).toBe('"a", "b"');
    expect(() => serializeString('é')).toThrowError(RangeError);
    expect(() => serializeString('\n')).toThrowError(RangeError);
  });

  it('round-trips random printable lists', () => {
    const random = seededRandom(61);
    for (let i = 0; i < 2000; i++) {
      const list = Array.from({ length: Math.floor(random() * 5) }, () => Array.from({ length: Math.floor(random() * 12) }, () => String.fromCharCode(0x20 + Math.floor(random() * 95))).join(''));
      expect(parseStringList(serializeStringList(list))).toEqual(list);
    }
  });

  it('fuzz: 20 000 random fields never throw (a bad field is ignored)', () => {
    const random = seededRandom(67);
    const alphabet = '"\\,;=() \t:?*-.0123456789abcXYZé';
    for (let i = 0; i < 20_000; i++) {
      const field = Array.from({ length: Math.floor(random() * 30) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      const list = parseStringList(field);
      expect(list === undefined || Array.isArray(list)).toBe(true);
      parseStringItem(field);
    }
  });
});
